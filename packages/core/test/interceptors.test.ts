import { createMemoryStore, memoryAdapter } from '@dl/testkit';
import { describe, expect, it } from 'vitest';
import { createDownloaderFactory, type OpenFunction, type OpenInterceptor } from '../src/index.js';

describe('interceptors', () => {
  it('compose around open, outermost first, and may serve a virtual scheme', async () => {
    const store = createMemoryStore();
    store.put('mem://real.test/pkg/a.rpm', new Uint8Array([1, 2, 3]));
    const calls: string[] = [];
    const tag =
      (name: string): OpenInterceptor =>
      (next: OpenFunction) =>
      (request) => {
        calls.push(name);
        return next(request);
      };
    const rewrite: OpenInterceptor = Object.assign(
      (next: OpenFunction): OpenFunction =>
        (request) =>
          next({ ...request, url: new URL(`mem://real.test${request.url.pathname}`) }),
      { schemes: ['mirror'] as const, resume: true },
    );
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store)],
      interceptors: [tag('outer'), tag('inner'), rewrite],
    });
    expect(factory.schemes).toEqual(['mem', 'mirror']);
    expect(factory.supports('mirror://set/pkg/a.rpm')).toBe(true);
    const result = await factory.download({ url: 'mirror://set/pkg/a.rpm', size: 3 });
    expect(calls).toEqual(['outer', 'inner']);
    expect(result.url).toBe('mem://real.test/pkg/a.rpm');
    expect(result.requestedUrl).toBe('mirror://set/pkg/a.rpm');
  });

  it('a virtual scheme is not held to the per-host limit (its sources are)', async () => {
    const store = createMemoryStore();
    store.generate('m1.test', 100);
    store.generate('m2.test', 100);
    for (let i = 0; i < 40; i++)
      store.fault(`mem://m${(i % 2) + 1}.test/f/${i}`, { firstByteDelayMs: 5 });
    const spread: OpenInterceptor = Object.assign(
      (next: OpenFunction): OpenFunction =>
        (request) => {
          const n = Number(request.url.pathname.split('/').pop());
          return next({
            ...request,
            url: new URL(`mem://m${(n % 2) + 1}.test${request.url.pathname}`),
          });
        },
      { schemes: ['mirror'] as const },
    );
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store)],
      interceptors: [spread],
      limits: { total: 8, perHost: 2 },
    });
    const requests = Array.from({ length: 40 }, (_, i) => ({ url: `mirror://set/f/${i}` }));
    for await (const outcome of factory.downloadAll(requests)) expect(outcome.ok).toBe(true);
    expect(store.peak()).toBeGreaterThan(2);
    expect(store.peak()).toBeLessThanOrEqual(8);
  });

  it("an attempt's end frees the inner body of a wrapper that passed its own signal and never read it", async () => {
    const store = createMemoryStore();
    store.put('mem://h.test/f', new Uint8Array(100));
    // Its own signal, never aborted; its body a generator the loop gives back before the
    // first next(), so the generator's finally never returns the inner body.
    const wrap: OpenInterceptor = (next) => async (request) => {
      const inner = await next({ ...request, signal: new AbortController().signal });
      return {
        ...inner,
        metadata: { ...inner.metadata, offset: 7 },
        body: (async function* () {
          yield* inner.body as AsyncIterable<Uint8Array>;
        })(),
      };
    };
    const factory = createDownloaderFactory({
      adapters: [memoryAdapter(store)],
      interceptors: [wrap],
      retry: { maxAttempts: 1 },
    });
    await expect(factory.download({ url: 'mem://h.test/f' })).rejects.toMatchObject({
      code: 'protocol-error',
    });
    // The session's close waits for every open it counts: none is left.
    const closed = await Promise.race([
      factory.close().then(() => 'closed'),
      new Promise((resolve) => setTimeout(resolve, 2000, 'still open')),
    ]);
    expect(closed).toBe('closed');
  });
});
