import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import {
  createDownloaderFactory,
  redactText,
  redactUrl,
  type DownloadOutcome,
  type DownloadRequest,
} from '@dl/core';
import type { CliIo } from '../cli-io.js';
import { ExitCodes, UsageError } from '../exit-codes.js';
import { digestProblem, type ManifestEntry } from '../manifest/manifest-entry.js';
import { readManifest } from '../manifest/read-manifest.js';
import { createReporter } from '../output/create-reporter.js';
import type { FinishedRecord } from '../output/finished-record.js';
import type { Reporter } from '../output/reporter.js';
import { Tally } from '../output/tally.js';
import { alreadyValid } from '../skip-check.js';
import { buildAdapters } from '../transfer/build-adapters.js';
import type { EntryContext } from './entry-context.js';
import type { GetOptions } from './get-options.js';
import { DestinationSet } from './destination-set.js';
import { openManifestFile, type ManifestFile } from './manifest-file.js';
import { metalinkEntries } from './metalink-entries.js';
import { mirrorSetup } from '../transfer/mirror-setup.js';
import { badRecord, planEntry } from './plan-entry.js';

type Request = DownloadRequest<EntryContext> & { destination: string };

/**
 * `dl get`: downloads the command-line URLs and the manifest's lines
 * through one factory, reporting as they finish. Returns the exit status.
 * Throws {@link UsageError} for bad usage found before anything started.
 */
