import { createMemoryStore, memoryAdapter } from '@dl/testkit';
import { describe, expect, it } from 'vitest';
import {
  createDownloaderFactory,
  DownloadError,
  fileAdapter,
  type OpenInterceptor,
} from '../index.js';
import { rebuildDownloaderFactory } from './rebuild-factory.js';

describe('plain-data handoff', () => {
  it('round-trips a factory through JSON with the builders passed in', async () => {
    const store = createMemoryStore();
    store.put('mem://h.test/a', new Uint8Array([1, 2, 3]));
    const tagged: OpenInterceptor = Object.assign((next: Parameters<OpenInterceptor>[0]) => next, {
      toJSON: () => ({ type: 'noop', options: { level: 2 } }),
    });
    const original = createDownloaderFactory({
      adapters: [fileAdapter({ highWaterMark: 1024 }), memoryAdapter(store)],
      interceptors: [tagged],
      limits: { total: 7, perHost: 3 },
      retry: { maxAttempts: 2 },
      userAgent: 'importer/1',
    });
    const json = JSON.parse(JSON.stringify(original));
    expect(json).toEqual({
      dl: 1,
      limits: { total: 7, perHost: 3 },
      retry: { maxAttempts: 2, baseDelayMs: 200, maxDelayMs: 30000 },
      userAgent: 'importer/1',
      adapters: [
        { name: 'file', options: { highWaterMark: 1024 } },
        { name: 'memory', options: {} },
      ],
      interceptors: [{ type: 'noop', options: { level: 2 } }],
    });
    const seen: unknown[] = [];
    const rebuilt = rebuildDownloaderFactory(json, {
      adapters: { file: fileAdapter, memory: () => memoryAdapter(store) },
      interceptors: {
        noop: (options) => {
          seen.push(options);
          return tagged;
        },
      },
    });
    expect(seen).toEqual([{ level: 2 }]);
    expect(JSON.parse(JSON.stringify(rebuilt))).toEqual(json);
    expect((await rebuilt.download({ url: 'mem://h.test/a' })).size).toBe(3);
    await Promise.all([original.close(), rebuilt.close()]);
  });

  it('names the bad field of invalid data', () => {
    const good = {
      dl: 1,
      limits: { total: 2, perHost: 1 },
      retry: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
      adapters: [],
    };
    const cases: [unknown, RegExp][] = [
      [null, /config must be an object/],
      [{ ...good, dl: 2 }, /config\.dl/],
      [
        { ...good, limits: { total: 0, perHost: 1 } },
        /config\.limits\.total must be a whole number ≥ 1, got 0/,
      ],
      [{ ...good, retry: { ...good.retry, maxDelayMs: -1 } }, /config\.retry\.maxDelayMs/],
      [{ ...good, adapters: [{ options: {} }] }, /config\.adapters\[0\]\.name/],
      [
        { ...good, adapters: [{ name: 'ftp' }] },
        /config\.adapters\[0\]\.name: no builder was passed for adapter "ftp" \(passed: file\)/,
      ],
      [
        { ...good, adapters: [{ name: 'toString' }] },
        /no builder was passed for adapter "toString"/,
      ],
    ];
    for (const [data, message] of cases) {
      let error: unknown;
      try {
        rebuildDownloaderFactory(data, { adapters: { file: fileAdapter } });
      } catch (e) {
        error = e;
      }
      expect(DownloadError.isInstance(error) && error.code).toBe('invalid-request');
      expect((error as Error).message).toMatch(message);
    }
  });

  it('refuses to serialize an adapter without toJSON() instead of writing empty options', async () => {
    const { toJSON: _dropped, ...adapter } = fileAdapter({ highWaterMark: 1024 });
    await using factory = createDownloaderFactory({ adapters: [adapter] });
    expect(() => factory.toJSON()).toThrow(/adapters\[0\] \("file"\): has no toJSON/);
    expect(() => JSON.stringify(factory)).toThrow(DownloadError);
  });

  it('refuses to serialize an interceptor that cannot be handed over', async () => {
    await using factory = createDownloaderFactory({
      adapters: [fileAdapter()],
      interceptors: [(next) => next],
    });
    expect(() => factory.toJSON()).toThrow(/interceptors\[0\]: has no toJSON/);
  });
});
