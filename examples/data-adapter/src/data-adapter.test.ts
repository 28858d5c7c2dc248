import { createDownloaderFactory, DownloadError, ErrorCodes, type OpenInterceptor } from '@dl/core';
import { adapterConformance, createTransferProbe, type ConformanceFixture } from '@dl/testkit';
import { describe, expect, it } from 'vitest';
import { dataAdapter, parseDataUrl } from './index.js';

/**
 * A `data:` URL always exists, so the fixture plays the remote side: it
 * hands out a data URL for each file put into it, and for a path never put
 * it hands out a marker URL that its interceptor answers with `not-found`,
 * as a server without the file would. A transfer probe counts transfers
 * (there is no server to count them) and cuts them mid-body.
 */
function dataFixture(): Promise<ConformanceFixture> {
  const files = new Map<string, string>();
  const probe = createTransferProbe();
  const ABSENT = 'data:text/plain,absent%20';
  const absent: OpenInterceptor = (next) => async (request) => {
    if (request.url.href.startsWith(ABSENT)) {
      throw new DownloadError('The fixture has no such file', {
        code: ErrorCodes.NotFound,
        url: request.url,
      });
    }
    return next(request);
  };
  const url = (path: string) => files.get(path) ?? `${ABSENT}${encodeURIComponent(path)}`;
  return Promise.resolve({
    url,
    async put(path, data) {
      files.set(
        path,
        `data:application/octet-stream;base64,${Buffer.from(data).toString('base64')}`,
      );
    },
    cutAfter: (path, bytes) => probe.cutNext(url(path), bytes),
    peakConnections: () => probe.peak(),
    resetPeak: () => probe.resetPeak(),
    activeTransfers: () => probe.active(),
    interceptors: [probe.interceptor, absent],
    stop: async () => files.clear(),
  });
}

adapterConformance(it, {
  name: 'data',
  fixture: dataFixture,
  // Small chunks, so transfers last long enough to be cut and aborted mid-body.
  adapter: () => dataAdapter({ chunkSize: 4096 }),
  builder: dataAdapter,
});

describe('parseDataUrl', () => {
  it('decodes percent-encoded and base64 data with their media types', () => {
    const text = parseDataUrl(new URL('data:,Hello%2C%20World!'));
    expect(text.mediaType).toBe('text/plain;charset=US-ASCII');
    expect(Buffer.from(text.bytes).toString()).toBe('Hello, World!');
    const binary = parseDataUrl(new URL('data:application/x-thing;base64,AAEC/w=='));
    expect(binary.mediaType).toBe('application/x-thing');
    expect([...binary.bytes]).toEqual([0, 1, 2, 255]);
    expect([...parseDataUrl(new URL('data:;charset=utf-8,%FF%00')).bytes]).toEqual([255, 0]);
  });

  it.each([
    ['data:text/plain', /needs a comma/],
    ['data:;base64,@@@@', /outside the base64 alphabet/],
    ['data:,100%zz', /two hex digits/],
  ])('refuses %s with invalid-request', (raw, reason) => {
    const error = (() => {
      try {
        parseDataUrl(new URL(raw));
      } catch (thrown) {
        return thrown as DownloadError;
      }
      return undefined;
    })();
    expect(error?.code).toBe(ErrorCodes.InvalidRequest);
    expect(error?.message).toMatch(reason);
  });
});

describe('dataAdapter through a factory', () => {
  it('downloads and validates a data: URL, and serves ranges', async () => {
    await using factory = createDownloaderFactory({ adapters: [dataAdapter()] });
    const result = await factory.download({
      url: 'data:,Hello%2C%20World!',
      size: 13,
      digests: { sha256: 'dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f' },
    });
    expect(result.size).toBe(13);
    const opened = await factory.open({
      url: 'data:,Hello%2C%20World!',
      range: { start: 7, end: 11 },
    });
    const parts: Uint8Array[] = [];
    for await (const chunk of opened.body) parts.push(chunk);
    expect(Buffer.concat(parts).toString()).toBe('World');
  });
});
