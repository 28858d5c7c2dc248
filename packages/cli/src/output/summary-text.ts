import type { Palette } from './colors.js';
import { formatBytes, formatDuration, plural } from './format.js';
import type { Tally } from './tally.js';

/** The one-paragraph summary every run without `--json` ends with. */
export function summaryText(tally: Tally, paint: Palette): string {
  const elapsed = Date.now() - tally.startedAt;
  const parts: string[] = [];
  const okText = `${plural(tally.ok, 'file')} ok`;
  const detail: string[] = [`${tally.downloaded} downloaded`];
  if (tally.skipped > 0) detail.push(`${tally.skipped} already valid`);
  parts.push(
    `${tally.failed + tally.invalid === 0 ? paint.ok(okText) : okText} (${detail.join(', ')})`,
  );
  if (tally.failed > 0) parts.push(paint.fail(`${tally.failed} failed`));
  if (tally.invalid > 0) parts.push(paint.fail(plural(tally.invalid, 'bad line')));
  const rate = elapsed > 0 ? (tally.bytes * 1000) / elapsed : 0;
  parts.push(
    `${formatBytes(tally.bytes)} in ${formatDuration(elapsed)} (${formatBytes(Math.round(rate))}/s)`,
  );
  let text = `${paint.bold('dl:')} ${parts.join(' · ')}`;
  if (tally.verified > 0) {
    text +=
      tally.verified === tally.ok && tally.failed + tally.invalid === 0
        ? `\n    every file validated against its digests (${tally.verified}/${tally.ok})`
        : `\n    ${tally.verified} of ${plural(tally.ok, 'file')} validated against digests`;
  }
  if (tally.interrupted !== undefined) {
    text += `\n    ${paint.warn(`stopped by ${tally.interrupted}`)}: transfers in flight were aborted and their temp files removed`;
  }
  return `${text}\n`;
}
