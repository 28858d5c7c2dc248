import { createMemoryStore, memoryAdapter } from '@dl/testkit';
import { describe, expect, it } from 'vitest';
import { createDownloaderFactory, DownloadError, type ProtocolAdapter } from '../src/index.js';

describe('lifecycle guard', () => {
  it('creates a session once for concurrent callers, and again only after a failed attempt', async () => {
    const store = createMemoryStore();
    store.generate('g.test', 10);
    const base = memoryAdapter(store);
    let creations = 0;
    let failNext = true;
    const adapter: ProtocolAdapter<Awaited<ReturnType<typeof base.createSession>>> = {
      ...base,
      async createSession(context) {
        creations++;
        await new Promise((r) => setTimeout(r, 10));
        if (failNext) {
          failNext = false;
          throw new Error('login failed');
        }
        return base.createSession(context);
      },
    };
    await using factory = createDownloaderFactory({
      adapters: [adapter],
      retry: { maxAttempts: 1 },
    });
    const first = await Promise.allSettled(
      [1, 2, 3].map((i) => factory.download({ url: `mem://g.test/${i}` })),
    );
    expect(first.every((r) => r.status === 'rejected')).toBe(true);
    expect(creations).toBe(1);
    const second = await Promise.all(
      [1, 2, 3].map((i) => factory.download({ url: `mem://g.test/${i}` })),
    );
    expect(second).toHaveLength(3);
    expect(creations).toBe(2);
  });

  it('closes each session once, waits for transfers in flight, and rejects calls after close', async () => {
    const store = createMemoryStore();
    store.put('mem://c.test/x', new Uint8Array(100_000));
    store.fault('mem://c.test/x', { chunkDelayMs: 2 });
    const base = memoryAdapter(store, { chunkSize: 10_000 });
    let closes = 0;
    const adapter = {
      ...base,
      async createSession(context: Parameters<typeof base.createSession>[0]) {
        const session = await base.createSession(context);
        return { ...session, close: () => void closes++ };
      },
    };
    const factory = createDownloaderFactory({ adapters: [adapter] });
    const inFlight = factory.download({ url: 'mem://c.test/x' });
    await new Promise((r) => setTimeout(r, 5));
    const closing = Promise.all([factory.close(), factory.close()]);
    expect((await inFlight).size).toBe(100_000);
    await closing;
    await factory.close();
    await factory[Symbol.asyncDispose]();
    expect(closes).toBe(1);
    const late = (await factory
      .download({ url: 'mem://c.test/x' })
      .catch((e: unknown) => e)) as DownloadError;
    expect(late.code).toBe('closed');
  });

  it('honours the signal even when an adapter ignores it', async () => {
    const stubborn: ProtocolAdapter = {
      name: 'stubborn',
      schemes: ['stub'],
      capabilities: { resume: false, transfersPerConnection: 1, metadataBeforeBody: true },
      createSession: () => ({ close() {} }),
      async open() {
        return {
          metadata: { url: 'stub://x/y', offset: 0, headers: {} },
          body: (async function* () {
            yield new Uint8Array(1);
            await new Promise(() => {}); // never ends, never looks at the signal
          })(),
        };
      },
    };
    await using factory = createDownloaderFactory({ adapters: [stubborn] });
    const controller = new AbortController();
    const pending = factory.download({ url: 'stub://x/y' }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const error = (await pending.catch((e: unknown) => e)) as DownloadError;
    expect(error.code).toBe('aborted');
  });

  it('rejects two adapters for one scheme, naming both', () => {
    const store = createMemoryStore();
    expect(() =>
      createDownloaderFactory({ adapters: [memoryAdapter(store), memoryAdapter(store)] }),
    ).toThrow(/scheme "mem" is served by both memory and memory/);
  });
});
