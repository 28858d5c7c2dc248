import { setMaxListeners } from 'node:events';
import type { DownloadRequest } from '../contracts/download-request.js';
import type { DownloadOutcome, DownloadResult } from '../contracts/download-result.js';
import type { CallOptions, OpenedDownload } from '../contracts/downloader.js';
import type { DownloadAllOptions, DownloaderFactory } from '../contracts/downloader-factory.js';
import type { DownloaderFactoryOptions } from '../contracts/downloader-factory-options.js';
import type { FactoryConfig } from '../config/factory-config.js';
import type { DownloadEvents } from '../contracts/progress.js';
import type { Logger } from '../contracts/logger.js';
import { composeOpen, type OpenFunction } from '../contracts/open-function.js';
import type { Session, SessionContext } from '../contracts/session.js';
import { abortError, DownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { linkedAbort } from '../util/linked-abort.js';
import { originOf } from '../util/origin.js';
import { VERSION } from '../util/version.js';
import { runDownload, type AttemptContext } from './attempt-loop.js';
import { retryPolicy } from './backoff.js';
import { ChannelSink } from './channel-sink.js';
import { FileSink, FileSinkContext } from './file-sink.js';
import { LifecycleGuard } from './lifecycle-guard.js';
import type { AdmissionBudget, Permit } from '../contracts/admission-budget.js';
import { localBudget } from './limiter.js';
import { ProgressHub } from './progress-hub.js';
import { checkRequest } from './request-check.js';
import { Scheduler, type PlacedRequest } from './scheduler.js';
import { runSegmented } from './segmented-download.js';
import { discardSink, type Sink } from './sink.js';
import { WritableSink } from './writable-sink.js';

/** The least bytes of one segment of a split download (`splitMinSize`). */
const DEFAULT_SPLIT_MIN_SIZE = 8 * 1024 * 1024;

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Builds the one way in: a {@link DownloaderFactory} over the adapters
 * passed in. Nothing is looked up globally; an unknown scheme is an error
 * that names the registered ones.
 *
 * Adapters read their secrets (`{ env }`, `{ file }` references) when their
 * session is created, on the first download that needs it, not here: a
 * reference that cannot be resolved fails that download and every later one
 * through the same adapter at once with the same non-retryable
 * `invalid-request` error naming the variable or file (never its value),
 * without trying again.
 *
 * @example
 * ```ts
 * await using factory = createDownloaderFactory({ adapters: [fileAdapter(), http()] });
 * for await (const outcome of factory.downloadAll(requests)) { … }
 * ```
 */
export function createDownloaderFactory(options: DownloaderFactoryOptions): DownloaderFactory {
  return new Factory(options);
}

class Factory implements DownloaderFactory {
  readonly schemes: readonly string[];
  readonly #guards = new Map<string, LifecycleGuard>();
  /** Schemes served by interceptors, with whether they resume. */
  readonly #virtual = new Map<string, boolean>();
  readonly #budget: AdmissionBudget;
  readonly #limits: FactoryConfig['limits'];
  readonly #attempts: AttemptContext;
  readonly #scheduler: Scheduler;
  readonly #progress = new ProgressHub();
  /** What this factory's file sinks learnt about the file system; never shared with another factory. */
  readonly #files: FileSinkContext;
  readonly #destroyer = new AbortController();
  readonly #inFlight = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;
  #budgetClosed: Promise<void> | undefined;
  readonly #options: DownloaderFactoryOptions;
  readonly #split: number;
  readonly #splitMinSize: number;

  constructor(options: DownloaderFactoryOptions) {
    setMaxListeners(0, this.#destroyer.signal);
    this.#options = options;
    this.#files = new FileSinkContext(
      options.keepPartialBytes === undefined
        ? undefined
        : wholeNumber(options.keepPartialBytes, 'keepPartialBytes'),
    );
    const total = positive(options.limits?.total ?? 16, 'limits.total');
    const perHost = positive(options.limits?.perHost ?? 8, 'limits.perHost');
    const rate = bytesPerSecond(options.limits?.rate, 'limits.rate');
    const ratePerHost = bytesPerSecond(options.limits?.ratePerHost, 'limits.ratePerHost');
    this.#split = positive(options.split ?? 1, 'split');
    this.#splitMinSize = positive(options.splitMinSize ?? DEFAULT_SPLIT_MIN_SIZE, 'splitMinSize');
    if (!Array.isArray(options.adapters) || options.adapters.length === 0) {
      throw invalidOption('adapters: pass at least one adapter instance');
    }
    // maxIdleMs and connectionGate are filled in once the budget exists; sessions are created later, on first use.
    const context: { -readonly [K in keyof Omit<SessionContext, 'signal'>]: SessionContext[K] } = {
      maxConnectionsPerHost: Math.min(perHost, total),
      maxConnections: total,
      userAgent: `dl/${VERSION}${options.userAgent ? ` ${options.userAgent}` : ''}`,
      log: options.logger ?? silent,
    };
    for (const adapter of options.adapters) {
      const guard = new LifecycleGuard(adapter, context);
      for (const raw of adapter.schemes) {
        const scheme = raw.toLowerCase().replace(/:$/, '');
        const taken = this.#guards.get(scheme);
        if (taken) {
          throw invalidOption(
            `adapters: scheme "${scheme}" is served by both ${taken.adapter} and ${adapter.name}`,
          );
        }
        this.#guards.set(scheme, guard);
      }
    }
    for (const interceptor of options.interceptors ?? []) {
      for (const raw of interceptor.schemes ?? []) {
        const scheme = raw.toLowerCase().replace(/:$/, '');
        if (this.#guards.has(scheme) || this.#virtual.has(scheme)) {
          throw invalidOption(`interceptors: scheme "${scheme}" is already served`);
        }
        this.#virtual.set(scheme, interceptor.resume ?? false);
      }
    }
    this.schemes = [...this.#guards.keys(), ...this.#virtual.keys()];
    this.#limits = {
      total,
      perHost,
      ...(rate === undefined ? {} : { rate }),
      ...(ratePerHost === undefined ? {} : { ratePerHost }),
    };
    const progress = this.#progress;
    this.#budget = (options.budget ?? localBudget)({
      total,
      perHost,
      ...(rate === undefined ? {} : { rate }),
      ...(ratePerHost === undefined ? {} : { ratePerHost }),
      report: (event, payload) => {
        if (progress.wants(event)) progress.emit(event, payload as DownloadEvents[typeof event]);
      },
      limitFor: (origin) => {
        const scheme = origin.slice(0, origin.indexOf(':'));
        // A virtual scheme spreads over many real sources, each limited on its own.
        if (this.#virtual.has(scheme)) return total;
        const cap = this.#guards.get(scheme)?.maxTransfers(origin);
        return cap === undefined ? perHost : Math.max(1, Math.min(perHost, cap));
      },
      transfersPerConnection: (origin) => {
        const scheme = origin.slice(0, origin.indexOf(':'));
        return this.#guards.get(scheme)?.transfersPerConnection(origin) ?? 1;
      },
    });
    const budget = this.#budget;
    if (budget.connections !== undefined) {
      context.connectionGate = {
        acquire: async (origin, signal) => {
          const release = await budget.connections!(origin, signal);
          let released = false;
          return () => {
            if (released) return;
            released = true;
            // The server sees the close a moment after this process does: the lease covers that.
            setTimeout(release, CLOSE_GRACE_MS).unref();
          };
        },
        ...(budget.retireConnection === undefined
          ? {}
          : { retire: (origin: string) => budget.retireConnection!(origin) }),
      };
      context.maxIdleMs = GATED_MAX_IDLE_MS;
    }
    const base: OpenFunction = (request) => this.#guardFor(request.url).open(request);
    this.#attempts = {
      open: composeOpen(base, options.interceptors ?? [], { log: context.log }),
      budget: this.#budget,
      policy: retryPolicy(options.retry),
      progress: this.#progress,
      canResume: (url) =>
        this.#guards.get(schemeOf(url))?.protocol.capabilities.resume ??
        this.#virtual.get(schemeOf(url)) ??
        false,
    };
    this.#scheduler = new Scheduler(this.#budget, {
      place: (request) => this.#place(request),
      run: (request, placed, permit, signal) => this.#run(request, placed, permit, signal),
    });
  }

  supports(url: string | URL): boolean {
    try {
      return this.schemes.includes(schemeOf(url instanceof URL ? url : new URL(url)));
    } catch {
      return false;
    }
  }

  async session(scheme: string): Promise<Session> {
    const guard = this.#guards.get(scheme.toLowerCase().replace(/:$/, ''));
    if (!guard) throw this.#unsupported(scheme);
    await guard.session();
    return guard;
  }

  stats() {
    return this.#progress.stats(this.#budget.throttledHosts?.());
  }

  on: DownloaderFactory['on'] = (event, listener) => this.#progress.on(event, listener);

  async download<C>(
    request: DownloadRequest<C>,
    options: CallOptions = {},
  ): Promise<DownloadResult<C>> {
    this.#assertOpen();
    return this.#run(request, this.#place(request), undefined, options.signal);
  }

  async open<C>(
    request: DownloadRequest<C>,
    options: CallOptions = {},
  ): Promise<OpenedDownload<C>> {
    this.#assertOpen();
    const placed = this.#place(request);
    const link = linkedAbort(options.signal, request.signal, this.#destroyer.signal);
    const sink = new ChannelSink(() => link.abort(abortError()));
    // A chunk waiting for a reader that will never come must not pin the attempt loop.
    link.signal.addEventListener('abort', () => void sink.abort(abortError(link.signal.reason)), {
      once: true,
    });
    const result = this.#track(() =>
      runDownload(request, placed.url, sink, this.#attempts, link.signal).finally(() =>
        link.dispose(),
      ),
    );
    const first = await Promise.race([sink.firstMetadata, result.then(() => undefined)]);
    if (first === undefined)
      throw new DownloadError('The download ended before it opened', { code: ErrorCodes.Internal });
    result.catch(() => {});
    return {
      get metadata() {
        return sink.metadata ?? first;
      },
      body: sink.read(),
      result,
      abort: (reason?: unknown) => link.abort(abortError(reason)),
      [Symbol.asyncDispose]: async () => {
        link.abort(abortError());
        await result.catch(() => {});
      },
    };
  }

  downloadAll<C>(
    requests: Iterable<DownloadRequest<C>> | AsyncIterable<DownloadRequest<C>>,
    options: DownloadAllOptions = {},
  ): AsyncIterable<DownloadOutcome<C>> {
    this.#assertOpen();
    return this.#scheduler.run(requests, options, this.#destroyer.signal);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
      await Promise.allSettled([...new Set(this.#guards.values())].map((g) => g.close()));
      await this.#closeBudget();
    })();
    return this.#closing;
  }

  /** The budget is closed once, after the last transfer gave its permit back. */
  #closeBudget(): Promise<void> {
    this.#budgetClosed ??= Promise.resolve(this.#budget.close?.()).catch((error: unknown) => {
      (this.#options.logger ?? silent).warn('closing the admission budget failed', { error });
    });
    return this.#budgetClosed;
  }

  async destroy(): Promise<void> {
    this.#destroyer.abort(
      new DownloadError('The factory was destroyed', { code: ErrorCodes.Closed }),
    );
    const closing = this.#closing;
    this.#closing = (async () => {
      await Promise.allSettled([...new Set(this.#guards.values())].map((g) => g.destroy()));
      while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
      await closing?.catch(() => {});
      await this.#closeBudget();
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  toJSON(): FactoryConfig {
    const policy = this.#attempts.policy;
    return {
      dl: 1,
      limits: { ...this.#limits },
      retry: {
        maxAttempts: policy.maxAttempts,
        baseDelayMs: policy.baseDelayMs,
        maxDelayMs: policy.maxDelayMs,
      },
      ...(this.#options.userAgent ? { userAgent: this.#options.userAgent } : {}),
      adapters: this.#options.adapters.map((adapter, i) => {
        if (typeof adapter.toJSON !== 'function') {
          throw invalidOption(
            `adapters[${i}] ("${adapter.name}"): has no toJSON() returning its options, so it cannot be handed over`,
          );
        }
        return { name: adapter.name, options: adapter.toJSON() };
      }),
      interceptors: (this.#options.interceptors ?? []).map((interceptor, i) => {
        const data = interceptor.toJSON?.() as { type?: unknown; options?: unknown } | undefined;
        if (typeof data?.type !== 'string') {
          throw invalidOption(
            `interceptors[${i}]: has no toJSON() returning { type, options }, so it cannot be handed over`,
          );
        }
        return { type: data.type, options: data.options ?? {} };
      }),
    };
  }

  #place(request: DownloadRequest<unknown>): PlacedRequest {
    const url = checkRequest(request);
    if (!this.schemes.includes(schemeOf(url))) throw this.#unsupported(url.protocol, url);
    return { url, origin: originOf(url) };
  }

  #run<C>(
    request: DownloadRequest<C>,
    placed: PlacedRequest,
    permit: Permit | undefined,
    signal: AbortSignal | undefined,
  ): Promise<DownloadResult<C>> {
    if (this.#closing !== undefined) {
      permit?.release();
      return Promise.reject(factoryClosed());
    }
    // A batch's signal already follows the factory's lifetime: link only what is not.
    const owned = permit !== undefined && request.signal === undefined && signal !== undefined;
    const link = owned ? undefined : linkedAbort(signal, request.signal, this.#destroyer.signal);
    const split = request.split ?? this.#split;
    if (split > 1 && this.#splits(request, placed.url)) {
      const options = { split, minSegment: this.#splitMinSize, files: this.#files };
      return this.#track(() =>
        runSegmented(
          request,
          placed.url,
          this.#attempts,
          link?.signal ?? signal!,
          permit,
          options,
        ).finally(() => link?.dispose()),
      );
    }
    const sink = this.#sinkFor(request);
    return this.#track(() =>
      runDownload(
        request,
        placed.url,
        sink,
        this.#attempts,
        link?.signal ?? signal!,
        permit,
      ).finally(() => link?.dispose()),
    );
  }

  /** Whether a request asking for a split may be split: a whole file to disk, large enough, resumable. */
  #splits(request: DownloadRequest<unknown>, url: URL): boolean {
    return (
      request.destination !== undefined &&
      request.range === undefined &&
      (request.size === undefined || request.size >= 2 * this.#splitMinSize) &&
      this.#attempts.canResume(url)
    );
  }

  #sinkFor(request: DownloadRequest<unknown>): Sink {
    if (request.destination !== undefined) {
      return new FileSink(request.destination, request.url, this.#files, request);
    }
    if (request.writable !== undefined) return new WritableSink(request.writable);
    return discardSink;
  }

  #track<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closing !== undefined) {
      return Promise.reject(factoryClosed());
    }
    const running = work();
    this.#inFlight.add(running);
    const forget = () => this.#inFlight.delete(running);
    running.then(forget, forget);
    return running;
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw factoryClosed();
  }

  #guardFor(url: URL): LifecycleGuard {
    const guard = this.#guards.get(schemeOf(url));
    if (!guard) throw this.#unsupported(url.protocol, url);
    return guard;
  }

  #unsupported(scheme: string, url?: URL): DownloadError {
    const name = scheme.replace(/:$/, '');
    return new DownloadError(
      `No adapter serves the "${name}:" scheme (registered: ${this.schemes.map((s) => `${s}:`).join(', ')})`,
      {
        code: ErrorCodes.UnsupportedScheme,
        details: { scheme: name, registered: this.schemes },
        ...(url ? { url } : {}),
      },
    );
  }
}

