import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryStore, memoryAdapter } from '@dl/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDownloaderFactory, DownloadError, ValidationError } from '../src/index.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dl-retry-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('retries and resume', () => {
  it('retries transient failures with backoff, honouring Retry-After, then succeeds', async () => {
    const store = createMemoryStore();
    const data = bytes(1000);
    store.put('mem://h.test/f', data);
    store.fault('mem://h.test/f', { failOpens: 2, retryAfterMs: 120 });
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store)],
      retry: { baseDelayMs: 1, random: () => 1 },
    });
    const started = Date.now();
    const result = await factory.download({
      url: 'mem://h.test/f',
      destination: join(dir, 'f'),
      digests: { sha256: sha256(data) },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(230);
    expect(result.attempts).toBe(3);
    expect(store.opens('mem://h.test/f')).toBe(3);
    expect(await readFile(join(dir, 'f'))).toEqual(Buffer.from(data));
  });

  it('resumes from the offset reached after a mid-body cut, without reading bytes twice', async () => {
    const store = createMemoryStore();
    const data = bytes(200_000);
    store.put('mem://h.test/big', data);
    store.fault('mem://h.test/big', { cutAfter: 70_000, cutTimes: 2 });
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store, { chunkSize: 10_000 })],
      retry: { baseDelayMs: 1 },
    });
    let received = 0;
    factory.on('download-progress', (e) => (received += e.chunk));
    const result = await factory.download({
      url: 'mem://h.test/big',
      destination: join(dir, 'big'),
      size: data.length,
      digests: { sha256: sha256(data) },
    });
    expect(result.attempts).toBe(3);
    expect(result.resumedBytes).toBeGreaterThanOrEqual(140_000);
    expect(received).toBe(data.length);
    expect(result.digests.sha256).toBe(sha256(data));
    expect(await readFile(join(dir, 'big'))).toEqual(Buffer.from(data));
  });

  it('restarts into a fresh temp file when the remote ignores the offset', async () => {
    const store = createMemoryStore();
    const data = bytes(100_000);
    store.put('mem://h.test/r', data);
    store.fault('mem://h.test/r', { cutAfter: 50_000, ignoreRange: true });
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store, { chunkSize: 10_000 })],
      retry: { baseDelayMs: 1 },
    });
    const result = await factory.download({
      url: 'mem://h.test/r',
      destination: join(dir, 'r'),
      digests: { sha256: sha256(data) },
    });
    expect(result.attempts).toBe(2);
    expect(result.resumedBytes).toBe(0);
    expect(await readFile(join(dir, 'r'))).toEqual(Buffer.from(data));
    expect(await readdir(dir)).toEqual(['r']);
  });

  it('does not retry what is not retryable, and gives up after maxAttempts', async () => {
    const store = createMemoryStore();
    store.put('mem://h.test/gone', bytes(10));
    store.fault('mem://h.test/gone', { notFound: true });
    store.put('mem://h.test/flaky', bytes(10));
    store.fault('mem://h.test/flaky', { failOpens: 10 });
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store)],
      retry: { maxAttempts: 3, baseDelayMs: 1 },
    });
    const gone = (await factory
      .download({ url: 'mem://h.test/gone' })
      .catch((e: unknown) => e)) as DownloadError;
    expect(gone.code).toBe('not-found');
    expect(store.opens('mem://h.test/gone')).toBe(1);
    const flaky = (await factory
      .download({ url: 'mem://h.test/flaky' })
      .catch((e: unknown) => e)) as DownloadError;
    expect(flaky.code).toBe('remote-unavailable');
    expect(store.opens('mem://h.test/flaky')).toBe(3);
  });
});

