import type { SystemUser } from './system-user.js';

/** How {@link startVsftpd} configures its vsftpd. */
export interface VsftpdOptions {
  /** Allow anonymous logins (user `anonymous` or `ftp`, any password). @default true */
  readonly anonymous?: boolean;
  /**
   * A local (system) user that may log in with a password. Created with
   * `useradd` when missing, which needs root. @default none
   */
  readonly user?: SystemUser;
  /**
   * FTPS: `'explicit'` (AUTH TLS on the normal port, TLS required for login
   * and data) or `'implicit'` (TLS from the first byte). A certificate is
   * generated with openssl. @default false
   */
  readonly tls?: false | 'explicit' | 'implicit';
  /** Bytes per second per session (vsftpd's `anon_max_rate` and `local_max_rate`); 0 is unlimited. @default 0 */
  readonly maxRate?: number;
  /** Connections allowed per client address (`max_per_ip`); more get "421". 0 is unlimited. @default 0 */
  readonly maxPerIp?: number;
  /** Connections allowed in all (`max_clients`); more get "421". 0 is unlimited. @default 0 */
  readonly maxClients?: number;
  /** Size of the passive port range (one port per transfer in flight). @default 64 */
  readonly passivePorts?: number;
  /** Seconds an idle control connection lives (`idle_session_timeout`). @default 300 */
  readonly idleSessionTimeout?: number;
  /** Extra `key=value` lines for vsftpd.conf, applied last. @default {} */
  readonly config?: Readonly<Record<string, string | number | boolean>>;
}
