import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built bin the tests run. */
export const DL_BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/** What a finished `dl` run printed and how it exited. */
export interface DlRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link startDl}. */
export interface StartDlOptions {
  readonly cwd: string;
  /** Written to stdin, which is then closed. @default nothing (stdin closed) */
  readonly stdin?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Kill the run after this long. @default 45000 */
  readonly timeoutMs?: number;
}

/** A `dl` child process; `done` settles when it exits. */
export interface RunningDl {
  readonly child: ChildProcess;
  readonly done: Promise<DlRun>;
  /** Everything it printed so far. */
  output(): { stdout: string; stderr: string };
}

/** Starts the built `dl` with `args`. */
export function startDl(args: readonly string[], options: StartDlOptions): RunningDl {
  const child = spawn(process.execPath, [DL_BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  child.stdin!.on('error', () => {});
  child.stdin!.end(options.stdin ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 45_000);
  const done = new Promise<DlRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, done, output: () => ({ stdout, stderr }) };
}

/** Runs the built `dl` with `args` to its end. */
export function runDl(args: readonly string[], options: StartDlOptions): Promise<DlRun> {
  return startDl(args, options).done;
}

/** The JSON lines of a `--json` run: the records, then the summary. */
export function parseJsonOutput(stdout: string): {
  records: Record<string, unknown>[];
  summary: Record<string, number | string>;
} {
  const lines = stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const last = lines.pop();
  if (last === undefined || typeof last.summary !== 'object') {
    throw new Error(`no summary line in:\n${stdout}`);
  }
  return { records: lines, summary: last.summary as Record<string, number | string> };
}
