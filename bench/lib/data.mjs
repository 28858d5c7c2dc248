import { createHash, randomFillSync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { once } from 'node:events';

/** `f00042` style names, sorted like numbers. */
export const fileName = (i, width = 6) => `f${String(i).padStart(width, '0')}`;

/**
 * Writes `count` files of `size` random bytes as `<dir>/<prefix>/fNNNNNN` and
 * returns their entries (`rel` is relative to `dir`).
 */
export async function makeFiles(dir, prefix, count, size) {
  await mkdir(join(dir, prefix), { recursive: true, mode: 0o755 });
  const entries = [];
  const buffer = Buffer.allocUnsafe(size);
  for (let i = 0; i < count; i++) {
    randomFillSync(buffer);
    const rel = `${prefix}/${fileName(i)}`;
    await writeFile(join(dir, rel), buffer, { mode: 0o644 });
    entries.push({ rel, size, sha256: createHash('sha256').update(buffer).digest('hex') });
  }
  return entries;
}

/** Writes one file of `size` random bytes, hashing as it goes. */
export async function makeBigFile(dir, rel, size) {
  const path = join(dir, rel);
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const hash = createHash('sha256');
  const out = createWriteStream(path, { mode: 0o644 });
  const chunk = Buffer.allocUnsafe(4 << 20);
  for (let left = size; left > 0;) {
    const n = Math.min(left, chunk.length);
    randomFillSync(chunk, 0, n);
    // A copy: the stream may still hold the previous chunk while we refill.
    const piece = Buffer.from(chunk.subarray(0, n));
    hash.update(piece);
    if (!out.write(piece)) await once(out, 'drain');
    left -= n;
  }
  out.end();
  await once(out, 'close');
  return { rel, size, sha256: hash.digest('hex') };
}

/** Writes text lines produced by `lines` (an iterable) to `file`, buffered. */
export async function writeLines(file, lines) {
  await mkdir(dirname(file), { recursive: true });
  const out = createWriteStream(file);
  let batch = '';
  for (const line of lines) {
    batch += `${line}\n`;
    if (batch.length > 1 << 20) {
      if (!out.write(batch)) await once(out, 'drain');
      batch = '';
    }
  }
  out.end(batch);
  await once(out, 'close');
}

/**
 * Checks every expected file under `outDir` (`entries` yields `{ path, size,
 * sha256 }`, `path` relative to `outDir`): returns how many are valid,
 * missing, or corrupt (wrong size or digest), and how many files are there
 * that nobody asked for (temp files, control files).
 */
export async function verifyOutput(outDir, entries) {
  let expected = 0;
  let ok = 0;
  let missing = 0;
  let corrupt = 0;
  const examples = [];
  const queue = [];
  const check = async (entry) => {
    const path = join(outDir, entry.path);
    let size;
    let digest;
    try {
      if (entry.size > 64 << 20) {
        size = (await stat(path)).size;
        digest = await hashFile(path);
      } else {
        const data = await readFile(path);
        size = data.length;
        digest = createHash('sha256').update(data).digest('hex');
      }
    } catch {
      missing++;
      if (examples.length < 3) examples.push(`missing ${entry.path}`);
      return;
    }
    if (size === entry.size && digest === entry.sha256) {
      ok++;
    } else {
      corrupt++;
      if (examples.length < 3) examples.push(`corrupt ${entry.path} (${size} bytes)`);
    }
  };
  for (const entry of entries) {
    expected++;
    queue.push(check(entry));
    if (queue.length >= 64) await Promise.all(queue.splice(0));
  }
  await Promise.all(queue);
  const present = await countFiles(outDir);
  return { expected, ok, missing, corrupt, extra: Math.max(0, present - ok - corrupt), examples };
}

/** How many regular files are below `dir` (0 when it does not exist). */
export async function countFiles(dir) {
  let count = 0;
  let list;
  try {
    list = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of list) {
    if (entry.isDirectory()) count += await countFiles(join(dir, entry.name));
    else count++;
  }
  return count;
}

/** sha256 of a file, streamed (for the big one). */
export async function hashFile(path) {
  const hash = createHash('sha256');
  const handle = await open(path);
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}