export async function runGet(
  urls: readonly string[],
  options: GetOptions,
  io: CliIo,
): Promise<number> {
  if (urls.length === 0 && options.input === undefined && options.metalink === undefined) {
    throw new UsageError('nothing to download: give URLs, -i MANIFEST (- for stdin) or --metalink');
  }
  if (options.sha256 !== undefined) {
    if (urls.length !== 1 || options.input !== undefined) {
      throw new UsageError(
        '--sha256 applies to a single URL; put digests in the manifest otherwise',
      );
    }
    const problem = digestProblem('sha256', options.sha256);
    if (problem !== undefined) throw new UsageError(`--sha256: ${problem}`);
  }
  const outDir = resolve(io.cwd, options.output);
  const mirrorsOf = await mirrorSetup(options, io.cwd);
  const base = mirrorsOf.base;
  const cliUrls = urls.map((raw) => {
    try {
      return URL.canParse(raw) || base === undefined ? new URL(raw) : new URL(raw, base);
    } catch {
      throw new UsageError(`"${redactText(raw)}" is not an absolute URL`);
    }
  });
  // Credentials go to the hosts the user typed, never to ones a manifest or metalink names.
  const authOrigins =
    options.input === undefined && options.metalink === undefined
      ? [...new Set(cliUrls.filter(isHttp).map((url) => url.origin))]
      : [];
  const factory = createDownloaderFactory({
    adapters: buildAdapters(options, io.cwd, authOrigins),
    limits: { total: options.total, perHost: options.perHost },
    retry: { maxAttempts: options.retries + 1 },
    interceptors: mirrorsOf.interceptors,
  });
  const supports = (url: URL) => factory.supports(url);
  const cliRequests = cliUrls.map((url): Request => {
    if (!supports(url)) {
      throw new UsageError(
        `${redactUrl(url)}: no adapter serves "${url.protocol}" (served: ${factory.schemes.join(', ')})`,
      );
    }
    const planned = planEntry(
      {
        url,
        ...(options.sha256 === undefined
          ? {}
          : { digests: { sha256: options.sha256.toLowerCase() } }),
      },
      outDir,
      undefined,
    );
    if (!planned.ok) throw new UsageError(`${redactUrl(url)}: ${planned.record.error!.message}`);
    return planned.request;
  });

  let manifest: ManifestFile | undefined;
  let metalink: ManifestEntry[] = [];
  const stop = new AbortController();
  const onSignal = () => stop.abort(io.signal?.reason);
  if (io.signal?.aborted) onSignal();
  io.signal?.addEventListener('abort', onSignal, { once: true });
  const tally = new Tally();
  let reporter: Reporter | undefined;
  let inputFailure: unknown;
  try {
    if (options.input !== undefined) {
      manifest = await openManifestFile(options.input, io, options.strict);
    }
    if (mirrorsOf.metalink !== undefined) {
      try {
        metalink = await metalinkEntries(mirrorsOf.metalink, factory, stop.signal);
      } catch (error) {
        if (stop.signal.aborted) throw error;
        throw new UsageError(
          `--metalink: ${redactText((error as Error).message ?? String(error))}`,
        );
      }
    }
    reporter = createReporter(
      { io, tally, stats: () => factory.stats(), quiet: options.quiet },
      { json: options.json, progress: options.progress },
      factory.on,
    );
    const report = (record: FinishedRecord, how: { invalid?: boolean; verified?: boolean }) => {
      tally.add(record, how);
      reporter!.finished(record, how.invalid);
    };

    /** A bad record when another entry already writes to this request's destination. */
    const duplicate = (request: Request, seen: DestinationSet) => {
      const line = request.context!.line;
      const first = seen.add(request.destination, line ?? 0);
      if (first === undefined) return undefined;
      const other = first === 0 ? 'a URL given on the command line' : `line ${first}`;
      return badRecord(`${request.destination} is already the destination of ${other}`, line, {
        url: redactUrl(request.url),
        path: request.destination,
      });
    };

    if (options.strict && manifest !== undefined) {
      let bad = 0;
      for await (const item of lines(manifest.open(), new DestinationSet())) {
        if (item.ok) continue;
        bad++;
        tally.noteRead(undefined);
        report(item.record, { invalid: true });
      }
      if (bad > 0 && !stop.signal.aborted) {
        tally.inputDone = true;
        reporter.notice(
          `--strict: ${bad} bad manifest line${bad === 1 ? '' : 's'}; nothing was downloaded`,
        );
        return ExitCodes.Usage;
      }
    }

    const skipOrPass = async (request: Request): Promise<boolean> => {
      const size = await alreadyValid(request.destination, request, stop.signal);
      if (size === undefined) return false;
      report(
        {
          url: redactUrl(request.url),
          path: request.destination,
          size,
          digests: request.digests ?? {},
          ok: true,
          error: null,
          ...(request.context!.line === undefined ? {} : { line: request.context!.line }),
          skipped: true,
        },
        { verified: true },
      );
      return true;
    };

    async function* requests(): AsyncGenerator<Request> {
      const seen = new DestinationSet();
      for (const request of cliRequests) {
        tally.noteRead(undefined);
        const twice = duplicate(request, seen);
        if (twice !== undefined) report(twice, { invalid: true });
        else if (!(await skipOrPass(request))) yield request;
      }
      for (const entry of metalink) {
        tally.noteRead(entry.size);
        const planned = planEntry(entry, outDir, undefined);
        const bad = planned.ok ? duplicate(planned.request, seen) : planned.record;
        if (bad !== undefined) report(bad, { invalid: true });
        else if (planned.ok && !(await skipOrPass(planned.request))) yield planned.request;
      }
      if (manifest !== undefined) {
        for await (const item of lines(manifest.open(), seen)) {
          if (!item.ok) {
            tally.noteRead(undefined);
            report(item.record, { invalid: true });
            continue;
          }
          tally.noteRead(item.request.size);
          if (!(await skipOrPass(item.request))) yield item.request;
        }
      }
      tally.inputDone = true;
    }

    async function* lines(input: Readable, seen: DestinationSet) {
      const read = readManifest(input, {
        supports,
        signal: stop.signal,
        ...(base === undefined ? {} : { base }),
      });
      for await (const item of read) {
        if (item.reason !== undefined) {
          yield { ok: false as const, record: badRecord(item.reason, item.line, item) };
          continue;
        }
        const planned = planEntry(item.entry, outDir, item.line);
        if (!planned.ok) {
          yield { ok: false as const, record: planned.record };
          continue;
        }
        const twice = duplicate(planned.request, seen);
        if (twice === undefined) yield { ok: true as const, request: planned.request };
        else yield { ok: false as const, record: twice };
      }
    }

    if (!stop.signal.aborted) {
      try {
        for await (const outcome of factory.downloadAll(requests(), { signal: stop.signal })) {
          report(recordOf(outcome), { verified: outcome.context.verified });
        }
      } catch (error) {
        if (!stop.signal.aborted) inputFailure = error;
      }
    }
  } finally {
    io.signal?.removeEventListener('abort', onSignal);
    if (stop.signal.aborted) tally.interrupted = signalName(stop.signal.reason);
    // Graceful when the run ended by itself (FTP says QUIT, pools drain); abrupt after a signal.
    await (stop.signal.aborted ? factory.destroy() : factory.close());
    await manifest?.dispose();
    if (inputFailure !== undefined) {
      reporter?.notice(
        `stopped: ${redactText(String((inputFailure as Error)?.message ?? inputFailure))}`,
      );
    }
    reporter?.close();
  }
  if (tally.interrupted !== undefined) {
    return tally.interrupted === 'SIGTERM' ? ExitCodes.Terminated : ExitCodes.Interrupted;
  }
  if (inputFailure !== undefined) return ExitCodes.Usage;
  return tally.failed + tally.invalid > 0 ? ExitCodes.SomeFailed : ExitCodes.Ok;
}

function recordOf(outcome: DownloadOutcome<EntryContext>): FinishedRecord {
  const { context } = outcome;
  const line = context.line === undefined ? {} : { line: context.line };
  if (outcome.ok) {
    const { result } = outcome;
    return {
      url: result.requestedUrl,
      path: result.path ?? context.path,
      size: result.size,
      digests: result.digests,
      ok: true,
      error: null,
      ...line,
    };
  }
  const { request, error } = outcome;
  return {
    url: redactUrl(request.url),
    path: context.path,
    size: request.size ?? null,
    digests: request.digests ?? {},
    ok: false,
    error: { code: error.code, message: error.message },
    ...line,
  };
}

function isHttp(url: URL): boolean {
  return url.protocol === 'http:' || url.protocol === 'https:';
}

function signalName(reason: unknown): string {
  return reason === 'SIGTERM' ? 'SIGTERM' : reason === 'SIGINT' ? 'SIGINT' : 'an abort';
}
