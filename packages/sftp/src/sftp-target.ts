import { DownloadError, ErrorCodes, decodeUrlPart, urlCredentials, urlHost } from '@dl/core';

/** Where one URL is served from and as whom. */
export interface SftpTarget {
  /** Host name or address, IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
  readonly username: string;
  /** From the URL (`user:password@`), else the options'. */
  readonly password: string | undefined;
  /** The remote path: absolute, or relative to the login folder for `/~/…` URLs. */
  readonly path: string;
  /** The pool's host: connections are counted per address and port. */
  readonly poolHost: string;
  /** The pool's key: connections are reusable between targets with the same key. */
  readonly poolKey: string;
}

/**
 * Reads host, port, user and path from an `sftp:` URL. The path is
 * absolute (`sftp://host/srv/file`); `/~/` at its start makes it relative
 * to the login folder, as in the SFTP URI draft.
 */
export function sftpTarget(
  url: URL,
  defaults: { readonly user: string; readonly password: string | undefined },
): SftpTarget {
  if (url.protocol !== 'sftp:') {
    throw new DownloadError(`The sftp adapter does not serve ${url.protocol.slice(0, -1)}: URLs`, {
      code: ErrorCodes.UnsupportedScheme,
      url,
    });
  }
  const host = urlHost(url);
  const port = url.port === '' ? 22 : Number(url.port);
  let path = decodeUrlPart(url.pathname, url);
  if (path.startsWith('/~/')) path = path.slice(3);
  if (path === '' || path === '/' || path.endsWith('/')) {
    throw new DownloadError('The URL names a folder, not a file', {
      code: ErrorCodes.InvalidRequest,
      url,
    });
  }
  const { user, password } = urlCredentials(url, defaults);
  const username = user ?? defaults.user;
  return {
    host,
    port,
    username,
    password,
    path,
    poolHost: `${host}:${port}`,
    poolKey: `${username}\0${password ?? ''}`,
  };
}
