// The "naive Node script" peer: what someone writes in an afternoon with
// undici's `request`, a concurrency limiter and `crypto`. It reads the whole
// manifest (JSON Lines, as `dl get -i` takes) into memory, runs N workers
// over it, hashes while writing each file, and renames it into place when
// the digest matches.
//
//   node bench/naive-download.mjs MANIFEST OUT_DIR CONCURRENCY
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

// undici is a dependency of @dl/http; the bench has no package.json of its own.
const require = createRequire(new URL('../packages/http/package.json', import.meta.url));
const { Agent, request } = require('undici');

const [manifestFile, outDir, concurrencyText = '16'] = process.argv.slice(2);
const concurrency = Number(concurrencyText);
const lines = (await readFile(manifestFile, 'utf8')).split('\n').filter(Boolean);
const items = lines.map((line) => JSON.parse(line));
const dispatcher = new Agent({ connections: concurrency, pipelining: 1 });
const made = new Set();
let failed = 0;

async function download(item) {
  const dest = join(outDir, item.path);
  const folder = dirname(dest);
  if (!made.has(folder)) {
    await mkdir(folder, { recursive: true });
    made.add(folder);
  }
  const temp = `${dest}.part`;
  const { statusCode, body } = await request(item.url, { dispatcher });
  if (statusCode !== 200) {
    await body.dump();
    throw new Error(`${item.url}: HTTP ${statusCode}`);
  }
  const hash = createHash('sha256');
  const out = createWriteStream(temp);
  for await (const chunk of body) {
    hash.update(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
  const digest = hash.digest('hex');
  if (item.digests?.sha256 !== undefined && digest !== item.digests.sha256) {
    await rm(temp, { force: true });
    throw new Error(`${item.url}: sha256 mismatch`);
  }
  await rename(temp, dest);
}

let next = 0;
async function worker() {
  while (next < items.length) {
    const item = items[next++];
    try {
      await download(item);
    } catch (error) {
      failed++;
      console.error(String(error));
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
await dispatcher.close();
if (failed > 0) {
  console.error(`${failed} of ${items.length} failed`);
  process.exitCode = 1;
}
