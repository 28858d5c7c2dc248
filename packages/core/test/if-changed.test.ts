import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryStore, memoryAdapter } from '@dl/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDownloaderFactory, type OpenInterceptor, type OpenRequest } from '../src/index.js';

describe('ifChanged', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dl-if-changed-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A remote whose file has ETag "v1": answers "not modified" to ifChanged { etag: "v1" }. */
  function setup() {
    const store = createMemoryStore();
    store.put('mem://h.test/f', new TextEncoder().encode('new bytes'));
    const seen: (OpenRequest['ifChanged'] | undefined)[] = [];
    const conditional: OpenInterceptor = (next) => async (request) => {
      seen.push(request.ifChanged);
      if (request.ifChanged?.etag === '"v1"') {
        return {
          metadata: { url: request.url.href, offset: 0, headers: {}, notModified: true },
          body: (async function* () {})(),
        };
      }
      return next(request);
    };
    const factory = createDownloaderFactory({
      adapters: [memoryAdapter(store)],
      interceptors: [conditional],
    });
    return { factory, seen };
  }

  it('keeps the existing file untouched when the remote is unchanged', async () => {
    const { factory, seen } = setup();
    await using _ = factory;
    const destination = join(dir, 'f');
    await writeFile(destination, 'old bytes!');
    const result = await factory.download({
      url: 'mem://h.test/f',
      destination,
      size: 10,
      ifChanged: { etag: '"v1"', size: 10 },
    });
    expect(result.unchanged).toBe(true);
    expect(result.path).toBe(destination);
    expect(result.size).toBe(10);
    expect(result.digests).toEqual({});
    expect(seen).toEqual([{ etag: '"v1"', size: 10 }]);
    expect(await readFile(destination, 'utf8')).toBe('old bytes!');
    expect(await readdir(dir)).toEqual(['f']);
  });

  it('downloads when the remote changed', async () => {
    const { factory } = setup();
    await using _ = factory;
    const destination = join(dir, 'f');
    await writeFile(destination, 'old bytes!');
    const result = await factory.download({
      url: 'mem://h.test/f',
      destination,
      ifChanged: { etag: '"v0"' },
    });
    expect(result.unchanged).toBeUndefined();
    expect(await readFile(destination, 'utf8')).toBe('new bytes');
  });

  it('needs a destination and no range', async () => {
    const { factory } = setup();
    await using _ = factory;
    await expect(
      factory.download({ url: 'mem://h.test/f', ifChanged: { etag: '"v1"' } }),
    ).rejects.toMatchObject({ code: 'invalid-request' });
    await expect(
      factory.download({
        url: 'mem://h.test/f',
        destination: join(dir, 'g'),
        range: { start: 1 },
        ifChanged: { etag: '"v1"' },
      }),
    ).rejects.toMatchObject({ code: 'invalid-request' });
  });
});
