import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseContentRange, rangeHeader } from './content-range.js';
import { parseAuthChallenges, parseDigestHeaders, parseRetryAfter } from './index.js';
import { parseNoProxy } from './no-proxy.js';

describe('parseRetryAfter', () => {
  const now = Date.parse('Tue, 01 Jul 2025 12:00:00 GMT');
  it('reads delay-seconds and HTTP-dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Tue, 01 Jul 2025 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 01 Jul 2025 11:00:00 GMT', now)).toBe(0);
  });
  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('1.5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});

describe('parseContentRange', () => {
  it('reads satisfied ranges', () => {
    expect(parseContentRange('bytes 100-199/1000')).toEqual({
      first: 100,
      last: 199,
      complete: 1000,
    });
    expect(parseContentRange('bytes 0-9/*')).toEqual({ first: 0, last: 9 });
  });
  it('rejects malformed and unsatisfied ones', () => {
    for (const bad of [
      undefined,
      'bytes */1000',
      'bytes 200-100/1000',
      'bytes 0-999/999',
      'items 0-1/2',
      'bytes 0-1',
    ]) {
      expect(parseContentRange(bad)).toBeUndefined();
    }
  });
  it('builds Range headers', () => {
    expect(rangeHeader(5, undefined)).toBe('bytes=5-');
    expect(rangeHeader(5, 9)).toBe('bytes=5-9');
  });
});

describe('parseDigestHeaders', () => {
  const data = Buffer.from('digest me');
  const b64 = (a: string) => createHash(a).update(data).digest('base64');
  const hex = (a: string) => createHash(a).update(data).digest('hex');
  it('reads RFC 9530 and RFC 3230 forms into hex', () => {
    const digests = parseDigestHeaders(
      {
        'repr-digest': `sha-256=:${b64('sha256')}:, unixsum=:AAA=:`,
        'content-digest': `sha-512=:${b64('sha512')}:`,
        digest: `SHA-384=${b64('sha384')}, md5=${b64('md5')}, crc32c=xyz`,
      },
      { contentIsRepresentation: true },
    );
    expect(digests).toEqual({
      sha256: hex('sha256'),
      sha512: hex('sha512'),
      sha384: hex('sha384'),
      md5: hex('md5'),
    });
  });
  it('ignores Content-Digest of a partial body, bad lengths and garbage', () => {
    expect(
      parseDigestHeaders(
        { 'content-digest': `sha-256=:${b64('sha256')}:` },
        { contentIsRepresentation: false },
      ),
    ).toBeUndefined();
    expect(
      parseDigestHeaders({ digest: `SHA-256=${b64('md5')}` }, { contentIsRepresentation: true }),
    ).toBeUndefined();
    expect(
      parseDigestHeaders({ digest: 'SHA-256=!!!' }, { contentIsRepresentation: true }),
    ).toBeUndefined();
  });
  it('lets Repr-Digest win over Digest for the same algorithm', () => {
    const other = createHash('sha256').update('other').digest('base64');
    const digests = parseDigestHeaders(
      { 'repr-digest': `sha-256=:${b64('sha256')}:`, digest: `SHA-256=${other}` },
      { contentIsRepresentation: true },
    );
    expect(digests?.sha256).toBe(hex('sha256'));
  });
});

describe('parseAuthChallenges', () => {
  it('reads the OCI registry challenge', () => {
    expect(
      parseAuthChallenges(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:lib/app:pull,push"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.example/token',
          service: 'registry.example',
          scope: 'repository:lib/app:pull,push',
        },
      },
    ]);
  });
  it('reads several challenges, escapes and token68', () => {
    expect(
      parseAuthChallenges([
        'Basic realm="a \\"b\\"", charset=UTF-8, Bearer error=invalid_token',
        'Negotiate abc==',
      ]),
    ).toEqual([
      { scheme: 'basic', params: { realm: 'a "b"', charset: 'UTF-8' } },
      { scheme: 'bearer', params: { error: 'invalid_token' } },
      { scheme: 'negotiate', params: { token68: 'abc==' } },
    ]);
    expect(parseAuthChallenges(undefined)).toEqual([]);
  });
});

describe('parseNoProxy', () => {
  const url = (u: string) => new URL(u);
  it('matches hosts, subdomains, ports and *', () => {
    const match = parseNoProxy('example.com, .internal,*.corp, 10.0.0.1:8080 [::1]');
    expect(match(url('http://example.com/'))).toBe(true);
    expect(match(url('https://www.example.com/'))).toBe(true);
    expect(match(url('https://notexample.com/'))).toBe(false);
    expect(match(url('http://a.internal/'))).toBe(true);
    expect(match(url('http://b.corp/'))).toBe(true);
    expect(match(url('http://10.0.0.1:8080/'))).toBe(true);
    expect(match(url('http://10.0.0.1:8081/'))).toBe(false);
    expect(match(url('http://[::1]:9/'))).toBe(true);
    expect(parseNoProxy('*')(url('http://anything/'))).toBe(true);
    expect(parseNoProxy(undefined)(url('http://anything/'))).toBe(false);
    expect(parseNoProxy(['example.com:443'])(url('https://example.com/'))).toBe(true);
  });
});
