import type { SecretInput } from '@dl/core';

/** Where a certificate (PEM) comes from: inline, or `{ file }` read when the session is created. */
export type PemSource = string | { readonly file: string };

/**
 * Options of the {@link ftp} adapter. Plain data: the whole object can be
 * written as JSON (secrets by reference) and passed to `ftp()` in another
 * process.
 */
export interface FtpAdapterOptions {
  /**
   * User for URLs without userinfo. A URL's own `user:password@` wins.
   * @default 'anonymous'
   */
  readonly user?: string;
  /**
   * Password of {@link user} (also used for a URL that names a user but no
   * password). Never appears in errors or logs.
   * @default 'anonymous@' for anonymous logins, '' otherwise
   */
  readonly password?: SecretInput;
  /**
   * TLS on `ftp:` URLs: `'explicit'` upgrades the control connection with
   * `AUTH TLS` and protects data connections (`PROT P`); a server that
   * refuses fails the download instead of falling back to plain text.
   * @default 'none'
   */
  readonly tls?: 'none' | 'explicit';
  /**
   * How `ftps:` URLs are secured: `'implicit'` (TLS from the first byte,
   * default port 990) or `'explicit'` (AUTH TLS, default port 21).
   * @default 'implicit'
   */
  readonly ftpsMode?: 'implicit' | 'explicit';
  /**
   * CA certificates (PEM) to trust for FTPS instead of the system's, e.g. a
   * private CA or a pinned self-signed certificate.
   * @default the system CAs
   */
  readonly ca?: PemSource | readonly PemSource[];
  /**
   * Accept any FTPS certificate, even from an unknown CA or for another
   * host. This turns TLS into encryption without authentication: anyone on
   * the path can impersonate the server. For tests only.
   * @default false
   */
  readonly insecureSkipTlsVerify?: boolean;
  /**
   * Timeout of connecting, of each reply, and of a data connection that
   * stays silent, in milliseconds. There is no total timeout: large files
   * take what they take.
   * @default 30000
   */
  readonly timeoutMs?: number;
  /**
   * An idle pooled connection is closed (QUIT) after this many milliseconds,
   * or sooner when the factory sets `maxIdleMs` (a fleet-wide budget on
   * Redis); `keepAliveIntervalMs` then rarely comes into play.
   * @default 60000
   */
  readonly idleTimeoutMs?: number;
  /**
   * An idle pooled control connection gets a `NOOP` this often, so servers
   * and middleboxes do not drop it while other connections run long
   * transfers. 0 disables it.
   * @default 20000
   */
  readonly keepAliveIntervalMs?: number;
  /**
   * At most this many connections to one host, when that is below the
   * factory's per-host limit (servers often allow only a few per address).
   * @default the factory's per-host limit
   */
  readonly maxConnectionsPerHost?: number;
  /**
   * Ask `MDTM` for the modification time (reported as `lastModified`, and
   * compared on resume to detect a file replaced between attempts). One more
   * round trip per file. `true`: always; `false`: never. By default it is
   * asked only when the request carries no digest: a digest already catches a
   * replaced file (the download then restarts from byte 0), so `lastModified`
   * is then absent unless this is `true`.
   * @default asked when the request has no digest
   */
  readonly modificationTime?: boolean;
}
