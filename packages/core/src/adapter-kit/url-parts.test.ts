import { describe, expect, it } from 'vitest';
import { DownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { decodeUrlPart, urlHost } from './url-parts.js';

describe('decodeUrlPart', () => {
  it('decodes percent-escapes, UTF-8 included', () => {
    const url = new URL('ftp://h/a%20b/%C3%A9');
    expect(decodeUrlPart(url.pathname, url)).toBe('/a b/é');
  });

  it('turns a malformed escape into invalid-request naming the URL without credentials', () => {
    const url = new URL('ftp://user:p%zzss@h/f');
    let error: unknown;
    try {
      decodeUrlPart(url.password, url);
    } catch (e) {
      error = e;
    }
    expect(DownloadError.isInstance(error)).toBe(true);
    expect((error as DownloadError).code).toBe(ErrorCodes.InvalidRequest);
    expect((error as DownloadError).url).toBe('ftp://h/f');
    expect(JSON.stringify(error)).not.toContain('p%zzss');
  });
});

describe('urlHost', () => {
  it('drops the brackets of an IPv6 address', () => {
    expect(urlHost(new URL('sftp://[::1]:22/f'))).toBe('::1');
    expect(urlHost(new URL('sftp://example.org/f'))).toBe('example.org');
  });

  it('rejects a URL without a host', () => {
    expect(() => urlHost(new URL('file:///f'))).toThrow(
      expect.objectContaining({ code: ErrorCodes.InvalidRequest }),
    );
  });
});
