import { paletteFor } from './colors.js';
import { OrderedOutput } from './ordered-output.js';
import { recordLine } from './record-line.js';
import type { ReporterContext, WarningReporter } from './reporter.js';
import { summaryText } from './summary-text.js';
import { warningText } from './warning-record.js';

/**
 * Without a terminal (or with `--no-progress`): a line per finished file on
 * stdout, failures on stderr, the summary on stderr.
 */
export function plainReporter({ io, tally, quiet }: ReporterContext): WarningReporter {
  const out = paletteFor(io.stdout);
  const err = paletteFor(io.stderr);
  const print = new OrderedOutput();
  return {
    finished(record, badLine) {
      if (!record.ok) print.write(io.stderr, recordLine(record, err, badLine));
      else if (!quiet) print.write(io.stdout, recordLine(record, out));
    },
    notice: (message) => print.write(io.stderr, `dl: ${message}\n`),
    warning: (record) => print.write(io.stderr, `dl: ${warningText(record)}\n`),
    close() {
      print.write(io.stderr, summaryText(tally, err));
      print.flush();
    },
  };
}
