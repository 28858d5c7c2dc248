import { paletteFor } from './colors.js';
import { OrderedOutput } from './ordered-output.js';
import type { ReporterContext, WarningReporter } from './reporter.js';
import { summaryText } from './summary-text.js';

/**
 * `--json`: one JSON line per finished entry on stdout, then one summary line
 * (`{"summary": {...}}`). Warnings are lines of their own (`{"warning": {...}}`).
 * Notices and the human summary go to stderr (as in every mode, `--quiet`
 * included), so stdout stays parseable.
 */
export function jsonReporter({ io, tally }: ReporterContext): WarningReporter {
  const print = new OrderedOutput();
  return {
    finished: (record) => print.write(io.stdout, `${JSON.stringify(record)}\n`),
    notice: (message) => print.write(io.stderr, `dl: ${message}\n`),
    warning: (record) => print.write(io.stdout, `${JSON.stringify({ warning: record })}\n`),
    close() {
      const endedAt = Date.now();
      print.write(io.stdout, `${JSON.stringify(tally.toJSON(endedAt))}\n`);
      print.write(io.stderr, summaryText(tally, paletteFor(io.stderr), endedAt));
      print.flush();
    },
  };
}
