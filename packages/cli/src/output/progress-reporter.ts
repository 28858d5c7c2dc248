import { MultiBar, type SingleBar } from 'cli-progress';
import type { DownloadEvents } from '@dl/core';
import { paletteFor } from './colors.js';
import { formatBytes, formatDuration } from './format.js';
import { recordLine } from './record-line.js';
import type { Reporter, ReporterContext } from './reporter.js';
import { averageRate, failureParts, summaryText } from './summary-text.js';

/** Subscribes to a factory event; returns the unsubscribe function. */
export type Subscribe = <E extends keyof DownloadEvents>(
  event: E,
  listener: (payload: DownloadEvents[E]) => void,
) => () => void;

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const BAR_WIDTH = 24;

/**
 * cli-progress turns the terminal's line wrap off while the display is up
 * (so a frame never spills onto a second line when the terminal narrows).
 * Text printed above the display turns it back on for itself: a failure
 * wider than the terminal wraps instead of being cut at the edge.
 */
function wrapping(text: string): string {
  return `\x1b[?7h${text}\x1b[?7l`;
}

/**
 * The live display on a terminal (stderr): one line with files done/total,
 * bytes, rate, ETA, transfers in flight and failures, redrawn ten times a
 * second by cli-progress; failures are printed above it as they happen.
 */
export function progressReporter(context: ReporterContext, subscribe: Subscribe): Reporter {
  const { io, tally, stats } = context;
  const paint = paletteFor(io.stderr);
  // Sizes of transfers in flight, for an ETA when the input gave none.
  const active = new Map<number, { bytes: number; total: number | undefined }>();
  const unsubscribe = [
    subscribe('download-progress', (e) => active.set(e.id, { bytes: e.bytes, total: e.total })),
    subscribe('download-end', (e) => active.delete(e.id)),
  ];
  // Expected sizes of skipped and failed files: bytes the display will not see arrive.
  let skippedBytes = 0;
  let failedBytes = 0;
  let frame = 0;

  /**
   * One frame. Its bytes are those of the files downloaded so far plus those
   * of the transfers in flight (not those of failed transfers, nor of
   * skipped files), so the last frame shows the bytes of the summary; its
   * rate is the current one while running and, in the last frame
   * (`endedAt`), the run's average, as in the summary.
   */
  const render = (endedAt?: number): string => {
    const now = stats();
    const elapsed = (endedAt ?? Date.now()) - tally.startedAt;
    const total = tally.inputDone ? `${tally.read}` : `${tally.read}+`;
    let inFlight = 0;
    for (const transfer of active.values()) inFlight += transfer.bytes;
    const receivedBytes = tally.bytes + inFlight;
    const byteTotal =
      tally.inputDone && tally.sizesKnown
        ? tally.expectedBytes - skippedBytes - failedBytes
        : undefined;
    const rate = endedAt === undefined ? now.rate : averageRate(tally.bytes, elapsed);
    let fraction = tally.read > 0 ? tally.done / tally.read : 0;
    let eta: number | undefined;
    if (byteTotal !== undefined && byteTotal > 0) {
      fraction = Math.min(1, receivedBytes / byteTotal);
      if (rate > 0) eta = ((byteTotal - receivedBytes) * 1000) / rate;
    } else if (tally.inputDone && tally.read - tally.done === active.size && active.size > 0) {
      let left = 0;
      let known = true;
      for (const transfer of active.values()) {
        if (transfer.total === undefined) known = false;
        else left += transfer.total - transfer.bytes;
      }
      if (known && rate > 0) eta = (left * 1000) / rate;
    } else if (tally.inputDone && tally.done > 0) {
      eta = ((tally.read - tally.done) * elapsed) / tally.done;
    }
    if (tally.inputDone && tally.done === tally.read) eta = 0;
    const spinner = SPINNER[frame++ % SPINNER.length]!;
    const parts = [
      `${tally.done}/${total} files`,
      `${formatBytes(receivedBytes)}${byteTotal === undefined ? '' : `/${formatBytes(byteTotal)}`}`,
      `${formatBytes(Math.round(rate))}/s`,
      `ETA ${eta === undefined ? '?' : formatDuration(Math.max(0, eta))}`,
      `${endedAt === undefined ? now.active : 0} active`,
    ];
    // Failed downloads and bad lines, counted and named as the summary does.
    const failures = failureParts(tally);
    const text = [...parts, ...failures].join(' · ');
    // Never wider than the terminal: the bar shrinks first, then goes.
    const columns = io.stderr.columns || 80;
    const barWidth = Math.min(BAR_WIDTH, columns - 1 - spinner.length - 2 - text.length);
    const coloured = [...parts, ...failures.map((part) => paint.fail(part))].join(' · ');
    if (barWidth < 8) return `${spinner} ${text}`.slice(0, Math.max(columns - 1, 20));
    const filled = Math.round(Math.max(0, Math.min(1, fraction)) * barWidth);
    const bar =
      (filled > 0 ? paint.ok('█'.repeat(filled)) : '') +
      (filled < barWidth ? paint.dim('░'.repeat(barWidth - filled)) : '');
    return `${spinner} ${bar} ${coloured}`;
  };

  const multibar = new MultiBar({
    stream: io.stderr,
    format: () => render(),
    fps: 10,
    hideCursor: true,
    linewrap: false,
    // cli-progress cuts its final frame to the width counting colour codes; we print our own.
    clearOnComplete: true,
    stopOnComplete: false,
    gracefulExit: false,
  });
  const bar: SingleBar = multibar.create(1, 0);

  return {
    finished(record, badLine) {
      if ((record.skipped || record.unchanged) && record.size !== null) skippedBytes += record.size;
      if (!record.ok && !badLine && record.size !== null) failedBytes += record.size;
      // One line per file would scroll the display away; only failures are kept.
      if (!record.ok) multibar.log(wrapping(recordLine(record, paint, badLine)));
      bar.increment(0);
    },
    notice: (message) => multibar.log(wrapping(`dl: ${message}\n`)),
    close() {
      for (const stop of unsubscribe) stop();
      multibar.update();
      multibar.stop();
      const endedAt = Date.now();
      io.stderr.write(`${render(endedAt)}\n${summaryText(tally, paint, endedAt)}`);
    },
  };
}
