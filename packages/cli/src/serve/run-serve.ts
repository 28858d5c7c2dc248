import { access, constants } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDownloaderFactory, createStreamer, type Streamer } from '@dl/core';
import type { CliIo } from '../cli-io.js';
import { resolveDestination } from '../destination.js';
import { ExitCodes, UsageError } from '../exit-codes.js';
import { buildAdapters } from '../transfer/build-adapters.js';
import { mirrorSetup } from '../transfer/mirror-setup.js';
import { accessLogLine, type AccessRecord } from './access-log.js';
import { Catalog } from './catalog.js';
import type { ServeOptions } from './serve-options.js';
import { refusedWarning, warningText } from '../output/warning-record.js';

/** Bad catalog lines printed one by one before the rest are only counted. */
const BAD_LINES_SHOWN = 20;

/**
 * `dl serve`: the streamer as a program. Loads the catalog, listens, and
 * answers each request for a catalog path by downloading on demand through
 * one factory. Resolves with the exit status once stopped through
 * `io.signal` (gracefully: no new connections, responses in flight get
 * `--grace` to finish).
 */
export async function runServe(options: ServeOptions, io: CliIo): Promise<number> {
  const catalogPath = resolve(io.cwd, options.catalog);
  try {
    await access(catalogPath, constants.R_OK);
  } catch {
    throw new UsageError(`--catalog ${options.catalog}: the file cannot be read`);
  }
  const cacheDir = options.cache === undefined ? undefined : resolve(io.cwd, options.cache);
  const factory = createDownloaderFactory({
    adapters: buildAdapters(options, io.cwd, []),
    limits: {
      total: options.total,
      perHost: options.perHost,
      ...(options.limitRate === undefined ? {} : { rate: options.limitRate }),
      ...(options.limitRatePerHost === undefined ? {} : { ratePerHost: options.limitRatePerHost }),
    },
    retry: { maxAttempts: options.retries + 1 },
    interceptors: (
      await mirrorSetup(options, io.cwd, (refusal) =>
        io.stderr.write(`dl serve: ${warningText(refusedWarning(refusal))}\n`),
      )
    ).interceptors,
  });
  let bad = 0;
  let catalog: Catalog;
  try {
    catalog = await Catalog.load(catalogPath, {
      supports: (url) => factory.supports(url),
      onBadLine: (line, reason, url) => {
        if (++bad <= BAD_LINES_SHOWN) {
          io.stderr.write(
            `dl serve: catalog line ${line}: ${reason}${url === undefined ? '' : ` (${url})`}\n`,
          );
        }
      },
    });
  } catch (error) {
    await factory.destroy();
    throw error;
  }
  if (bad > BAD_LINES_SHOWN)
    io.stderr.write(`dl serve: … and ${bad - BAD_LINES_SHOWN} more bad catalog lines\n`);
  if (bad > 0 && options.strict) {
    io.stderr.write(
      `dl serve: --strict: ${bad} bad catalog line${bad === 1 ? '' : 's'}; not starting\n`,
    );
    await Promise.all([catalog.close(), factory.destroy()]);
    return ExitCodes.Usage;
  }

  const streamer = createStreamer({
    downloader: factory,
    upstreamLimit: options.upstream ?? options.total,
    queueLimit: options.upstreamQueue,
    queueTimeoutMs: options.upstreamWait,
  });
  const inFlight = new Set<Promise<void>>();
  let stopping = false;
  let served = 0;
  // The access log is written once per event-loop turn, not once per request:
  // under load that is one write for many lines instead of a syscall each.
  let logged = '';
  const flushLog = () => {
    if (logged === '') return;
    const text = logged;
    logged = '';
    io.stdout.write(text);
  };
  const log = (line: string) => {
    if (logged === '') setImmediate(flushLog);
    logged += line;
    if (logged.length >= 64 * 1024) flushLog();
  };
  // Node 20's default 16 KiB response buffer makes every 64 KiB chunk wait for
  // a drain; a larger one lets a big file stream at the upstream's pace.
  const server = createServer({ highWaterMark: 1 << 20 }, (request, response) => {
    if (stopping) response.setHeader('connection', 'close');
    const handled = answer(request, response, { catalog, streamer, cacheDir }).then(
      (record) => {
        served++;
        log(accessLogLine(request, record));
      },
      () => void response.destroy(),
    );
    inFlight.add(handled);
    void handled.finally(() => inFlight.delete(handled));
  });
  try {
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(options.port, options.host, () => {
        server.off('error', fail);
        done();
      });
    });
  } catch (error) {
    await Promise.all([catalog.close(), factory.destroy()]);
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UsageError(`cannot listen on ${options.host}:${options.port}: ${code}`);
  }
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  io.stdout.write(
    `dl serve: listening on http://${host}:${address.port} (${catalog.size} paths${cacheDir === undefined ? '' : `, cache ${cacheDir}`})\n`,
  );

  const signal = io.signal;
  if (signal !== undefined && !signal.aborted) {
    await new Promise<void>((done) =>
      signal.addEventListener('abort', () => done(), { once: true }),
    );
  } else if (signal === undefined) {
    await new Promise<void>(() => {});
  }

  stopping = true;
  const why = typeof signal?.reason === 'string' ? signal.reason : 'a stop request';
  io.stderr.write(`dl serve: ${why}: no new connections; ${inFlight.size} response(s) in flight\n`);
  const closed = new Promise<void>((done) => server.close(() => done()));
  server.closeIdleConnections();
  const graceOver = new AbortController();
  const finished = Promise.all([...inFlight]).then(() => 'finished' as const);
  const outcome = await Promise.race([
    finished,
    sleep(options.grace, 'late' as const, { signal: graceOver.signal }),
  ]);
  graceOver.abort();
  if (outcome === 'late') {
    io.stderr.write(
      `dl serve: ${inFlight.size} response(s) still running after the grace period; cutting them\n`,
    );
    server.closeAllConnections();
    await Promise.allSettled([...inFlight]);
  }
  await closed;
  flushLog();
  await Promise.all([catalog.close(), factory.destroy()]);
  io.stderr.write(`dl serve: stopped after ${served} request(s)\n`);
  return ExitCodes.Ok;
}

