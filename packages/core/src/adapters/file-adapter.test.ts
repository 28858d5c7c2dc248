import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createDownloaderFactory,
  DownloadError,
  fileAdapter,
  TEMP_SUFFIX,
  ValidationError,
} from '../index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dl-file-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('file: adapter through the factory', () => {
  it('copies a file atomically and reports every digest asked for', async () => {
    const data = randomBytes(300_000);
    await writeFile(join(dir, 'src.bin'), data);
    await using factory = createDownloaderFactory({ adapters: [fileAdapter()] });
    const result = await factory.download({
      url: pathToFileURL(join(dir, 'src.bin')),
      destination: join(dir, 'out', 'deep', 'copy.bin'),
      size: data.length,
      digests: { sha256: sha256(data) },
      computeDigests: ['md5'],
      context: { artifact: 42 },
    });
    expect(result.context).toEqual({ artifact: 42 });
    expect(result.digests.sha256).toBe(sha256(data));
    expect(result.digests.md5).toBe(createHash('md5').update(data).digest('hex'));
    expect(result.size).toBe(data.length);
    expect(await readFile(join(dir, 'out', 'deep', 'copy.bin'))).toEqual(data);
    expect(await readdir(join(dir, 'out', 'deep'))).toEqual(['copy.bin']);
  });

  it('leaves nothing at the destination when the digest is wrong', async () => {
    await writeFile(join(dir, 'src.bin'), 'hello');
    await using factory = createDownloaderFactory({ adapters: [fileAdapter()] });
    const error = await factory
      .download({
        url: pathToFileURL(join(dir, 'src.bin')),
        destination: join(dir, 'dst.bin'),
        digests: { sha256: '0'.repeat(64) },
      })
      .catch((e: unknown) => e);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as DownloadError).code).toBe('digest-mismatch');
    expect(await readdir(dir)).toEqual(['src.bin']);
    expect((await readdir(dir)).some((f) => f.endsWith(TEMP_SUFFIX))).toBe(false);
  });

  it('fails an announced size mismatch before reading, without an uncaught stream error', async () => {
    await writeFile(join(dir, 'src.bin'), Buffer.alloc(100_000, 1));
    await using factory = createDownloaderFactory({ adapters: [fileAdapter()] });
    const error = (await factory
      .download({
        url: pathToFileURL(join(dir, 'src.bin')),
        destination: join(dir, 'dst.bin'),
        size: 99_999,
      })
      .catch((e: unknown) => e)) as DownloadError;
    expect(error.code).toBe('size-mismatch');
    await new Promise((r) => setTimeout(r, 20));
    expect(await readdir(dir)).toEqual(['src.bin']);
  });

  it('names the scheme and the registered ones for an unknown scheme', async () => {
    await using factory = createDownloaderFactory({ adapters: [fileAdapter()] });
    const error = (await factory
      .download({ url: 'gopher://x/y' })
      .catch((e: unknown) => e)) as DownloadError;
    expect(error.code).toBe('unsupported-scheme');
    expect(error.message).toContain('"gopher:"');
    expect(error.message).toContain('file:');
  });
});
