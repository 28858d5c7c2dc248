import { DownloadError, type ProtocolAdapter } from '@dl/core';
import { describe, expect, it } from 'vitest';
import { adapterConformance } from './adapter-conformance.js';
import { openRequest, readAll, sessionContext } from './adapter-test-helpers.js';
import { memoryConformanceFixture } from './memory-conformance-fixture.js';
import { generatedContent } from './generated-content.js';
import { heapUsedAfterGc } from './heap-used.js';
import { memoryAdapter, type MemorySession } from './memory-adapter.js';
import { createMemoryStore, type MemoryStore } from './memory-store.js';

const logger = { debug() {}, info() {}, warn() {}, error() {} };

async function sessionOf(adapter: ProtocolAdapter<MemorySession>): Promise<MemorySession> {
  return adapter.createSession(sessionContext({ maxConnectionsPerHost: 4, log: logger }));
}

const request = openRequest;

async function failure(promise: Promise<unknown>): Promise<DownloadError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(DownloadError.isInstance(error)).toBe(true);
  return error as DownloadError;
}

function bytes(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
}

async function setup(chunkSize = 1024): Promise<{
  store: MemoryStore;
  adapter: ProtocolAdapter<MemorySession>;
  session: MemorySession;
}> {
  const store = createMemoryStore();
  const adapter = memoryAdapter(store, { chunkSize });
  return { store, adapter, session: await sessionOf(adapter) };
}