interface Context {
  readonly catalog: Catalog;
  readonly streamer: Streamer;
  readonly cacheDir: string | undefined;
}

async function answer(
  request: IncomingMessage,
  response: ServerResponse,
  context: Context,
): Promise<AccessRecord> {
  const started = performance.now();
  const finish = (status: number, text: string, source = 'catalog'): AccessRecord => {
    response.writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(text),
    });
    response.end(request.method === 'HEAD' ? undefined : text);
    return {
      status,
      bytes: request.method === 'HEAD' ? 0 : Buffer.byteLength(text),
      source,
      durationMs: performance.now() - started,
    };
  };
  let path: string;
  try {
    path = decodeURIComponent(new URL(request.url ?? '/', 'http://dl.invalid').pathname);
  } catch {
    return finish(400, 'bad request path\n');
  }
  const entry = await context.catalog.lookup(path);
  if (entry === undefined) return finish(404, 'not in the catalog\n');
  const cache =
    context.cacheDir === undefined
      ? undefined
      : resolveDestination(context.cacheDir, entry.path, entry.url);
  const outcome = await context.streamer.handle(request, response, {
    url: entry.url,
    ...(entry.size === undefined ? {} : { size: entry.size }),
    ...(entry.digests === undefined ? {} : { digests: entry.digests }),
    ...(cache?.ok ? { cache: cache.path } : {}),
    context: { path: entry.path, line: entry.line },
  });
  return {
    status: outcome.status,
    bytes: outcome.bytes,
    source: outcome.source,
    durationMs: performance.now() - started,
    ...(outcome.ok ? {} : { code: outcome.error.code }),
  };
}
