import { paletteFor } from './colors.js';
import { recordLine } from './record-line.js';
import type { Reporter, ReporterContext } from './reporter.js';
import { summaryText } from './summary-text.js';

/**
 * Without a terminal (or with `--no-progress`): a line per finished file on
 * stdout, failures on stderr, the summary on stderr.
 */
export function plainReporter({ io, tally, quiet }: ReporterContext): Reporter {
  const out = paletteFor(io.stdout);
  const err = paletteFor(io.stderr);
  return {
    finished(record, badLine) {
      if (!record.ok) io.stderr.write(recordLine(record, err, badLine));
      else if (!quiet) io.stdout.write(recordLine(record, out));
    },
    notice: (message) => void io.stderr.write(`dl: ${message}\n`),
    close: () => void io.stderr.write(summaryText(tally, err)),
  };
}
