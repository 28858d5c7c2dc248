import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../errors/error-codes.js';
import { urlCredentials } from './url-credentials.js';

describe('urlCredentials', () => {
  const defaults = { user: 'mirror', password: 'secret' };

  it('uses the defaults for a URL without userinfo', () => {
    expect(urlCredentials(new URL('ftp://h/f'), defaults)).toEqual(defaults);
  });

  it("prefers the URL's own user and password, percent-decoded", () => {
    expect(urlCredentials(new URL('ftp://a%40b:p%3As@h/f'), defaults)).toEqual({
      user: 'a@b',
      password: 'p:s',
    });
  });

  it('gives the default password only to the default user', () => {
    expect(urlCredentials(new URL('ftp://mirror@h/f'), defaults).password).toBe('secret');
    expect(urlCredentials(new URL('ftp://other@h/f'), defaults).password).toBeUndefined();
  });

  it('leaves the user undefined when neither names one', () => {
    expect(urlCredentials(new URL('ftp://h/f'), {})).toEqual({
      user: undefined,
      password: undefined,
    });
  });

  it('rejects a malformed escape as invalid-request', () => {
    expect(() => urlCredentials(new URL('ftp://u:%E0%A4@h/f'), {})).toThrow(
      expect.objectContaining({ code: ErrorCodes.InvalidRequest }),
    );
  });
});
