import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http } from '@dl/http';
import { generatedContent, startHttpFixture, waitFor, type HttpFixture } from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDownloaderFactory,
  createStreamer,
  type DownloaderFactory,
  type StreamTarget,
} from '../../src/index.js';
import { fetchRaw, openRaw, sha256, startStreamerServer, type StreamerServer } from './support.js';

const SIZE = 2 * 1024 * 1024;
const names = ['one.bin', 'two.bin', 'three.bin', 'four.bin'];
const files = new Map(names.map((n) => [n, generatedContent(`/${n}`, SIZE)]));

let upstream: HttpFixture;
let factory: DownloaderFactory;
let server: StreamerServer;
let cacheDir: string;

function target(name: string): StreamTarget {
  return {
    url: upstream.url(`/${name}`),
    size: SIZE,
    digests: { sha256: sha256(files.get(name)!) },
    cache: join(cacheDir, 'pool', name),
  };
}

beforeAll(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'dl-streamer-tee-'));
  upstream = await startHttpFixture({ chunkSize: 32 * 1024 });
  for (const [name, data] of files) upstream.put(`/${name}`, data);
  factory = createDownloaderFactory({ adapters: [http()] });
  server = await startStreamerServer(createStreamer({ downloader: factory }), (path) =>
    target(path.slice(1)),
  );
});

afterAll(async () => {
  await server.stop();
  await factory.destroy();
  await upstream.stop();
  await rm(cacheDir, { recursive: true, force: true });
});

const gets = (name: string) => upstream.requests().filter((r) => r.path === `/${name}`).length;

describe('tee: a validated copy on disk', () => {
  it('keeps a copy of a streamed file and serves the next requests from it', async () => {
    const outcome = server.nextOutcomes(1);
    const first = await fetchRaw(server.url('/one.bin'));
    expect(first.complete).toBe(true);
    expect((await outcome)[0]).toMatchObject({ ok: true, source: 'upstream' });
    // The outcome settles after the rename: the copy is there and complete.
    const copy = await readFile(join(cacheDir, 'pool', 'one.bin'));
    expect(sha256(copy)).toBe(sha256(files.get('one.bin')!));
    expect(await readdir(join(cacheDir, 'pool'))).toEqual(['one.bin']);

    const next = server.nextOutcomes(3);
    const again = await fetchRaw(server.url('/one.bin'));
    expect(sha256(again.body)).toBe(sha256(files.get('one.bin')!));
    expect(again.headers['content-length']).toBe(String(SIZE));
    const ranged = await fetchRaw(server.url('/one.bin'), { headers: { range: 'bytes=100-199' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers['content-range']).toBe(`bytes 100-199/${SIZE}`);
    expect(Buffer.compare(ranged.body, Buffer.from(files.get('one.bin')!.subarray(100, 200)))).toBe(
      0,
    );
    const head = await fetchRaw(server.url('/one.bin'), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(SIZE));
    expect((await next).map((o) => o.source)).toEqual(['cache', 'cache', 'cache']);
    expect(gets('one.bin')).toBe(1);
  });

  it('shared requests write one copy', async () => {
    upstream.fault('/two.bin', { stallMs: 200 });
    const results = await Promise.all(
      Array.from({ length: 5 }, () => fetchRaw(server.url('/two.bin'))),
    );
    for (const got of results) expect(sha256(got.body)).toBe(sha256(files.get('two.bin')!));
    expect(gets('two.bin')).toBe(1);
    await waitFor(async () => (await readdir(join(cacheDir, 'pool'))).includes('two.bin'));
    const copy = await readFile(join(cacheDir, 'pool', 'two.bin'));
    expect(sha256(copy)).toBe(sha256(files.get('two.bin')!));
  });

  it('leaves nothing when the client goes away mid-file', async () => {
    upstream.fault('/three.bin', { stallAfter: 256 * 1024, stallMs: 5000 });
    const outcome = server.nextOutcomes(1);
    const client = await openRaw(server.url('/three.bin'));
    await new Promise((resolve) => client.res.once('data', resolve));
    client.destroy();
    expect((await outcome)[0]).toMatchObject({ ok: false, error: { code: 'aborted' } });
    await waitFor(async () =>
      (await readdir(join(cacheDir, 'pool'))).every((n) => !n.includes('three.bin')),
    );
  });

  it('does not trust a file of the wrong size at the cache path', async () => {
    await writeFile(join(cacheDir, 'pool', 'four.bin'), 'truncated');
    const outcome = server.nextOutcomes(1);
    const got = await fetchRaw(server.url('/four.bin'));
    expect(sha256(got.body)).toBe(sha256(files.get('four.bin')!));
    expect((await outcome)[0]).toMatchObject({ ok: true, source: 'upstream' });
    const copy = await readFile(join(cacheDir, 'pool', 'four.bin'));
    expect(sha256(copy)).toBe(sha256(files.get('four.bin')!));
  });
});
