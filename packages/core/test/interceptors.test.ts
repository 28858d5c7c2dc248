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
});