describe('memoryAdapter', () => {
  it('serves a stored file in chunks with metadata, and counts the transfer per host', async () => {
    const { store, adapter, session } = await setup(1000);
    const data = bytes(4500);
    store.put('mem://host-a/dir/file.bin', data);
    const resource = await adapter.open(session, request('mem://host-a/dir/file.bin'));
    expect(resource.metadata).toMatchObject({ size: 4500, offset: 0, length: 4500 });
    expect(resource.metadata.etag).toMatch(/^"[\w-]+"$/);
    expect(store.active('host-a')).toBe(1);
    expect(store.active('mem://host-a')).toBe(1);
    const sizes: number[] = [];
    const parts: Uint8Array[] = [];
    for await (const chunk of resource.body as AsyncIterable<Uint8Array>) {
      sizes.push(chunk.length);
      parts.push(chunk);
    }
    expect(sizes).toEqual([1000, 1000, 1000, 1000, 500]);
    expect(Buffer.concat(parts).equals(Buffer.from(data))).toBe(true);
    expect(store.active('host-a')).toBe(0);
    expect(store.peak('host-a')).toBe(1);
    expect(store.opens('mem://host-a/dir/file.bin')).toBe(1);
    expect(store.totalOpens('host-a')).toBe(1);
  });

  it('honours offset and end, and ignores them when the fault says so', async () => {
    const { store, adapter, session } = await setup();
    const data = bytes(3000);
    const url = 'mem://h/f';
    store.put(url, data);
    const from = await adapter.open(session, request(url, { offset: 1000 }));
    expect(from.metadata.offset).toBe(1000);
    expect(Buffer.from(await readAll(from.body)).equals(Buffer.from(data.subarray(1000)))).toBe(
      true,
    );
    const ranged = await adapter.open(session, request(url, { offset: 10, end: 19 }));
    expect(ranged.metadata.length).toBe(10);
    expect(Buffer.from(await readAll(ranged.body)).equals(Buffer.from(data.subarray(10, 20)))).toBe(
      true,
    );
    store.fault(url, { ignoreRange: true });
    const ignored = await adapter.open(session, request(url, { offset: 1000 }));
    expect(ignored.metadata.offset).toBe(0);
    expect((await readAll(ignored.body)).length).toBe(3000);
  });

  it('reports a missing file and a notFound fault as non-retryable not-found', async () => {
    const { store, adapter, session } = await setup();
    const missing = await failure(adapter.open(session, request('mem://h/none')));
    expect(missing).toMatchObject({ code: 'not-found', retryable: false });
    store.put('mem://h/gone', bytes(10));
    store.fault('mem://h/gone', { notFound: true });
    expect(await failure(adapter.open(session, request('mem://h/gone')))).toMatchObject({
      code: 'not-found',
    });
    expect(store.active()).toBe(0);
  });

  it('fails the next N opens with a retryable error carrying the retry-after hint', async () => {
    const { store, adapter, session } = await setup();
    store.put('mem://h/f', bytes(10));
    store.fault('mem://h/f', { failOpens: 2, retryAfterMs: 1500 });
    for (let i = 0; i < 2; i++) {
      const error = await failure(adapter.open(session, request('mem://h/f')));
      expect(error).toMatchObject({
        code: 'remote-unavailable',
        retryable: true,
        retryAfterMs: 1500,
      });
    }
    const ok = await adapter.open(session, request('mem://h/f'));
    expect((await readAll(ok.body)).length).toBe(10);
    expect(store.opens('mem://h/f')).toBe(3);
  });

  it('cuts the body after K bytes once, then serves it whole', async () => {
    const { store, adapter, session } = await setup(1000);
    store.put('mem://h/f', bytes(5000));
    store.fault('mem://h/f', { cutAfter: 2500 });
    const cut = await adapter.open(session, request('mem://h/f'));
    let received = 0;
    const error = await failure(
      (async () => {
        for await (const chunk of cut.body as AsyncIterable<Uint8Array>) received += chunk.length;
      })(),
    );
    expect(error).toMatchObject({ code: 'connection-failed', retryable: true });
    expect(received).toBe(2500);
    expect(store.active()).toBe(0);
    const whole = await adapter.open(session, request('mem://h/f', { offset: 2500 }));
    expect((await readAll(whole.body)).length).toBe(2500);
  });

  it('serves corrupted bytes where asked', async () => {
    const { store, adapter, session } = await setup();
    const data = bytes(100);
    store.put('mem://h/f', data);
    store.fault('mem://h/f', { corrupt: 7 });
    const served = await readAll((await adapter.open(session, request('mem://h/f'))).body);
    const differing = [...served.keys()].filter((i) => served[i] !== data[i]);
    expect(differing).toEqual([7]);
    expect(data[7]).toBe((7 * 7 + 3) & 0xff);
  });

  it('stops a delayed body promptly on abort and frees the transfer', async () => {
    const { store, adapter, session } = await setup(10);
    store.put('mem://h/slow', bytes(100));
    store.fault('mem://h/slow', { firstByteDelayMs: 5, chunkDelayMs: 10_000 });
    const controller = new AbortController();
    const resource = await adapter.open(
      session,
      request('mem://h/slow', { signal: controller.signal }),
    );
    const started = Date.now();
    const reading = failure(readAll(resource.body));
    setTimeout(() => controller.abort(), 50);
    const error = await reading;
    expect(error.code).toBe('aborted');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(store.active()).toBe(0);
  });

  it('frees the transfer when aborted before the body is read', async () => {
    const { store, adapter, session } = await setup();
    store.put('mem://h/f', bytes(100));
    const controller = new AbortController();
    await adapter.open(session, request('mem://h/f', { signal: controller.signal }));
    expect(store.active('h')).toBe(1);
    controller.abort();
    expect(store.active('h')).toBe(0);
    const opened = await adapter.open(session, request('mem://h/f'));
    expect(store.active('h')).toBe(1);
    expect((await readAll(opened.body)).length).toBe(100);
    expect(store.active('h')).toBe(0);
  });

  it('rejects an open whose signal is already aborted, and an open delay honours abort', async () => {
    const { store, adapter, session } = await setup();
    store.put('mem://h/f', bytes(100));
    expect(
      (await failure(adapter.open(session, request('mem://h/f', { signal: AbortSignal.abort() }))))
        .code,
    ).toBe('aborted');
    store.fault('mem://h/f', { openDelayMs: 10_000 });
    const controller = new AbortController();
    const opening = failure(
      adapter.open(session, request('mem://h/f', { signal: controller.signal })),
    );
    setTimeout(() => controller.abort(), 20);
    expect((await opening).code).toBe('aborted');
    expect(store.active()).toBe(0);
  });

  it('destroying the session ends its transfers', async () => {
    const { store, adapter, session } = await setup(10);
    store.put('mem://h/f', bytes(100));
    store.fault('mem://h/f', { chunkDelayMs: 10_000 });
    const resource = await adapter.open(session, request('mem://h/f'));
    const reading = failure(readAll(resource.body));
    await new Promise((r) => setTimeout(r, 20));
    await session.destroy?.();
    expect((await reading).code).toBe('closed');
    expect(store.active()).toBe(0);
    expect((await failure(adapter.open(session, request('mem://h/f')))).code).toBe('closed');
  });

  it('tracks the peak per host and overall, and resets it', async () => {
    const { store, adapter, session } = await setup();
    store.generate('a', 10);
    store.generate('b', 10);
    const opened = await Promise.all(
      ['mem://a/1', 'mem://a/2', 'mem://a/3', 'mem://b/1'].map((u) =>
        adapter.open(session, request(u)),
      ),
    );
    expect([store.peak('a'), store.peak('b'), store.peak()]).toEqual([3, 1, 4]);
    for (const r of opened) await readAll(r.body);
    expect(store.active()).toBe(0);
    store.resetPeak('a');
    expect([store.peak('a'), store.peak()]).toEqual([0, 4]);
    store.resetPeak();
    expect(store.peak()).toBe(0);
  });

  it('generates per-path content without keeping per-request state', async () => {
    const { store, adapter, session } = await setup();
    store.generate('gen', 64);
    const first = await readAll((await adapter.open(session, request('mem://gen/x/1.bin'))).body);
    const second = await readAll((await adapter.open(session, request('mem://gen/x/2.bin'))).body);
    expect(Buffer.from(first).equals(Buffer.from(generatedContent('/x/1.bin', 64)))).toBe(true);
    expect(Buffer.from(first).equals(Buffer.from(second))).toBe(false);
    expect(Buffer.from(store.get('mem://gen/x/1.bin') ?? []).equals(Buffer.from(first))).toBe(true);
    for (let i = 0; i < 2000; i++)
      await readAll((await adapter.open(session, request(`mem://gen/w/${i}`))).body);
    const before = heapUsedAfterGc();
    for (let i = 0; i < 20_000; i++) {
      await readAll((await adapter.open(session, request(`mem://gen/p/${i}`))).body);
    }
    const after = heapUsedAfterGc();
    expect(store.totalOpens('gen')).toBe(22_002);
    expect(store.opens('mem://gen/p/5')).toBe(0);
    expect(after - before).toBeLessThan(1024 * 1024);
  });
});

adapterConformance(it, {
  name: 'memory adapter',
  fixture: async () => memoryConformanceFixture(createMemoryStore()),
  adapter: (fixture) => memoryAdapter(fixture.store),
  builder: (options, fixture) => memoryAdapter(fixture.store, options),
});

adapterConformance(it, {
  name: 'memory adapter without resume',
  fixture: async () => memoryConformanceFixture(createMemoryStore()),
  adapter: (fixture) => memoryAdapter(fixture.store, { resume: false, chunkSize: 4096 }),
  builder: (options, fixture) => memoryAdapter(fixture.store, options),
});
