import { basename, dirname, resolve } from 'node:path';
import { createDownloaderFactory, redactText, redactUrl, type DownloadOutcome } from '@dl/core';
import type { CliIo } from '../cli-io.js';
import { fileNameOfUrl } from '../destination.js';
import { ExitCodes, UsageError } from '../exit-codes.js';
import { digestProblem, type ManifestEntry } from '../manifest/manifest-entry.js';
import {
  readManifest,
  type ManifestLine,
  type ReadManifestOptions,
} from '../manifest/read-manifest.js';
import { createReporter } from '../output/create-reporter.js';
import type { FinishedRecord } from '../output/finished-record.js';
import type { WarningReporter } from '../output/reporter.js';
import { Tally } from '../output/tally.js';
import { PendingWarnings, refusedWarning } from '../output/warning-record.js';
import { SkipCheck } from '../skip-check.js';
import { ValidatorStore } from './validator-store.js';
import { boundHeap } from './heap-budget.js';
import { buildAdapters } from '../transfer/build-adapters.js';
import { checkFile } from '../checksums/check-file.js';
import { checksumEntries, type ChecksumEntries } from '../checksums/checksum-entries.js';
import type { EntryContext } from './entry-context.js';
import type { GetOptions } from './get-options.js';
import { DestinationSet } from './destination-set.js';
import { openManifestFile, type ManifestFile } from './manifest-file.js';
import { metalinkEntries } from './metalink-entries.js';
import { mirrorSetup } from '../transfer/mirror-setup.js';
import { openFleetRun, type FleetRun } from './run-get-fleet.js';
import { badRecord, entryPlanner, isBadRecord, type PlannedRequest } from './plan-entry.js';

