import { Command, Option } from 'commander';
import type { CliIo } from '../cli-io.js';
import { seconds, wholeNumber } from '../option-parsers.js';
import { addTransferOptions } from '../transfer/transfer-options.js';
import type { ServeOptions } from './serve-options.js';

/** `dl serve`, ready to add to the program; its action stores the exit status in `exit`. */
export function serveCommand(io: CliIo, exit: (code: number) => void): Command {
  const command = new Command('serve')
    .summary('serve a catalog of remote files over HTTP, downloading on demand')
    .description(
      'Serve the paths of a catalog over HTTP. A request downloads the file it maps to on demand ' +
        '(identical concurrent requests share one download), streams it to the client while it is ' +
        'validated, and with --cache keeps a validated copy for the next request. A download that ' +
        'fails before its first byte is answered with an error status; after it, the response is cut.',
    )
    .requiredOption('--catalog <file>', 'JSON Lines of {"path", "url", "size", "digests"}')
    .option('--port <n>', 'port to listen on (0 picks a free one)', wholeNumber(0), 8080)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--cache <dir>', 'keep validated copies here and serve later requests from them')
    .addOption(
      new Option('--grace <seconds>', 'on SIGTERM, how long responses in flight may take to finish')
        .argParser(seconds)
        // Parsed to milliseconds; the help shows what the user types.
        .default(10_000, '10'),
    )
    .addOption(
      new Option(
        '--upstream <n>',
        'downloads this server starts at once (default: -j); more requests wait in a queue',
      ).argParser(wholeNumber(1)),
    )
    .option(
      '--upstream-queue <n>',
      'requests waiting for an upstream download at most; beyond it, 503 with Retry-After',
      wholeNumber(0),
      1000,
    )
    .addOption(
      new Option(
        '--upstream-wait <seconds>',
        'longest wait in that queue before 503 with Retry-After (that many seconds)',
      )
        .argParser(seconds)
        .default(30_000, '30'),
    )
    .option('--strict', 'refuse to start when the catalog has a bad line (exit 2)', false);
  return addTransferOptions(command)
    .addHelpText(
      'after',
      `
Catalog lines:
  {"path": "repo/a.rpm", "url": "https://example.com/a.rpm", "size": 16384, "digests": {"sha256": "<hex>"}}
GET /repo/a.rpm then serves that file (HEAD and a single Range work too).

The first line on stdout says where it listens; then one access log line per request.
SIGTERM or SIGINT stop accepting, let responses in flight finish (--grace), and exit 0.

Examples:
  dl serve --catalog catalog.jsonl --port 8080 --cache /var/cache/dl`,
    )
    .action(async (options: ServeOptions) => {
      const { runServe } = await import('./run-serve.js');
      exit(await runServe(options, io));
    });
}
