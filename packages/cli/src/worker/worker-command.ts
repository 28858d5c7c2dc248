import { Command, Option } from 'commander';
import type { CliIo } from '../cli-io.js';
import { seconds, wholeNumber } from '../option-parsers.js';
import type { WorkerOptions } from './worker-options.js';

/** `dl worker`, ready to add to the program; its action stores the exit status in `exit`. */
export function workerCommand(io: CliIo, exit: (code: number) => void): Command {
  return new Command('worker')
    .summary('run chunks of the downloads queued by "dl get --queue"')
    .description(
      'Take chunks of queued downloads from a fleet queue on Redis and run them with this ' +
        "machine's adapters (file:, HTTP(S), FTP(S), SFTP, mirror lists), under the per-host " +
        'limits of the run, shared by every worker of the fleet. Each file is validated and ' +
        'renamed into place as in "dl get". Runs until SIGINT or SIGTERM: the first lets the ' +
        'chunks in flight finish, a second hands them back to the queue at once.',
    )
    .addOption(
      new Option(
        '--queue <redis-url>',
        'the fleet Redis, redis://HOST:PORT/DB',
      ).makeOptionMandatory(),
    )
    .option('--name <queue>', 'the fleet queue (default: dl)')
    .addOption(
      new Option(
        '-j, --total <n>',
        "downloads at once in this worker (default: the run's -j)",
      ).argParser(wholeNumber(1)),
    )
    .addOption(
      new Option('--chunks <n>', 'chunks of 100 files run at once')
        .argParser(wholeNumber(1))
        .default(1),
    )
    .addOption(
      new Option(
        '--lock-duration <seconds>',
        "how long a chunk stays locked without renewal: a dead worker's chunks are redone about this long after it died",
      )
        .argParser(seconds)
        .default(30_000, '30'),
    )
    .addHelpText(
      'after',
      `
Credentials come by reference: set the environment variables and files the run names
(--bearer-token-env, --ftp-password-file, ...) on every worker. The destination (-o of
"dl get") must be storage every worker sees at the same path.

Exit status: 0 stopped by SIGINT/SIGTERM · 2 bad usage

Example:
  dl worker --queue redis://redis.internal:6379/0 --chunks 2`,
    )
    .action(async (options: WorkerOptions) => {
      const { runWorker } = await import('./run-worker.js');
      exit(await runWorker(options, io));
    });
}
