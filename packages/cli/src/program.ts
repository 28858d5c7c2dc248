import { Command, CommanderError } from 'commander';
import type { CliIo } from './cli-io.js';
import { ExitCodes, UsageError } from './exit-codes.js';
import { getCommand } from './get/get-command.js';
import { serveCommand } from './serve/serve-command.js';
import { workerCommand } from './worker/worker-command.js';
import { VERSION } from './version.js';

/**
 * Runs `dl` with `argv` (the arguments after the program name, e.g.
 * `['get', '-i', 'list.jsonl']`) and resolves with the exit status. Never
 * throws for bad usage: it prints why on `io.stderr` and resolves 2.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let status: number = ExitCodes.Ok;
  const exit = (code: number) => {
    status = code;
  };
  const program = new Command('dl')
    .description('Download files over file:, HTTP(S), FTP(S) and SFTP, validating every one.')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for the command')
    .helpCommand('help [command]', 'show help for a command')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
    });
  program.addCommand(configure(getCommand(io, exit), io));
  program.addCommand(configure(serveCommand(io, exit), io));
  program.addCommand(configure(workerCommand(io, exit), io));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return status;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are successes; everything else commander rejects is bad usage.
      return error.exitCode === 0 ? ExitCodes.Ok : ExitCodes.Usage;
    }
    if (error instanceof UsageError) {
      io.stderr.write(`dl: ${error.message}\n`);
      return ExitCodes.Usage;
    }
    // Only failures need the core (redaction, its error type): `dl --help` skips loading it.
    const { DownloadError, redactText } = await import('@dl/core');
    if (DownloadError.isInstance(error) && error.code === 'invalid-request') {
      io.stderr.write(`dl: ${error.message}\n`);
      return ExitCodes.Usage;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`dl: unexpected failure: ${redactText(message)}\n`);
    return ExitCodes.SomeFailed;
  }
}

function configure(command: Command, io: CliIo): Command {
  return command
    .exitOverride()
    .showHelpAfterError('(run "dl help ' + command.name() + '" for usage)')
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
    });
}
