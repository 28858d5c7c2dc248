import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryStore, memoryAdapter } from '@dl/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createDownloaderFactory,
  HOST_TAG,
  keptPaths,
  readResumeRecord,
  removeStaleTemps,
} from '../src/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dl-kept-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const SIZE = 1_000_000;
const URL_ = 'mem://h.test/big';

function setup(cutAfter?: number) {
  const store = createMemoryStore();
  const data = bytes(SIZE);
  store.put(URL_, data);
  if (cutAfter !== undefined) store.fault(URL_, { cutAfter, cutTimes: 1 });
  return { store, data };
}

async function run(store: ReturnType<typeof createMemoryStore>, digest: string) {
  await using factory = createDownloaderFactory({
    adapters: [memoryAdapter(store, { chunkSize: 10_000 })],
    retry: { maxAttempts: 1 },
    keepPartialBytes: 100_000,
  });
  let received = 0;
  factory.on('download-progress', (e) => (received += e.chunk));
  const outcome = await factory
    .download({ url: URL_, destination: join(dir, 'big'), size: SIZE, digests: { sha256: digest } })
    .then(
      (result) => ({ result, error: undefined }),
      (error: unknown) => ({ result: undefined, error }),
    );
  return { ...outcome, received };
}

describe('kept partials', () => {
  it('keeps a failed download past the threshold and resumes it in the next run', async () => {
    const { store, data } = setup(600_000);
    const first = await run(store, sha256(data));
    expect(first.error).toBeDefined();
    const kept = keptPaths(join(dir, 'big'));
    expect(readResumeRecord(kept.record)).toMatchObject({ url: URL_, size: SIZE, bytes: 600_000 });
    expect((await readFile(kept.data)).length).toBe(600_000);

    const second = await run(store, sha256(data));
    expect(second.error).toBeUndefined();
    expect(second.result!.resumedBytes).toBe(600_000);
    expect(second.received).toBe(400_000);
    expect(await readFile(join(dir, 'big'))).toEqual(Buffer.from(data));
    expect((await readdir(dir)).sort()).toEqual(['big']);
  });

  it('discards a kept partial whose record does not match the request', async () => {
    const { store, data } = setup(600_000);
    await run(store, sha256(data));
    const other = bytes(SIZE).map((b) => b ^ 1);
    store.put(URL_, other);
    const second = await run(store, sha256(other));
    expect(second.error).toBeUndefined();
    expect(second.result!.resumedBytes).toBe(0);
    expect(second.received).toBe(SIZE);
    expect(await readFile(join(dir, 'big'))).toEqual(Buffer.from(other));
    expect((await readdir(dir)).sort()).toEqual(['big']);
  });

  it('removes a partial below the threshold', async () => {
    const { store, data } = setup(50_000);
    await run(store, sha256(data));
    expect(await readdir(dir)).toEqual([]);
  });

  it('stale-temp cleanup adopts a dead owner temp that has a record, removes one without', async () => {
    const dead = 2 ** 22 + 1234; // above the default pid_max: no such process
    const withRecord = join(dir, `.a.bin.${HOST_TAG}-${dead}.x1.dl-part`);
    const without = join(dir, `.b.bin.${HOST_TAG}-${dead}.x2.dl-part`);
    await writeFile(withRecord, 'abc');
    await writeFile(`${withRecord}.json`, JSON.stringify({ dl: 1, url: 'mem://h/a', bytes: 3 }));
    await writeFile(without, 'abc');
    const removed = await removeStaleTemps(dir);
    expect(removed).toEqual([without]);
    expect((await readdir(dir)).sort()).toEqual(['.a.bin.dl-resume', '.a.bin.dl-resume.json']);
  });
});
