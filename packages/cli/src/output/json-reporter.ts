import type { Reporter, ReporterContext } from './reporter.js';

/**
 * `--json`: one JSON line per finished entry on stdout, then one summary line
 * (`{"summary": {...}}`). Notices go to stderr so stdout stays parseable.
 */
export function jsonReporter({ io, tally }: ReporterContext): Reporter {
  return {
    finished: (record) => void io.stdout.write(`${JSON.stringify(record)}\n`),
    notice: (message) => void io.stderr.write(`dl: ${message}\n`),
    close: () => void io.stdout.write(`${JSON.stringify(tally)}\n`),
  };
}
