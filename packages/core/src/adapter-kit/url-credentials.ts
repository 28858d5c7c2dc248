import { decodeUrlPart } from './url-parts.js';

/** Who to log in as, from a URL and an adapter's options. */
export interface UrlCredentials {
  /** The URL's user, else the default one (undefined when neither names one). */
  readonly user: string | undefined;
  /** The URL's password, else the default one when it belongs to that user. */
  readonly password: string | undefined;
}

/**
 * The credentials for `url`: its own `user:password@` wins (percent-decoded,
 * see {@link decodeUrlPart}); without them, the defaults. The default
 * password is used only for the default user (a URL naming no user, or the
 * same one): it must never be sent to an account it was not given for.
 */
export function urlCredentials(
  url: URL,
  defaults: { readonly user?: string | undefined; readonly password?: string | undefined },
): UrlCredentials {
  const urlUser = url.username === '' ? undefined : decodeUrlPart(url.username, url);
  const urlPassword = url.password === '' ? undefined : decodeUrlPart(url.password, url);
  return {
    user: urlUser ?? defaults.user,
    password:
      urlPassword ??
      (urlUser === undefined || urlUser === defaults.user ? defaults.password : undefined),
  };
}
