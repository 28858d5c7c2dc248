import { DownloadError, ErrorCodes, decodeUrlPart, urlCredentials, urlHost } from '@dl/core';

/** TLS use of one connection. */
export type TlsMode = 'none' | 'explicit' | 'implicit';

/** Where one URL is served from and as whom. */
export interface FtpTarget {
  /** Host name or address, IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly tls: TlsMode;
  /** The file, relative to the login folder unless it starts with `/` (`%2F` in the URL). */
  readonly path: string;
  /** The pool's host: connections are counted per address and port. */
  readonly poolHost: string;
  /** The pool's key: connections are reusable between targets with the same key. */
  readonly poolKey: string;
}

/** What the session resolved from the options. */
export interface TargetDefaults {
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly tls: 'none' | 'explicit';
  readonly ftpsMode: 'implicit' | 'explicit';
}

/**
 * Reads host, port, credentials, TLS mode and path from an `ftp:` or `ftps:`
 * URL. As with curl, the path is relative to the login folder; `%2F` at its
 * start makes it absolute (`ftp://host/%2Fpub/file`).
 */
export function ftpTarget(url: URL, defaults: TargetDefaults): FtpTarget {
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== 'ftp' && scheme !== 'ftps') {
    throw new DownloadError(`The ftp adapter does not serve ${scheme}: URLs`, {
      code: ErrorCodes.UnsupportedScheme,
      url,
    });
  }
  const tls: TlsMode = scheme === 'ftps' ? defaults.ftpsMode : defaults.tls;
  const host = urlHost(url);
  const port = url.port === '' ? (tls === 'implicit' ? 990 : 21) : Number(url.port);
  const path = decodeUrlPart(url.pathname.replace(/^\//, ''), url).replace(/;type=[aid]$/i, '');
  if (path === '' || path.endsWith('/')) {
    throw new DownloadError('The URL names a folder, not a file', {
      code: ErrorCodes.InvalidRequest,
      url,
    });
  }
  if (/[\r\n\0]/.test(path)) {
    throw new DownloadError('The URL path contains control characters', {
      code: ErrorCodes.InvalidRequest,
      url,
    });
  }
  const credentials = urlCredentials(url, defaults);
  const user = credentials.user ?? 'anonymous';
  const password =
    credentials.password ?? (user === 'anonymous' || user === 'ftp' ? 'anonymous@' : '');
  return {
    host,
    port,
    user,
    password,
    tls,
    path,
    poolHost: `${host}:${port}`,
    poolKey: `${tls}\0${user}\0${password}`,
  };
}
