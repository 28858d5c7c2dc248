import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createMemoryStore, memoryAdapter } from '@dl/testkit';
import { describe, expect, it } from 'vitest';
import { createDownloaderFactory, createStreamer, DownloadError } from '../../src/index.js';
import { sha256 } from './support.js';

const DATA = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7) & 0xff);

function collector(): { stream: Writable; bytes(): Buffer } {
  const parts: Buffer[] = [];
  return {
    stream: new Writable({
      write(chunk: Buffer, _encoding, callback) {
        parts.push(chunk);
        callback();
      },
    }),
    bytes: () => Buffer.concat(parts),
  };
}

describe('streamer into any Writable', () => {
  it('writes the validated body and ends the stream', async () => {
    const store = createMemoryStore();
    store.put('mem://w.test/f', DATA);
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store, { chunkSize: 8192 })],
    });
    const streamer = createStreamer({ downloader: factory });
    const sink = collector();
    const outcome = await streamer.handle({}, sink.stream, {
      url: 'mem://w.test/f',
      digests: { sha256: sha256(DATA) },
    });
    expect(outcome).toMatchObject({ ok: true, bytes: DATA.byteLength });
    expect(sink.stream.writableFinished).toBe(true);
    expect(sha256(sink.bytes())).toBe(sha256(DATA));
  });

  it('destroys the stream with the error on bad bytes, so a pipeline rejects', async () => {
    const store = createMemoryStore();
    store.put('mem://w.test/bad', DATA);
    store.fault('mem://w.test/bad', { corrupt: 150_000 });
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store, { chunkSize: 8192 })],
    });
    const streamer = createStreamer({ downloader: factory });
    const through = new PassThrough();
    const sink = collector();
    const piped = pipeline(through, sink.stream);
    const outcome = await streamer.handle({}, through, {
      url: 'mem://w.test/bad',
      digests: { sha256: sha256(DATA) },
    });
    expect(outcome).toMatchObject({ ok: false, error: { code: 'digest-mismatch' } });
    const error = await piped.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(DownloadError.isInstance(error) && error.code).toBe('digest-mismatch');
  });

  it("a target's signal cancels that client only", async () => {
    const store = createMemoryStore();
    store.put('mem://w.test/slow', DATA);
    store.fault('mem://w.test/slow', { chunkDelayMs: 5 });
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store, { chunkSize: 4096 })],
    });
    const streamer = createStreamer({ downloader: factory });
    const controller = new AbortController();
    const cancelled = collector();
    const kept = collector();
    const target = { url: 'mem://w.test/slow', size: DATA.byteLength };
    const both = Promise.all([
      streamer.handle({}, cancelled.stream, { ...target, signal: controller.signal }),
      streamer.handle({}, kept.stream, target),
    ]);
    setTimeout(() => controller.abort(), 30);
    const [first, second] = await both;
    expect(first).toMatchObject({ ok: false, error: { code: 'aborted' } });
    expect(second).toMatchObject({ ok: true, source: 'shared', bytes: DATA.byteLength });
    expect(store.opens('mem://w.test/slow')).toBe(1);
    expect(store.active()).toBe(0);
  });

  it('rejects options without a downloader', () => {
    expect(() => createStreamer({} as never)).toThrow(/downloader/);
    expect(() => createStreamer({ downloader: { open() {} } as never, windowBytes: -1 })).toThrow(
      /windowBytes/,
    );
  });
});
