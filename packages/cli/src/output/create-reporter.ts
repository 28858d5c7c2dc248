import { jsonReporter } from './json-reporter.js';
import { plainReporter } from './plain-reporter.js';
import type { Subscribe } from './progress-reporter.js';
import type { ReporterContext, WarningReporter } from './reporter.js';
import { warningText, type WarningRecord } from './warning-record.js';

/**
 * How a run reports: `--json`, the live display on a terminal, or plain lines.
 * The live display (and cli-progress) is imported only when a terminal shows it.
 */
export async function createReporter(
  context: ReporterContext,
  mode: { readonly json: boolean; readonly progress: boolean },
  subscribe: Subscribe,
): Promise<WarningReporter> {
  if (mode.json) return jsonReporter(context);
  if (mode.progress && !context.quiet && context.io.stderr.isTTY === true) {
    const { progressReporter } = await import('./progress-reporter.js');
    const live = progressReporter(context, subscribe);
    return Object.assign(live, {
      warning: (record: WarningRecord) => live.notice(warningText(record)),
    });
  }
  return plainReporter(context);
}
