import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built `dl` (see build-cli.ts). */
export const DL_BIN = fileURLToPath(new URL('../../../cli/dist/bin.js', import.meta.url));

/** How a `dl` run ended and what it printed. */
export interface DlRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running `dl`; `done` settles when it exits. */
export interface RunningDl {
  readonly child: ChildProcess;
  readonly done: Promise<DlRun>;
  /** Everything printed so far. */
  output(): { stdout: string; stderr: string };
}

/** Starts the built `dl` with `args` in `cwd` (stdin closed, or fed `stdin`). Killed after `timeoutMs`. */
export function startDl(
  args: readonly string[],
  options: {
    readonly cwd: string;
    readonly stdin?: string;
    readonly env?: Readonly<Record<string, string>>;
    readonly timeoutMs?: number;
  },
): RunningDl {
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
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const done = new Promise<DlRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, done, output: () => ({ stdout, stderr }) };
}

/** Runs the built `dl` to its end. */
export function runDl(
  args: readonly string[],
  options: Parameters<typeof startDl>[1],
): Promise<DlRun> {
  return startDl(args, options).done;
}

/** The JSON lines of a `--json` run: one record per download, then the summary. */
export function jsonLines(stdout: string): {
  records: Record<string, unknown>[];
  summary: Record<string, unknown> | undefined;
} {
  const lines = stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const last = lines.at(-1);
  if (last !== undefined && typeof last.summary === 'object') {
    return { records: lines.slice(0, -1), summary: last.summary as Record<string, unknown> };
  }
  return { records: lines, summary: undefined };
}
