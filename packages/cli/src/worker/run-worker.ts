import { fileAdapter, redactText, type BudgetProvider, type Logger } from '@dl/core';
import { http } from '@dl/http';
import type { CliIo } from '../cli-io.js';
import { ExitCodes } from '../exit-codes.js';
import { formatDuration } from '../output/format.js';
import { queueUrl } from '../queue-url.js';
import { lazyFtp, lazySftp } from '../transfer/build-adapters.js';
import type { WorkerOptions } from './worker-options.js';

/**
 * `dl worker`: a fleet worker with this process's adapters and the
 * fleet-wide per-host budget on Redis, until `io.signal` aborts (close:
 * the chunks in flight finish) or `io.onUrgentStop` fires (destroy: they
 * are handed back). Logs one line per chunk on stderr. Resolves 0.
 */
export async function runWorker(options: WorkerOptions, io: CliIo): Promise<number> {
  const connection = queueUrl(options.queue);
  const queue = options.name ?? 'dl';
  const { createFleetWorker, redisBudget } = await import('@dl/bullmq');
  const { mirrors } = await import('@dl/mirrorlist');
  const say = (text: string) => void io.stderr.write(`dl worker: ${text}\n`);
  const logger = workerLogger(say);
  const fleetBudget = redisBudget({ connection, logger });
  // -j: this machine's total, whatever the run asked for; the per-host limits stay the run's, fleet-wide.
  const budget: BudgetProvider =
    options.total === undefined
      ? fleetBudget
      : (init) => fleetBudget({ ...init, total: options.total! });
  const worker = createFleetWorker({
    connection,
    queue,
    builders: {
      adapters: { file: fileAdapter, http, ftp: lazyFtp, sftp: lazySftp },
      interceptors: { mirrors },
      logger,
    },
    budget,
    chunks: options.chunks,
    lockDuration: Math.max(1000, options.lockDuration),
    stalledInterval: Math.min(30_000, Math.max(1000, options.lockDuration)),
    onChunk(chunk) {
      const parts = [`${chunk.ok - chunk.skipped} downloaded`];
      if (chunk.skipped > 0) parts.push(`${chunk.skipped} already valid`);
      if (chunk.failed > 0) parts.push(`${chunk.failed} failed`);
      const again = chunk.started > 1 ? ` (start ${chunk.started})` : '';
      say(
        `chunk ${chunk.id} of run ${chunk.run}: ${chunk.files} files, ${parts.join(', ')} in ${formatDuration(chunk.ms)}${again}`,
      );
    },
  });
  say(`${worker.owner} taking chunks from queue "${queue}" at ${redactText(connection)}`);

  let urgent = false;
  const handBack = () => {
    urgent = true;
    say('stopping now: handing the chunks in flight back to the queue');
    void worker.destroy();
  };
  io.onUrgentStop?.(handBack);

  await new Promise<void>((resolve) => {
    if (io.signal?.aborted) resolve();
    io.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  say(
    worker.running > 0
      ? `stopping: finishing ${worker.running} chunk${worker.running === 1 ? '' : 's'} in flight (signal again to hand them back)`
      : 'stopping',
  );
  await worker.close();
  say(urgent ? 'stopped; chunks in flight were handed back' : 'stopped');
  return ExitCodes.Ok;
}

/** Worker-level trouble on stderr; the factories' per-file chatter stays out. */
function workerLogger(say: (text: string) => void): Logger {
  const line = (message: string, fields?: Record<string, unknown>) => {
    const error = fields?.error;
    const why = error instanceof Error ? `: ${error.message}` : '';
    const count = typeof fields?.removed === 'number' ? ` (${fields.removed})` : '';
    say(redactText(`${message}${count}${why}`));
  };
  return {
    debug() {},
    info(message, fields) {
      if (message.startsWith('removed temp files')) line(message, fields);
    },
    warn: line,
    error: line,
  };
}
