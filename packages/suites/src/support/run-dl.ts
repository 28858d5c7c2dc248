// The cli package's own helpers run the built `dl`; the suites share them.
export { DL_BIN, runDl, startDl, type DlRun, type RunningDl } from '../../../cli/test/run-dl.js';

/**
 * The JSON lines of a `--json` run: one record per download, `{"warning"}` lines
 * about the run (before or between the records), then the summary.
 */
export function jsonLines(stdout: string): {
  records: Record<string, unknown>[];
  warnings: Record<string, unknown>[];
  summary: Record<string, unknown> | undefined;
} {
  const lines = stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const warnings = lines
    .filter((line) => typeof line.warning === 'object')
    .map((line) => line.warning as Record<string, unknown>);
  const rest = lines.filter((line) => typeof line.warning !== 'object');
  const last = rest.at(-1);
  if (last !== undefined && typeof last.summary === 'object') {
    return {
      records: rest.slice(0, -1),
      warnings,
      summary: last.summary as Record<string, unknown>,
    };
  }
  return { records: rest, warnings, summary: undefined };
}
