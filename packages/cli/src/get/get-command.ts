import { Command } from 'commander';
import type { CliIo } from '../cli-io.js';
import { Option } from 'commander';
import { wholeNumber } from '../option-parsers.js';
import { addTransferOptions } from '../transfer/transfer-options.js';
import type { GetOptions } from './get-options.js';

/** `dl get`, ready to add to the program; its action stores the exit status in `exit`. */
export function getCommand(io: CliIo, exit: (code: number) => void): Command {
  const command = new Command('get')
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
      'folder the files go to: a URL given here under its file name, a manifest line under its ' +
        '"path" or else its URL path (default: ".")',
    )
    .option(
      '-O, --output-file <file>',
      'write the single URL given to this file (relative to the working folder; not with -o)',
    )
    .option('--sha256 <hex>', 'expected sha256 of the single URL given')
    .option(
      '--metalink <url|file>',
      'download every file a metalink describes, failing over across its URLs',
    )
    .option(
      '--checksums <url|file>',
      'a SHA256SUMS-style list (GNU or BSD lines): download every file it names (from --from, or ' +
        'the folder of a remote list) or, for a local list without --from, check the files under -o',
    )
    .option('--from <baseurl>', 'where the files of --checksums are downloaded from')
    .option('--json', 'print one JSON line per finished download, then a summary line', false)
    .option('-q, --quiet', 'print only failures and the summary', false)
    .option(
      '--strict',
      'check the whole manifest first; any bad line stops the run (exit 2)',
      false,
    )
    .option(
      '--resync',
      'files without digests already downloaded (with --resync) are downloaded again only if the ' +
        'server says they changed (ETag/Last-Modified; FTP/SFTP size and time); validators are ' +
        'kept in .dl-validators.jsonl in each folder',
      false,
    )
    .option('--no-progress', 'no live progress display, even on a terminal')
    .option(
      '--queue <redis-url>',
      'enqueue on a fleet of "dl worker"s (redis://HOST:PORT/DB) instead of downloading here; same output',
    )
    .option('--name <queue>', 'the fleet queue with --queue (default: dl)')
    .addOption(
      new Option(
        '--split <n>',
        'connections one large file may be split over (byte ranges of one file, as aria2 -x/-s; ' +
          'each counts against --per-host); only files of 16 MiB or more from servers with ranges',
      )
        .argParser(wholeNumber(1))
        .default(1),
    );
  return addTransferOptions(command)
    .addHelpText(
      'after',
      `
Manifest lines (only "url" is required; a line holding only a URL works too):
  {"url": "https://example.com/a.rpm", "path": "a/a.rpm", "size": 16384, "digests": {"sha256": "<hex>"}}
With --mirrorlist, a relative "url" (Packages/a.rpm) is fetched from the list's mirrors.

Exit status: 0 all downloaded and valid · 1 some failed or bad lines · 2 bad usage or input
             130 stopped by SIGINT · 143 stopped by SIGTERM

Examples:
  dl get https://example.com/file.iso --sha256 <hex>        (writes ./file.iso)
  dl get https://example.com/download/ -O latest.tar.gz
  dl get https://far-mirror.example.com/os.iso --split 4
  dl get -i manifest.jsonl -o mirror/ -j 32 --per-host 4
  dl get --mirrorlist https://example.com/mirrorlist -i packages.txt -o repo/
  dl get --metalink https://example.com/file.iso.meta4 -o downloads/
  dl get --checksums https://example.com/release/SHA256SUMS -o release/
  dl get --checksums SHA256SUMS                              (checks ./ against it)
  generate-manifest | dl get -i - -o out --json > results.jsonl
  dl get -i manifest.jsonl -o /shared/mirror --queue redis://redis:6379/0 --per-host 4`,
    )
    .action(async (urls: string[], options: GetOptions) => {
      // Loaded here so `dl --help` and the other commands skip the transfer stack.
      const { runGet } = await import('./run-get.js');
      exit(await runGet(urls, options, io));
    });
}
