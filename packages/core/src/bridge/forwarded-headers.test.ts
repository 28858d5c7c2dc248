import { describe, expect, it } from 'vitest';
import { forwardedHeaders } from './forwarded-headers.js';

describe('forwardedHeaders', () => {
  it('keeps file headers and drops hop-by-hop, Connection-named, proxy, credential and framing headers', () => {
    const out = forwardedHeaders({
      url: 'https://u.test/f',
      offset: 0,
      headers: {
        'content-type': 'text/plain',
        'cache-control': 'no-cache',
        'content-encoding': 'gzip',
        'x-extra': '1',
        connection: 'close, X-Private',
        'x-private': 'hop',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        te: 'trailers',
        trailer: 'x-sum',
        upgrade: 'h2c',
        'proxy-authenticate': 'Basic',
        'proxy-connection': 'keep-alive',
        'set-cookie': 's=1',
        'www-authenticate': 'Bearer',
        'content-length': '5',
        'content-range': 'bytes 0-4/5',
        'alt-svc': 'h3=":443"',
        date: 'x',
      },
    });
    expect(out).toEqual({
      'content-type': 'text/plain',
      'cache-control': 'no-cache',
      'content-encoding': 'gzip',
      'x-extra': '1',
    });
  });

  it('fills in what a protocol without headers knows', () => {
    expect(
      forwardedHeaders({
        url: 'ftp://u.test/f',
        offset: 0,
        headers: {},
        etag: '"e"',
        lastModified: 'Wed, 21 Oct 2015 07:28:00 GMT',
      }),
    ).toEqual({
      'content-type': 'application/octet-stream',
      etag: '"e"',
      'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT',
    });
  });
});
