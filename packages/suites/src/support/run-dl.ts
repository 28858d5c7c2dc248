// The cli package's own helpers run the built `dl`; the suites share them.
export { DL_BIN, runDl, startDl, type DlRun, type RunningDl } from '../../../cli/test/run-dl.js';

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
