import { OrderedOutput } from './ordered-output.js';
import type { ReporterContext, WarningReporter } from './reporter.js';

/**
 * `--json`: one JSON line per finished entry on stdout, then one summary line
 * (`{"summary": {...}}`). Warnings are lines of their own (`{"warning": {...}}`).
 * Notices go to stderr so stdout stays parseable.
 */
export function jsonReporter({ io, tally }: ReporterContext): WarningReporter {
  const print = new OrderedOutput();
  return {
    finished: (record) => print.write(io.stdout, `${JSON.stringify(record)}\n`),
    notice: (message) => print.write(io.stderr, `dl: ${message}\n`),
    warning: (record) => print.write(io.stdout, `${JSON.stringify({ warning: record })}\n`),
    close() {
      print.write(io.stdout, `${JSON.stringify(tally)}\n`);
      print.flush();
    },
  };
}
