import { Option, type Command } from 'commander';
import { byteRate, collect, seconds, wholeNumber } from '../option-parsers.js';

/**
 * The options `dl get` and `dl serve` share: limits, retries, timeouts and
 * everything the adapters need, as commander hands them over (camelCase
 * names of the long options). Secrets are never values here: only the names
 * of environment variables or files that hold them.
 */
export interface TransferOptions {
  readonly total: number;
  readonly perHost: number;
  /** Bytes per second, all transfers together. */
  readonly limitRate?: number;
  /** Bytes per second per host. */
  readonly limitRatePerHost?: number;
  readonly retries: number;
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
  /** Negotiate HTTP/2 with https servers; `--per-host` then counts connections carrying many streams. */
  readonly http2: boolean;
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
  readonly mirrorStrategy: 'failover' | 'spread';
  readonly userAgent?: string;
}

/** Adds the {@link TransferOptions} to a command, grouped in its help. */
export function addTransferOptions(command: Command): Command {
  const group = (title: string, options: Option[]) => {
    for (const option of options) command.addOption(option.helpGroup(title));
  };
  group('Limits and retries:', [
    new Option('-j, --total <n>', 'downloads at once, across all hosts')
      .argParser(wholeNumber(1))
      .default(16),
    new Option('--per-host <n>', 'connections at once to one host (a hard cap)')
      .argParser(wholeNumber(1))
      .default(8),
    new Option(
      '--limit-rate <rate>',
      'bytes per second for all downloads together, e.g. 500K, 2M, 1.5M (1024-based; default: none)',
    ).argParser(byteRate),
    new Option(
      '--limit-rate-per-host <rate>',
      'bytes per second per host, shared by its downloads (default: none)',
    ).argParser(byteRate),
    new Option('--retries <n>', 'retries of a failed download (with backoff and resume)')
      .argParser(wholeNumber(0))
      .default(4),
    new Option('--connect-timeout <seconds>', 'connecting, TLS included')
      .argParser(seconds)
      .default(10_000, '10'),
    new Option('--idle-timeout <seconds>', 'longest silence while waiting for a response or data')
      .argParser(seconds)
      .default(30_000, '30'),
    new Option(
      '--max-time <seconds>',
      'one whole attempt of one download (default: none)',
    ).argParser(seconds),
    new Option('--max-redirects <n>', 'HTTP redirects followed per attempt')
      .argParser(wholeNumber(0))
      .default(10),
  ]);
  group('HTTP(S):', [
    new Option('-H, --header <header>', 'header "Name: value" (repeatable; not for credentials)')
      .argParser(collect)
      .default([], 'none'),
    new Option(
      '--header-env <name=VAR>',
      'header whose value is in environment variable VAR (repeatable)',
    )
      .argParser(collect)
      .default([], 'none'),
    new Option('--header-file <name=FILE>', 'header whose value is in FILE (repeatable)')
      .argParser(collect)
      .default([], 'none'),
    new Option('--http-user <name>', 'basic auth user'),
    new Option('--http-password-env <VAR>', 'basic auth password from environment variable VAR'),
    new Option('--http-password-file <file>', 'basic auth password from FILE'),
    new Option('--bearer-token-env <VAR>', 'bearer token from environment variable VAR'),
    new Option('--bearer-token-file <file>', 'bearer token from FILE'),
    new Option(
      '--auth-origin <origin>',
      'origin credentials are sent to (repeatable; required with a manifest or catalog)',
    )
      .argParser(collect)
      .default([], 'the origins of the URLs given'),
    new Option(
      '--http2',
      'negotiate HTTP/2 with https servers (ALPN): --per-host then counts connections, each carrying up to 100 transfers (-j still caps the total)',
    ).default(false),
    new Option(
      '--ca-bundle <file>',
      'PEM certificate authorities to trust instead of the system ones (HTTPS and FTPS)',
    ),
    new Option('--cert <file>', 'PEM client certificate'),
    new Option('--key <file>', 'PEM private key of --cert'),
    new Option('--key-passphrase-env <VAR>', 'passphrase of --key from environment variable VAR'),
    new Option('--proxy <url>', 'forward proxy, http://host:port (no password in it)'),
    new Option('--proxy-user <name>', 'proxy user'),
    new Option('--proxy-password-env <VAR>', 'proxy password from environment variable VAR'),
    new Option('--proxy-password-file <file>', 'proxy password from FILE'),
    new Option('--noproxy <hosts>', 'comma-separated hosts reached without the proxy'),
    new Option(
      '--proxy-from-env',
      'take HTTP_PROXY, HTTPS_PROXY and NO_PROXY from the environment',
    ).default(false),
    new Option('--user-agent <text>', 'appended to the dl/<version> User-Agent'),
  ]);
  group('FTP(S):', [
    new Option('--ftp-user <name>', 'user for URLs without one (default: anonymous)'),
    new Option('--ftp-password-env <VAR>', 'password from environment variable VAR'),
    new Option('--ftp-password-file <file>', 'password from FILE'),
    new Option('--ftp-tls', 'require explicit TLS (AUTH TLS) on ftp: URLs').default(false),
    new Option('--ftps-mode <mode>', 'how ftps: URLs are secured')
      .choices(['implicit', 'explicit'])
      .default('implicit'),
  ]);
  group('SFTP:', [
    new Option('--sftp-user <name>', 'user for URLs without one (default: the local user)'),
    new Option('--sftp-password-env <VAR>', 'password from environment variable VAR'),
    new Option('--sftp-password-file <file>', 'password from FILE'),
    new Option('--ssh-key <file>', 'private key for public key authentication'),
    new Option(
      '--ssh-key-passphrase-env <VAR>',
      'passphrase of --ssh-key from environment variable VAR',
    ),
    new Option('--ssh-agent', 'authenticate with the ssh-agent at SSH_AUTH_SOCK').default(false),
    new Option('--known-hosts <file>', 'known_hosts file of trusted host keys (repeatable)')
      .argParser(collect)
      .default([], '~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts'),
    new Option('--host-fingerprint <host=SHA256:...>', 'pinned host key fingerprint (repeatable)')
      .argParser(collect)
      .default([], 'none'),
  ]);
  group('Mirrors:', [
    new Option(
      '--mirrorlist <url|file>',
      'mirror list or metalink: relative URLs and mirror://mirrors/PATH fail over across its mirrors',
    ),
    new Option('--mirror-strategy <strategy>', 'how mirrors share the files')
      .choices(['failover', 'spread'])
      .default('failover'),
  ]);
  return command;
}
