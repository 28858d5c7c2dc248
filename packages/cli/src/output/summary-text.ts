import type { Palette } from './colors.js';
import { formatBytes, formatDuration, plural } from './format.js';
import type { Tally } from './tally.js';

/** The one-paragraph summary every run without `--json` ends with. */
export function summaryText(tally: Tally, paint: Palette, endedAt = Date.now()): string {
  const elapsed = endedAt - tally.startedAt;
  const parts: string[] = [];
  const okText = `${plural(tally.ok, 'file')} ok`;
  const detail: string[] = [`${tally.downloaded} downloaded`];
  if (tally.skipped > 0) detail.push(`${tally.skipped} already valid`);
  if (tally.unchanged > 0) detail.push(`${tally.unchanged} unchanged`);
  parts.push(
    `${tally.failed + tally.invalid === 0 ? paint.ok(okText) : okText} (${detail.join(', ')})`,
  );
  for (const part of failureParts(tally)) parts.push(paint.fail(part));
  const rate = averageRate(tally.bytes, elapsed);
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

/** `2 failed`, `4 bad lines`: the failures of a run, as the summary and the live display name them. */
export function failureParts(tally: Tally): string[] {
  const parts: string[] = [];
  if (tally.failed > 0) parts.push(`${tally.failed} failed`);
  if (tally.invalid > 0) parts.push(plural(tally.invalid, 'bad line'));
  return parts;
}

/** Bytes per second over a run of `elapsed` ms. */
export function averageRate(bytes: number, elapsed: number): number {
  return elapsed > 0 ? (bytes * 1000) / elapsed : 0;
}
