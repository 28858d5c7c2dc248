import { describe, expect, it } from 'vitest';
import { flightKey } from './flight-key.js';

describe('flightKey', () => {
  it('is the same for the same download, whatever the order and case of digests and headers', () => {
    const a = flightKey({
      url: new URL('https://h.test/f'),
      size: 5,
      digests: { sha256: 'AB', md5: 'cd' },
      headers: { 'X-A': '1', accept: '*/*' },
    });
    const b = flightKey({
      url: 'https://h.test/f',
      size: 5,
      digests: { md5: 'CD', sha256: 'ab' },
      headers: { accept: '*/*', 'x-a': '1' },
    });
    expect(a).toBeDefined();
    expect(a).toBe(b);
  });

  it('differs when anything that changes the bytes or their checks differs', () => {
    const base = { url: 'https://h.test/f', size: 5, digests: { sha256: 'ab' } };
    const key = flightKey(base);
    expect(flightKey({ ...base, size: 6 })).not.toBe(key);
    expect(flightKey({ ...base, digests: { sha256: 'ac' } })).not.toBe(key);
    expect(flightKey({ ...base, headers: { accept: 'x' } })).not.toBe(key);
    expect(flightKey({ ...base, cache: '/tmp/f' })).not.toBe(key);
    expect(flightKey({ ...base, url: 'https://h.test/g' })).not.toBe(key);
  });

  it('is undefined for custom validators and unparsable URLs', () => {
    expect(flightKey({ url: 'https://h.test/f', validators: [{ name: 'v' } as never] })).toBe(
      undefined,
    );
    expect(flightKey({ url: 'not a url' })).toBe(undefined);
  });
});
