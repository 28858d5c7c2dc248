import { jsonReporter } from './json-reporter.js';
import { plainReporter } from './plain-reporter.js';
import { progressReporter, type Subscribe } from './progress-reporter.js';
import type { Reporter, ReporterContext } from './reporter.js';

/** How a run reports: `--json`, the live display on a terminal, or plain lines. */
export function createReporter(
  context: ReporterContext,
  mode: { readonly json: boolean; readonly progress: boolean },
  subscribe: Subscribe,
): Reporter {
  if (mode.json) return jsonReporter(context);
  if (mode.progress && !context.quiet && context.io.stderr.isTTY === true) {
    return progressReporter(context, subscribe);
  }
  return plainReporter(context);
}