function factoryClosed(): DownloadError {
  return new DownloadError('The factory is closed', { code: ErrorCodes.Closed });
}

function schemeOf(url: URL): string {
  return url.protocol.slice(0, -1).toLowerCase();
}

/**
 * How long an adapter may keep a connection idle when the budget counts
 * connections (`AdmissionBudget.connections`): an idle connection holds one
 * of its host's fleet-wide slots, so it is kept only for quick reuse.
 */
const GATED_MAX_IDLE_MS = 1_000;

/**
 * How long a connection lease outlives the close of its connection: the
 * server learns of a close after the client (the FIN's trip, its event
 * loop; the fleet test's loaded server was seen over 100 ms late), and
 * another process must not open a connection in its place before the
 * server counted this one out.
 */
const CLOSE_GRACE_MS = 300;

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw invalidOption(`${name}: must be a whole number ≥ 1, got ${value}`);
  return value;
}

function wholeNumber(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw invalidOption(`${name}: must be a whole number ≥ 0, got ${value}`);
  return value;
}

function bytesPerSecond(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1)
    throw invalidOption(`${name}: must be a number of bytes per second ≥ 1, got ${value}`);
  return value;
}

function invalidOption(message: string): DownloadError {
  return new DownloadError(`Invalid factory option ${message}`, {
    code: ErrorCodes.InvalidRequest,
  });
}
