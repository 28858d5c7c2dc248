import type { Palette } from './colors.js';
import type { FinishedRecord } from './finished-record.js';
import { formatBytes } from './format.js';

/** One human-readable line for a finished entry. */
export function recordLine(record: FinishedRecord, paint: Palette, badLine = false): string {
  const where = record.path ?? record.url ?? '?';
  const line = record.line === undefined ? '' : `line ${record.line}: `;
  if (badLine) {
    const about = record.url ?? record.path;
    const reason = record.error?.message ?? 'unusable';
    return `${paint.fail('bad    ')} ${line}${reason}${about === null || reason.includes(about) ? '' : paint.dim(` (${about})`)}\n`;
  }
  if (!record.ok) {
    const error = record.error ?? { code: 'internal', message: 'failed' };
    // Where it came from too, unless that is what the line already names.
    const from =
      record.url === null || record.url === where || error.message.includes(record.url)
        ? ''
        : `\n        ${paint.dim(`from ${record.url}`)}`;
    return `${paint.fail('failed ')} ${where}\n        ${line}${error.code}: ${error.message}${from}\n`;
  }
  if (record.skipped) return `${paint.dim('skipped')} ${where} ${paint.dim('(already valid)')}\n`;
  if (record.unchanged)
    return `${paint.dim('unchanged')} ${where} ${paint.dim('(not modified)')}\n`;
  const size = record.size === null ? '' : ` ${paint.dim(formatBytes(record.size))}`;
  return `${paint.ok('ok     ')} ${where}${size}\n`;
}