describe('validation in a batch', () => {
  it('digest and size mismatches are typed outcomes, leave nothing, and do not disturb the others', async () => {
    const store = createMemoryStore();
    const files = Array.from({ length: 30 }, (_, i) => bytes(5000 + i));
    files.forEach((data, i) => store.put(`mem://v.test/${i}`, data));
    store.fault('mem://v.test/3', { corrupt: true });
    const requests = files.map((data, i) => ({
      url: `mem://v.test/${i}`,
      destination: join(dir, `${i}.bin`),
      size: i === 7 ? data.length - 1 : data.length,
      digests: { sha256: sha256(data) },
      context: i,
    }));
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store, { chunkSize: 1000 })],
    });
    const failed = new Map<number, DownloadError>();
    for await (const outcome of factory.downloadAll(requests)) {
      if (!outcome.ok) failed.set(outcome.context, outcome.error);
    }
    expect([...failed.keys()].sort((a, b) => a - b)).toEqual([3, 7]);
    const corrupt = failed.get(3)!;
    expect(ValidationError.isInstance(corrupt)).toBe(true);
    expect(corrupt.code).toBe('digest-mismatch');
    expect((corrupt as ValidationError).expected).toBe(sha256(files[3]!));
    const short = failed.get(7)! as ValidationError;
    expect(short.code).toBe('size-mismatch');
    expect(short.expected).toBe(files[7]!.length - 1);
    expect(short.message).toMatch(/expected 5006 bytes/);
    const present = (await readdir(dir)).sort();
    expect(present).toHaveLength(28);
    expect(present).not.toContain('3.bin');
    expect(present).not.toContain('7.bin');
    expect(await readFile(join(dir, '12.bin'))).toEqual(Buffer.from(files[12]!));
  });

  it('a size overrun fails as soon as it happens, not at the end', async () => {
    const store = createMemoryStore();
    store.put('mem://v.test/long', bytes(1_000_000));
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store, { chunkSize: 1000 })],
    });
    let received = 0;
    factory.on('download-progress', (e) => (received = e.bytes));
    const error = (await factory
      .download({ url: 'mem://v.test/long', size: 10 })
      .catch((e: unknown) => e)) as ValidationError;
    expect(error.code).toBe('size-mismatch');
    // Announced size is checked before the body: nothing was read.
    expect(received).toBe(0);
  });

  it('fails an overrun mid-body when the remote announced no size', async () => {
    const store = createMemoryStore();
    store.put('mem://v.test/long', bytes(1_000_000));
    const base = memoryAdapter(store, { chunkSize: 1000 });
    const noSize = {
      ...base,
      async open(
        session: Parameters<typeof base.open>[0],
        request: Parameters<typeof base.open>[1],
      ) {
        const resource = await base.open(session, request);
        const { size: _size, length: _length, ...metadata } = resource.metadata;
        return { ...resource, metadata };
      },
    };
    await using factory = createDownloaderFactory({ adapters: [noSize] });
    let received = 0;
    factory.on('download-progress', (e) => (received = e.bytes));
    const error = (await factory
      .download({ url: 'mem://v.test/long', size: 2500 })
      .catch((e: unknown) => e)) as ValidationError;
    expect(error.code).toBe('size-mismatch');
    expect(received).toBeLessThanOrEqual(3000);
  });

  it('bad requests are typed errors naming the field', async () => {
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(createMemoryStore())],
    });
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ url: 'not a url' }, /Invalid URL/],
      [{ url: 'mem://h/x', size: -1 }, /Invalid size/],
      [{ url: 'mem://h/x', digests: { sha256: 'xyz' } }, /sha256 digest/],
      [{ url: 'mem://h/x', digests: { crc32: 'abcd' } }, /Unsupported digest algorithm "crc32"/],
      [{ url: 'mem://h/x', destination: 'a\0b' }, /NUL/],
    ];
    for (const [request, message] of cases) {
      const error = (await factory
        .download(request as never)
        .catch((e: unknown) => e)) as DownloadError;
      expect(error.code).toBe('invalid-request');
      expect(error.message).toMatch(message);
    }
  });
});

describe('a body shorter than announced', () => {
  it('is a retryable protocol error whatever the adapter, resumed from the offset reached', async () => {
    const store = createMemoryStore();
    const data = bytes(40_000);
    store.put('mem://short.test/f', data);
    const base = memoryAdapter(store, { chunkSize: 10_000 });
    let opens = 0;
    const truncating = {
      ...base,
      async open(
        session: Parameters<typeof base.open>[0],
        request: Parameters<typeof base.open>[1],
      ) {
        const resource = await base.open(session, request);
        if (++opens > 1) return resource;
        // The first transfer stops after 20,000 bytes without an error, as a cut data connection does.
        const body = (async function* () {
          let sent = 0;
          for await (const chunk of resource.body as AsyncIterable<Uint8Array>) {
            if (sent >= 20_000) return;
            sent += chunk.byteLength;
            yield chunk;
          }
        })();
        return { ...resource, body };
      },
    };
    await using factory = createDownloaderFactory({
      adapters: [truncating],
      retry: { baseDelayMs: 1 },
    });
    const result = await factory.download({
      url: 'mem://short.test/f',
      destination: join(dir, 'short'),
    });
    expect(result.attempts).toBe(2);
    expect(result.resumedBytes).toBe(20_000);
    expect(await readFile(join(dir, 'short'))).toEqual(Buffer.from(data));
  });
});