type Request = PlannedRequest;

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
  if (
    urls.length === 0 &&
    options.input === undefined &&
    options.metalink === undefined &&
    options.checksums === undefined
  ) {
    throw new UsageError(
      'nothing to download: give URLs, -i MANIFEST (- for stdin), --metalink or --checksums',
    );
  }
  if (options.resync && options.queue !== undefined) {
    throw new UsageError('--resync applies to a local run, not with --queue');
  }
  if (options.from !== undefined && options.checksums === undefined) {
    throw new UsageError('--from applies to --checksums');
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
  const { outputFile } = options;
  if (outputFile !== undefined) {
    if (
      urls.length !== 1 ||
      options.input !== undefined ||
      options.metalink !== undefined ||
      options.checksums !== undefined
    ) {
      throw new UsageError('-O FILE applies to exactly one URL given on the command line');
    }
    if (options.output !== undefined) {
      throw new UsageError(
        '-O FILE is relative to the working folder; -o DIR does not apply with it (give -O DIR/FILE)',
      );
    }
    if (outputFile === '' || /[\\/]$/.test(outputFile)) {
      throw new UsageError(`-O ${outputFile}: names a folder; give the file's name`);
    }
  }
  if (io.boundHeap === true) boundHeap();
  const outDir = resolve(io.cwd, options.output ?? '.');
  // Warnings may come while the metalink is read, before the reporter exists.
  const warnings = new PendingWarnings();
  const mirrorsOf = await mirrorSetup(options, io.cwd, (refusal) =>
    warnings.add(refusedWarning(refusal)),
  );
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
    // A --queue run hands its factory over (factory.toJSON()), which needs the real HTTP adapter.
    adapters: buildAdapters(
      options,
      io.cwd,
      authOrigins,
      options.queue === undefined ? undefined : await import('@dl/http'),
    ),
    limits: {
      total: options.total,
      perHost: options.perHost,
      ...(options.limitRate === undefined ? {} : { rate: options.limitRate }),
      ...(options.limitRatePerHost === undefined ? {} : { ratePerHost: options.limitRatePerHost }),
    },
    retry: { maxAttempts: options.retries + 1 },
    interceptors: mirrorsOf.interceptors,
    ...(options.split > 1 ? { split: options.split } : {}),
  });
  const supports = (url: URL) => factory.supports(url);
  const plan = entryPlanner(outDir);
  // -O FILE: the file's folder is the one it is planned under.
  const planOutputFile =
    outputFile === undefined ? undefined : entryPlanner(dirname(resolve(io.cwd, outputFile)));
  const cliDestinations = new Map<string, URL>();
  const cliRequests = cliUrls.map((url): Request => {
    if (!supports(url)) {
      throw new UsageError(
        `${redactUrl(url)}: no adapter serves "${url.protocol}" (served: ${factory.schemes.join(', ')})`,
      );
    }
    // A URL typed here goes to its file name (as curl -O and wget), or to -O FILE.
    const name = outputFile === undefined ? fileNameOfUrl(url) : basename(outputFile);
    if (name === undefined) {
      throw new UsageError(
        `${redactUrl(url)}: the URL names no file (its path is empty or ends in "/"); give -O FILE`,
      );
    }
    if (outputFile === undefined && /[\\/]/.test(name)) {
      throw new UsageError(
        `${redactUrl(url)}: its file name "${name}" contains a slash; give -O FILE`,
      );
    }
    const planned = (planOutputFile ?? plan)(
      {
        url,
        path: name,
        ...(options.sha256 === undefined
          ? {}
          : { digests: { sha256: options.sha256.toLowerCase() } }),
      },
      undefined,
    );
    if (isBadRecord(planned)) throw new UsageError(`${redactUrl(url)}: ${planned.error!.message}`);
    const first = cliDestinations.get(planned.destination);
    if (first !== undefined) {
      throw new UsageError(
        `two URLs name the same file ${planned.destination}: ${redactUrl(first)} and ${redactUrl(url)} ` +
          '(download them one at a time with -O FILE, or from a manifest giving each a "path")',
      );
    }
    cliDestinations.set(planned.destination, url);
    return planned;
  });

  let manifest: ManifestFile | undefined;
  let metalink: ManifestEntry[] = [];
  let checksums: ChecksumEntries | undefined;
  const stop = new AbortController();
  const onSignal = () => stop.abort(io.signal?.reason);
  if (io.signal?.aborted) onSignal();
  io.signal?.addEventListener('abort', onSignal, { once: true });
  const tally = new Tally();
  let reporter: WarningReporter | undefined;
  let inputFailure: unknown;
  let fleet: FleetRun | undefined;
  const validators = options.resync ? new ValidatorStore() : undefined;
  try {
    // --queue: the same requests and records, but a fleet of `dl worker`s downloads.
    if (options.queue !== undefined)
      fleet = await openFleetRun({ ...options, queue: options.queue }, factory);
    if (options.input !== undefined) {
      manifest = await openManifestFile(options.input, io, options.strict);
    }
    if (mirrorsOf.metalink !== undefined) {
      try {
        metalink = await metalinkEntries(
          mirrorsOf.metalink,
          factory,
          stop.signal,
          mirrorsOf.provideMetalink,
        );
      } catch (error) {
        if (stop.signal.aborted) throw error;
        throw new UsageError(
          `--metalink: ${redactText((error as Error).message ?? String(error))}`,
        );
      }
    }
    if (options.checksums !== undefined) {
      checksums = await checksumEntries(options.checksums, options.from, {
        cwd: io.cwd,
        outDir,
        factory,
        signal: stop.signal,
        warn: warnings.add,
      });
    }
    reporter = await createReporter(
      { io, tally, stats: () => factory.stats(), quiet: options.quiet },
      { json: options.json, progress: options.progress },
      factory.on,
    );
    warnings.attach((record) => reporter!.warning(record));
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

    const readOptions: ReadManifestOptions = {
      supports,
      signal: stop.signal,
      ...(base === undefined ? {} : { base }),
    };
    /** The request of a manifest line, or the record of why it cannot be one. */
    const planLine = (item: ManifestLine, seen: DestinationSet): Request | FinishedRecord => {
      if (item.reason !== undefined) return badRecord(item.reason, item.line, item);
      const planned = plan(item.entry, item.line);
      if (isBadRecord(planned)) return planned;
      return duplicate(planned, seen) ?? planned;
    };

    if (options.strict && (manifest !== undefined || checksums !== undefined)) {
      let bad = 0;
      const seen = new DestinationSet();
      const lines = manifest === undefined ? [] : readManifest(manifest.open(), readOptions);
      for await (const item of chain(checksums?.items ?? [], lines)) {
        const planned = planLine(item, seen);
        if (!isBadRecord(planned)) continue;
        bad++;
        tally.noteRead(undefined);
        report(planned, { invalid: true });
      }
      if (bad > 0 && !stop.signal.aborted) {
        tally.inputDone = true;
        reporter.notice(
          `--strict: ${bad} bad manifest line${bad === 1 ? '' : 's'}; nothing was downloaded`,
        );
        return ExitCodes.Usage;
      }
    }

    const skipCheck = new SkipCheck(outDir);
    /** With --resync: a file without digests, already downloaded, is asked for only if it changed. */
    const conditional = (request: Request): Request => {
      if (validators === undefined || request.context.verified) return request;
      const ifChanged = validators.lookup(request.destination);
      return ifChanged === undefined ? request : { ...request, ifChanged };
    };
    /** Reports `request` as skipped when its file is already valid; false when known at once not to be. */
    const skipped = (request: Request): Promise<boolean> | false => {
      const checking = skipCheck.check(request.destination, request, stop.signal);
      if (checking === undefined) return false;
      return checking.then((size) => {
        if (size === undefined) return false;
        const { line } = request.context;
        report(
          {
            url: redactUrl(request.url),
            path: request.destination,
            size,
            digests: request.digests ?? {},
            ok: true,
            error: null,
            ...(line === undefined ? {} : { line }),
            skipped: true,
          },
          { verified: true },
        );
        return true;
      });
    };

    async function* requests(): AsyncGenerator<Request> {
      const seen = new DestinationSet();
      for (const request of cliRequests) {
        tally.noteRead(undefined);
        const twice = duplicate(request, seen);
        if (twice !== undefined) report(twice, { invalid: true });
        else {
          const skip = skipped(request);
          if (skip === false || !(await skip)) yield conditional(request);
        }
      }
      for (const entry of metalink) {
        tally.noteRead(entry.size);
        const planned = plan(entry, undefined);
        const bad = isBadRecord(planned) ? planned : duplicate(planned, seen);
        if (bad !== undefined) report(bad, { invalid: true });
        else if (!isBadRecord(planned)) {
          const skip = skipped(planned);
          if (skip === false || !(await skip)) yield conditional(planned);
        }
      }
      for (const item of checksums?.items ?? []) {
        const planned = planLine(item, seen);
        tally.noteRead(undefined);
        if (isBadRecord(planned)) report(planned, { invalid: true });
        else if (checksums?.check === true) {
          report(await checkFile(planned, stop.signal), { verified: true });
        } else {
          const skip = skipped(planned);
          if (skip === false || !(await skip)) yield conditional(planned);
        }
      }
      if (manifest !== undefined) {
        for await (const item of readManifest(manifest.open(), readOptions)) {
          const planned = planLine(item, seen);
          if (isBadRecord(planned)) {
            tally.noteRead(undefined);
            report(planned, { invalid: true });
            continue;
          }
          tally.noteRead(planned.size);
          const skip = skipped(planned);
          if (skip === false || !(await skip)) yield conditional(planned);
        }
      }
      tally.inputDone = true;
    }

    if (!stop.signal.aborted) {
      try {
        if (fleet !== undefined) {
          const refused = (record: FinishedRecord) => report(record, { invalid: true });
          for await (const done of fleet.downloadAll(requests(), stop.signal, refused)) {
            report(done.record, { verified: done.verified });
          }
        } else {
          for await (const outcome of factory.downloadAll(requests(), { signal: stop.signal })) {
            if (validators !== undefined && outcome.ok && outcome.result.unchanged !== true) {
              if (!outcome.context.verified)
                validators.record(outcome.request.destination!, outcome.result.metadata);
            }
            report(recordOf(outcome), { verified: outcome.context.verified });
          }
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
    await fleet?.close();
    await manifest?.dispose();
    validators?.close();
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
  let record: { -readonly [K in keyof FinishedRecord]: FinishedRecord[K] };
  if (outcome.ok) {
    const { result } = outcome;
    record = {
      url: result.requestedUrl,
      path: result.path ?? context.path,
      size: result.size,
      digests: result.digests,
      ok: true,
      error: null,
    };
    if (result.unchanged === true) record.unchanged = true;
  } else {
    const { request, error } = outcome;
    record = {
      url: redactUrl(request.url),
      path: context.path,
      size: request.size ?? null,
      digests: request.digests ?? {},
      ok: false,
      error: { code: error.code, message: error.message },
    };
  }
  if (context.line !== undefined) record.line = context.line;
  return record;
}

async function* chain<T>(...lists: (Iterable<T> | AsyncIterable<T>)[]): AsyncGenerator<T> {
  for (const list of lists) yield* list;
}

function isHttp(url: URL): boolean {
  return url.protocol === 'http:' || url.protocol === 'https:';
}

function signalName(reason: unknown): string {
  return reason === 'SIGTERM' ? 'SIGTERM' : reason === 'SIGINT' ? 'SIGINT' : 'an abort';
}
