import { OrderedOutput } from './ordered-output.js';
import type { Reporter, ReporterContext } from './reporter.js';

/**
 * `--json`: one JSON line per finished entry on stdout, then one summary line
 * (`{"summary": {...}}`). Notices go to stderr so stdout stays parseable.
 */
export function jsonReporter({ io, tally }: ReporterContext): Reporter {
  const print = new OrderedOutput();
  return {
    finished: (record) => print.write(io.stdout, `${JSON.stringify(record)}\n`),
    notice: (message) => print.write(io.stderr, `dl: ${message}\n`),
    close() {
      print.write(io.stdout, `${JSON.stringify(tally)}\n`);
      print.flush();
    },
  };
}
