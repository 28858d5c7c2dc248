#!/usr/bin/env node
import { ExitCodes } from './exit-codes.js';
import { runCli } from './program.js';

// Ctrl-C stops the run cleanly (transfers aborted, temp files removed, the
// summary printed); a second Ctrl-C means "now".
const stop = new AbortController();
let signals = 0;
let urgentStop: (() => void) | undefined;
const onSignal = (name: 'SIGINT' | 'SIGTERM') => {
  signals++;
  if (signals > 1 && urgentStop !== undefined) urgentStop();
  else if (signals > 1 && name === 'SIGINT') process.exit(ExitCodes.Interrupted);
  stop.abort(name);
};
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));
// `dl get … | head` closes our stdout early: that is not a failure to report.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? ExitCodes.Ok);
  throw error;
});

const code = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: process.cwd(),
  signal: stop.signal,
  onUrgentStop: (handler) => (urgentStop = handler),
  boundHeap: true,
});
process.exitCode = code;
// Everything was closed; exit rather than wait on a handle someone else forgot.
process.stdout.write('', () => process.exit(code));
