import { jsonReporter } from './json-reporter.js';
import { plainReporter } from './plain-reporter.js';
import { progressReporter, type Subscribe } from './progress-reporter.js';
import type { ReporterContext, WarningReporter } from './reporter.js';
import { warningText, type WarningRecord } from './warning-record.js';

/** How a run reports: `--json`, the live display on a terminal, or plain lines. */
export function createReporter(
  context: ReporterContext,
  mode: { readonly json: boolean; readonly progress: boolean },
  subscribe: Subscribe,
): WarningReporter {
  if (mode.json) return jsonReporter(context);
  if (mode.progress && !context.quiet && context.io.stderr.isTTY === true) {
    const live = progressReporter(context, subscribe);
    return Object.assign(live, {
      warning: (record: WarningRecord) => live.notice(warningText(record)),
    });
  }
  return plainReporter(context);
}
