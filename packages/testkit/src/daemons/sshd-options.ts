/** How {@link startSshd} configures its sshd. */
export interface SshdOptions {
  /**
   * The login clients use. When a password is given (or the name is not the
   * current user's) the system user is created with `useradd`, which needs
   * root. @default the current user, key authentication only
   */
  readonly user?: { readonly name: string; readonly password?: string };
  /** Host key algorithm of the generated host key. @default 'ed25519' */
  readonly hostKeyType?: 'ed25519' | 'ecdsa' | 'rsa';
  /** Encrypt the generated user key with this passphrase. @default unencrypted */
  readonly userKeyPassphrase?: string;
  /** Sessions allowed at once per connection (`MaxSessions`). @default 10 */
  readonly maxSessions?: number;
  /** Unauthenticated connections allowed at once (`MaxStartups`). @default '100' */
  readonly maxStartups?: string;
  /** Extra `Keyword value` lines for sshd_config, applied first (sshd keeps the first value). @default {} */
  readonly config?: Readonly<Record<string, string | number>>;
}
