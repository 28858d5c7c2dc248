import { createHash } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createMemoryStore, memoryAdapter } from '@dl/testkit';
import { describe, expect, it } from 'vitest';
import { createDownloaderFactory, DownloadError } from '../src/index.js';

const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13) & 0xff);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function drain(body: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const chunk of body) n += chunk.byteLength;
  return n;
}

describe('open(): the streamer entry', () => {
  it('gives metadata before the body and validates while reading', async () => {
    const store = createMemoryStore();
    const data = bytes(50_000);
    store.put('mem://s.test/ok', data, { contentType: 'application/x-rpm' });
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store, { chunkSize: 4096 })],
    });
    const opened = await factory.open({
      url: 'mem://s.test/ok',
      digests: { sha256: sha256(data) },
      context: 'ctx',
    });
    expect(opened.metadata.size).toBe(50_000);
    expect(opened.metadata.contentType).toBe('application/x-rpm');
    expect(store.active()).toBe(1);
    expect(await drain(opened.body)).toBe(50_000);
    const result = await opened.result;
    expect(result.context).toBe('ctx');
    expect(result.digests.sha256).toBe(sha256(data));
  });

  it('ends the body with an error, never a clean end, when the bytes are wrong', async () => {
    const store = createMemoryStore();
    const data = bytes(50_000);
    store.put('mem://s.test/bad', data);
    store.fault('mem://s.test/bad', { corrupt: 40_000 });
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store, { chunkSize: 4096 })],
    });
    const opened = await factory.open({
      url: 'mem://s.test/bad',
      digests: { sha256: sha256(data) },
    });
    const error = (await drain(opened.body).catch((e: unknown) => e)) as DownloadError;
    expect(error.code).toBe('digest-mismatch');
    await expect(opened.result).rejects.toMatchObject({ code: 'digest-mismatch' });
  });

  it('retries before the first byte; after it, only resumes at the offset, never restarts', async () => {
    const store = createMemoryStore();
    const data = bytes(50_000);
    store.put('mem://s.test/flaky', data);
    store.fault('mem://s.test/flaky', { failOpens: 1 });
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store, { chunkSize: 4096 })],
      retry: { baseDelayMs: 1 },
    });
    const opened = await factory.open({ url: 'mem://s.test/flaky' });
    expect(await drain(opened.body)).toBe(50_000);
    expect((await opened.result).attempts).toBe(2);

    // The memory adapter resumes and sends an ETag: the cut body continues where it stopped.
    store.fault('mem://s.test/flaky', { cutAfter: 20_000 });
    const resumed = await factory.open({ url: 'mem://s.test/flaky' });
    expect(await drain(resumed.body)).toBe(50_000);
    expect(await resumed.result).toMatchObject({ attempts: 2, resumedBytes: 20_000 });

    // Without resume only a restart from byte 0 is left, which would hand bytes out twice.
    await using plain = createDownloaderFactory({
      adapters: [memoryAdapter(store, { chunkSize: 4096, resume: false })],
      retry: { baseDelayMs: 1 },
    });
    store.fault('mem://s.test/flaky', { cutAfter: 20_000 });
    const opensBefore = store.opens('mem://s.test/flaky');
    const cut = await plain.open({ url: 'mem://s.test/flaky' });
    const error = (await drain(cut.body).catch((e: unknown) => e)) as DownloadError;
    expect(error.code).toBe('connection-failed');
    expect(store.opens('mem://s.test/flaky')).toBe(opensBefore + 1);
  });

  it('aborting an opened download whose body was never read settles it and frees everything', async () => {
    const store = createMemoryStore();
    store.put('mem://s.test/unread', bytes(1_000_000));
    const factory = createDownloaderFactory({
      adapters: [memoryAdapter(store, { chunkSize: 4096 })],
    });
    const opened = await factory.open({ url: 'mem://s.test/unread' });
    await new Promise((r) => setTimeout(r, 10));
    opened.abort();
    await expect(opened.result).rejects.toMatchObject({ code: 'aborted' });
    await factory.close();
    expect(store.active()).toBe(0);
  });

  it('a reader that stops early cancels the transfer', async () => {
    const store = createMemoryStore();
    store.put('mem://s.test/long', bytes(1_000_000));
    store.fault('mem://s.test/long', { chunkDelayMs: 2 });
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store, { chunkSize: 4096 })],
    });
    const opened = await factory.open({ url: 'mem://s.test/long' });
    for await (const _chunk of opened.body) break;
    await expect(opened.result).rejects.toMatchObject({ code: 'aborted' });
    expect(store.active()).toBe(0);
  });
});

describe('progress', () => {
  it('publishes start, progress and end on diagnostics channels and as events, with aggregate stats', async () => {
    const store = createMemoryStore();
    store.put('mem://p.test/a', bytes(10_000));
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store, { chunkSize: 1000 })],
    });
    const seen: string[] = [];
    const onStart = () => seen.push('channel-start');
    const onEnd = (m: unknown) => seen.push(`channel-end:${(m as { ok: boolean }).ok}`);
    subscribe('dl:download-start', onStart);
    subscribe('dl:download-end', onEnd);
    let progressBytes = 0;
    const off = factory.on('download-progress', (e) => (progressBytes = e.bytes));
    try {
      await factory.download({ url: 'mem://p.test/a' });
    } finally {
      unsubscribe('dl:download-start', onStart);
      unsubscribe('dl:download-end', onEnd);
      off();
    }
    expect(seen).toEqual(['channel-start', 'channel-end:true']);
    expect(progressBytes).toBe(10_000);
    expect(factory.stats()).toMatchObject({
      started: 1,
      succeeded: 1,
      failed: 0,
      active: 0,
      bytes: 10_000,
    });
  });
});
