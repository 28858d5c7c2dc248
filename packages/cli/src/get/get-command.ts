import { Command, Option } from 'commander';
import type { CliIo } from '../cli-io.js';
import { collect, seconds, wholeNumber } from '../option-parsers.js';
import type { GetOptions } from './get-options.js';
import { runGet } from './run-get.js';

/** `dl get`, ready to add to the program; its action stores the exit status in `exit`. */
export function getCommand(io: CliIo, exit: (code: number) => void): Command {
  return new Command('get')
    .summary('download URLs and manifests, validating every file')
    .description(
      'Download URLs and/or the lines of a manifest (JSON Lines, or one URL per line) into a folder. ' +
        'Every file is written to a temp file and renamed into place only after its size and ' +
        'digests validated. A file already at its destination with the expected digests is skipped.',
    )
    .argument(
      '[url...]',
      'URLs to download (file:, http:, https:, ftp:, ftps:, sftp:; relative with --mirrorlist)',
    )
    .option('-i, --input <manifest>', 'read downloads from a manifest file, or - for stdin')
    .option(
      '-o, --output <dir>',
      'folder the files go to (joined with each line\'s "path", or the URL path)',
      '.',
    )
    .option('-j, --total <n>', 'downloads at once, across all hosts', wholeNumber(1), 16)
    .option('--per-host <n>', 'connections at once to one host (a hard cap)', wholeNumber(1), 8)
    .option(
      '--retries <n>',
      'retries of a failed download (with backoff and resume)',
      wholeNumber(0),
      4,
    )
    .option('--sha256 <hex>', 'expected sha256 of the single URL given')
    .option('--json', 'print one JSON line per finished download, then a summary line', false)
    .option('-q, --quiet', 'print only failures and the summary', false)
    .option(
      '--strict',
      'check the whole manifest first; any bad line stops the run (exit 2)',
      false,
    )
    .option('--no-progress', 'no live progress display, even on a terminal')
    .option('--connect-timeout <seconds>', 'connecting, TLS included', seconds, 10_000)
    .option(
      '--idle-timeout <seconds>',
      'longest silence while waiting for a response or data',
      seconds,
      30_000,
    )
    .option('--max-time <seconds>', 'one whole attempt of one download (default: none)', seconds)
    .option('--max-redirects <n>', 'HTTP redirects followed per attempt', wholeNumber(0), 10)
    .option(
      '-H, --header <header>',
      'HTTP header "Name: value" (repeatable; not for credentials)',
      collect,
      [],
    )
    .option(
      '--header-env <name=VAR>',
      'HTTP header whose value is in environment variable VAR (repeatable)',
      collect,
      [],
    )
    .option(
      '--header-file <name=FILE>',
      'HTTP header whose value is in FILE (repeatable)',
      collect,
      [],
    )
    .option('--http-user <name>', 'HTTP basic auth user')
    .option('--http-password-env <VAR>', 'HTTP basic auth password from environment variable VAR')
    .option('--http-password-file <file>', 'HTTP basic auth password from FILE')
    .option('--bearer-token-env <VAR>', 'HTTP bearer token from environment variable VAR')
    .option('--bearer-token-file <file>', 'HTTP bearer token from FILE')
    .option(
      '--auth-origin <origin>',
      'origin HTTP credentials are sent to (repeatable; default: the origins of the URLs given; required with -i)',
      collect,
      [],
    )
    .option(
      '--ca-bundle <file>',
      'PEM certificate authorities to trust for HTTPS and FTPS instead of the system ones',
    )
    .option('--cert <file>', 'PEM client certificate for HTTPS')
    .option('--key <file>', 'PEM private key of --cert')
    .option('--key-passphrase-env <VAR>', 'passphrase of --key from environment variable VAR')
    .option('--proxy <url>', 'HTTP(S) forward proxy, http://host:port (no password in it)')
    .option('--proxy-user <name>', 'proxy user')
    .option('--proxy-password-env <VAR>', 'proxy password from environment variable VAR')
    .option('--proxy-password-file <file>', 'proxy password from FILE')
    .option('--noproxy <hosts>', 'comma-separated hosts reached without the proxy')
    .option(
      '--proxy-from-env',
      'take HTTP_PROXY, HTTPS_PROXY and NO_PROXY from the environment',
      false,
    )
    .option('--ftp-user <name>', 'FTP user for URLs without one (default: anonymous)')
    .option('--ftp-password-env <VAR>', 'FTP password from environment variable VAR')
    .option('--ftp-password-file <file>', 'FTP password from FILE')
    .option('--ftp-tls', 'require explicit TLS (AUTH TLS) on ftp: URLs', false)
    .addOption(
      new Option('--ftps-mode <mode>', 'how ftps: URLs are secured')
        .choices(['implicit', 'explicit'])
        .default('implicit'),
    )
    .option('--sftp-user <name>', 'SFTP user for URLs without one (default: the local user)')
    .option('--sftp-password-env <VAR>', 'SFTP password from environment variable VAR')
    .option('--sftp-password-file <file>', 'SFTP password from FILE')
    .option('--ssh-key <file>', 'private key for SFTP public key authentication')
    .option(
      '--ssh-key-passphrase-env <VAR>',
      'passphrase of --ssh-key from environment variable VAR',
    )
    .option('--ssh-agent', 'authenticate SFTP with the ssh-agent at SSH_AUTH_SOCK', false)
    .option(
      '--known-hosts <file>',
      'known_hosts file trusted for SFTP host keys (repeatable; default: ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts)',
      collect,
      [],
    )
    .option(
      '--host-fingerprint <host=SHA256:...>',
      'pinned SFTP host key fingerprint (repeatable)',
      collect,
      [],
    )
    .option(
      '--mirrorlist <url|file>',
      'mirror list or metalink: relative URLs and mirror://mirrors/PATH fail over across its mirrors',
    )
    .option(
      '--metalink <url|file>',
      'download every file a metalink describes, failing over across its URLs',
    )
    .addOption(
      new Option('--mirror-strategy <strategy>', 'how mirrors share the files')
        .choices(['failover', 'spread'])
        .default('failover'),
    )
    .option('--user-agent <text>', 'appended to the dl/<version> User-Agent')
    .addHelpText(
      'after',
      `
Manifest lines (only "url" is required; a line holding only a URL works too):
  {"url": "https://example.com/a.rpm", "path": "a/a.rpm", "size": 16384, "digests": {"sha256": "<hex>"}}
With --mirrorlist, a relative "url" (Packages/a.rpm) is fetched from the list's mirrors.

Exit status: 0 all downloaded and valid · 1 some failed or bad lines · 2 bad usage or input
             130 stopped by SIGINT · 143 stopped by SIGTERM

Examples:
  dl get https://example.com/file.iso --sha256 <hex>
  dl get -i manifest.jsonl -o mirror/ -j 32 --per-host 4
  dl get --mirrorlist https://example.com/mirrorlist -i packages.txt -o repo/
  dl get --metalink https://example.com/file.iso.meta4 -o downloads/
  generate-manifest | dl get -i - -o out --json > results.jsonl`,
    )
    .action(async (urls: string[], options: GetOptions) => {
      exit(await runGet(urls, options, io));
    });
}
