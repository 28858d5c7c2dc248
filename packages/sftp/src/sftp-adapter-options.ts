import type { SecretInput } from '@dl/core';

/**
 * Options of the {@link sftp} adapter. Plain data: the whole object can be
 * written as JSON (secrets by reference) and passed to `sftp()` in another
 * process.
 */
export interface SftpAdapterOptions {
  /** Login for URLs without a user. A URL's own `user@` wins. @default the local user's name */
  readonly username?: string;
  /** Password authentication. A URL's `user:password@` wins. Never appears in errors or logs. @default none */
  readonly password?: SecretInput;
  /** A private key (OpenSSH or PEM text; `{ file }` to read one) for public key authentication. @default none */
  readonly privateKey?: SecretInput;
  /** Passphrase of an encrypted {@link privateKey}. @default none */
  readonly passphrase?: SecretInput;
  /**
   * An ssh-agent to authenticate with: its socket path, `{ env: 'NAME' }`
   * for a variable holding the path, or `true` for `SSH_AUTH_SOCK`.
   * @default none
   */
  readonly agent?: string | { readonly env: string } | true;
  /**
   * `known_hosts` files (OpenSSH format: plain and hashed host names,
   * `[host]:port`, wildcards, `@revoked`) that say which host keys to trust.
   * Files that do not exist count as empty.
   * @default ['~/.ssh/known_hosts', '/etc/ssh/ssh_known_hosts']
   */
  readonly knownHosts?: string | readonly string[];
  /**
   * Pinned host key fingerprints (`SHA256:…` as `ssh-keygen -lf` prints
   * them) by `host`, `host:port` or `[host]:port`. Trusted next to the
   * known_hosts entries.
   * @default {}
   */
  readonly hostFingerprints?: Readonly<Record<string, string | readonly string[]>>;
  /**
   * Accept any host key without checking it. This disables the only
   * protection SSH has against a man in the middle, who then sees every
   * password and every byte. For tests only.
   * @default false
   */
  readonly insecureSkipHostKeyCheck?: boolean;
  /** Time to connect, exchange keys and authenticate, in milliseconds. @default 20000 */
  readonly readyTimeoutMs?: number;
  /** SSH keep-alive interval on every connection, in milliseconds; 0 disables it. @default 15000 */
  readonly keepAliveIntervalMs?: number;
  /**
   * An idle pooled connection is closed after this many milliseconds, or
   * sooner when the factory sets `maxIdleMs` (a fleet-wide budget on Redis).
   * @default 60000
   */
  readonly idleTimeoutMs?: number;
  /**
   * At most this many connections to one host, when that is below the
   * factory's per-host limit (sshd's `MaxStartups` refuses bursts).
   * @default the factory's per-host limit
   */
  readonly maxConnectionsPerHost?: number;
  /** Bytes asked for per SFTP read request (and buffered ahead of the reader). @default 65536 */
  readonly chunkSize?: number;
}
