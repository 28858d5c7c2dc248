/**
 * Everything `dl get` accepts, as commander hands it over (camelCase names
 * of the long options). Secrets are never values here: only the names of
 * environment variables or files that hold them.
 */
export interface GetOptions {
  readonly input?: string;
  readonly output: string;
  readonly total: number;
  readonly perHost: number;
  readonly retries: number;
  readonly sha256?: string;
  readonly json: boolean;
  readonly quiet: boolean;
  readonly strict: boolean;
  readonly progress: boolean;
  readonly connectTimeout: number;
  readonly idleTimeout: number;
  readonly maxTime?: number;
  readonly maxRedirects: number;
  readonly header: readonly string[];
  readonly headerEnv: readonly string[];
  readonly headerFile: readonly string[];
  readonly httpUser?: string;
  readonly httpPasswordEnv?: string;
  readonly httpPasswordFile?: string;
  readonly bearerTokenEnv?: string;
  readonly bearerTokenFile?: string;
  readonly authOrigin: readonly string[];
  readonly caBundle?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly keyPassphraseEnv?: string;
  readonly proxy?: string;
  readonly proxyUser?: string;
  readonly proxyPasswordEnv?: string;
  readonly proxyPasswordFile?: string;
  readonly noproxy?: string;
  readonly proxyFromEnv: boolean;
  readonly ftpUser?: string;
  readonly ftpPasswordEnv?: string;
  readonly ftpPasswordFile?: string;
  readonly ftpTls: boolean;
  readonly ftpsMode: 'implicit' | 'explicit';
  readonly sftpUser?: string;
  readonly sftpPasswordEnv?: string;
  readonly sftpPasswordFile?: string;
  readonly sshKey?: string;
  readonly sshKeyPassphraseEnv?: string;
  readonly sshAgent: boolean;
  readonly knownHosts: readonly string[];
  readonly hostFingerprint: readonly string[];
  readonly mirrorlist?: string;
  readonly metalink?: string;
  readonly mirrorStrategy: 'failover' | 'spread';
  readonly userAgent?: string;
}
