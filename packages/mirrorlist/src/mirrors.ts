import {
  abortError,
  DownloadError,
  ErrorCodes,
  redactUrl,
  toDownloadError,
  ValidationError,
  type AttemptOutcome,
  type Digests,
  type InterceptorContext,
  type Logger,
  type OpenFunction,
  type OpenInterceptor,
  type OpenRequest,
  type RemoteMetadata,
  type RemoteResource,
} from '@dl/core';
import { allSourcesFailed } from './all-sources-failed.js';
import { FileAttempts } from './file-attempts.js';
import { healthKey, MirrorHealth } from './mirror-health.js';
import { MirrorRouter, type MirrorRoute } from './mirror-route.js';
import type { Source } from './mirror-set.js';
import type { MirrorsOptions } from './mirrors-options.js';
import { mirrorsSettings, type MirrorsSettings } from './mirrors-settings.js';
import { rankSources, type RankContext } from './rank-sources.js';
import { SetLoader } from './set-loader.js';
import { SharedLists } from './shared-lists.js';

/** The interceptor {@link mirrors} returns: serves `mirror:` URLs, resumes, and serializes. */
export interface MirrorsInterceptor extends OpenInterceptor {
  readonly schemes: readonly string[];
  readonly resume: true;
  /** The options as plain data (`random` and `onRefused` left out; credentials in inline mirror URLs redacted). */
  toJSON(): { type: 'mirrors'; options: MirrorsOptions };
  /**
   * Hands over the text of a set's `list` that the caller already fetched
   * (say, a metalink whose files it is about to download), so each factory
   * reads it once instead of fetching the list again. Used while younger
   * than `listTtlMs`; fetched from `list` after that, as usual.
   *
   * @param set - The name of a set that has a `list`.
   * @param text - The list or metalink document as fetched from its `list` URL.
   */
  provideList(set: string, text: string): void;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Headers that carry credentials: never sent to a mirror other than the request's own origin. */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie'];

/**
 * Mirror failover composed around `open`: a request for
 * `mirror://<set>/<path>` (or for a URL under one of a set's inline
 * mirrors) is tried on the set's mirrors, each through whatever adapter
 * serves that mirror's scheme. Failures move the file to another mirror
 * (within the same attempt when nothing was received yet; on the core's
 * next attempt, resumed from the offset reached, after bytes); mirrors that
 * fail are demoted on a cool-down, longer for bad bytes; metalink sizes and
 * hashes join the validation. When no mirror can serve a file the error is
 * `all-sources-failed`, listing each mirror tried and how it failed.
 *
 * Each factory the interceptor is given to keeps its own lists, health and
 * per-file state.
 *
 * @example
 * ```ts
 * const factory = createDownloaderFactory({
 *   adapters: [http(), ftp()],
 *   interceptors: [mirrors({ sets: { fedora: { list: 'https://example.org/mirrorlist?repo=f40' } } })],
 * });
 * await factory.download({ url: 'mirror://fedora/Packages/a/a.rpm', destination: 'a.rpm' });
 * ```
 */
export function mirrors(options: MirrorsOptions): MirrorsInterceptor {
  const settings = mirrorsSettings(options);
  // The context is optional for callers that compose by hand (`interceptor(next)`).
  const shared = new SharedLists(settings.sets, settings.onRefused);
  const interceptor = (next: OpenFunction, context?: InterceptorContext): OpenFunction =>
    failoverOpen(next, settings, context?.log ?? silent, shared);
  return Object.assign(interceptor, {
    schemes: [settings.scheme] as const,
    resume: true as const,
    toJSON: () => ({ type: 'mirrors' as const, options: serialize(settings) }),
    provideList: (set: string, text: string) => shared.give(set, text),
  });
}

function failoverOpen(
  next: OpenFunction,
  settings: MirrorsSettings,
  log: Logger,
  shared: SharedLists,
): OpenFunction {
  const loader = new SetLoader(settings.sets, next, settings, log, shared);
  const router = new MirrorRouter(settings.scheme, Object.keys(settings.sets), loader.inline);
  const health = new MirrorHealth(settings);
  const files = new WeakMap<object, FileAttempts>();
  const ranking: RankContext = {
    health,
    strategy: settings.strategy,
    preferLocations: new Set(settings.preferLocations),
    random: settings.random,
  };

  return async function open(request: OpenRequest): Promise<RemoteResource> {
    const route = router.route(request.url);
    if (route === undefined) return next(request);
    const set = await loader.load(route.set, request.signal);
    const { sources, expect } = set.resolve(route.path);
    const usable = sources.map((s) =>
      route.matched !== undefined && s.mirror.key === route.matched.key
        ? { ...s, url: request.url }
        : s,
    );
    let file = files.get(request.download);
    if (file === undefined) {
      file = new FileAttempts();
      files.set(request.download, file);
    }
    const tried = new Set<string>();
    let last: unknown;
    let retryAfterMs: number | undefined;
    for (;;) {
      const left = usable.filter(
        (s) => !tried.has(s.mirror.key) && !file.exhausted.has(s.mirror.key),
      );
      if (left.length === 0) break;
      const source = await takeSlot(left, request.signal);
      tried.add(source.mirror.key);
      const plan = planFor(request, route, source, file, expect);
      let resource: RemoteResource;
      try {
        resource = await next(plan.request);
      } catch (thrown) {
        health.release(source.url.origin);
        const error = request.signal.aborted
          ? abortError(request.signal.reason, source.url)
          : toDownloadError(thrown, source.url);
        if (error.code === ErrorCodes.Aborted || error.code === ErrorCodes.Closed) throw error;
        blame(source, error);
        file.record(source, error, request.attempt);
        last = error;
        if (error.retryable && error.retryAfterMs !== undefined) {
          retryAfterMs = Math.min(retryAfterMs ?? Infinity, error.retryAfterMs);
        }
        continue;
      }
      return settled(resource, source, file, request, plan, route);
    }
    const retryable = usable.some((s) => !file.exhausted.has(s.mirror.key));
    throw allSourcesFailed(route.set, route.path, request.url, file, retryable, retryAfterMs, last);
  };

  /** The best-ranked source with a free slot; waits for one rather than falling back to a cooling mirror. */
  async function takeSlot(left: readonly Source[], signal: AbortSignal): Promise<Source> {
    for (;;) {
      const ranked = rankSources(left, ranking);
      const healthy = ranked.filter((s) => health.coolingFor(healthKey(s)) === 0);
      for (const source of healthy.length > 0 ? healthy : ranked) {
        if (health.tryAcquire(source.url.origin, source.mirror.maxConnections)) return source;
      }
      await health.released(signal);
    }
  }

  function blame(source: Source, error: DownloadError): void {
    if (ValidationError.isInstance(error)) health.servedBadBytes(healthKey(source));
    else health.failed(healthKey(source));
  }

  /** Wraps the mirror's resource so its end feeds health, the per-file record and the slot. */
  function settled(
    resource: RemoteResource,
    source: Source,
    file: FileAttempts,
    request: OpenRequest,
    plan: Plan,
    route: MirrorRoute,
  ): RemoteResource {
    const origin = source.url.origin;
    file.lastKey = source.mirror.key;
    let done = false;
    const release = () => {
      if (done) return false;
      done = true;
      request.signal.removeEventListener('abort', backstop);
      health.release(origin);
      return true;
    };
    // The core settles every resource it got; this only guards against a caller that does not.
    const backstop = () => void release();
    request.signal.addEventListener('abort', backstop, { once: true });
    return {
      metadata: resource.metadata,
      body: resource.body,
      // Another mirror may serve the file, or the next attempt says that none can.
      failover: true,
      ...(plan.expect === undefined ? {} : { expect: plan.expect }),
      onSettled(outcome: AttemptOutcome) {
        if (!release()) return;
        resource.onSettled?.(outcome);
        if (outcome.ok) {
          health.succeeded(healthKey(source), outcome.bytes, outcome.durationMs);
          return;
        }
        health.measured(healthKey(source), outcome.bytes, outcome.durationMs);
        const error = outcome.error;
        if (error === undefined || NOT_THE_MIRRORS_FAULT.has(error.code)) return;
        blame(source, error);
        file.record(source, error, request.attempt);
      },
      // The file ends with this attempt's failure (bad bytes or a cut on the last attempt): say what every mirror did.
      finalError(error: DownloadError): DownloadError {
        if (NOT_THE_MIRRORS_FAULT.has(error.code)) return resource.finalError?.(error) ?? error;
        return allSourcesFailed(route.set, route.path, request.url, file, false, undefined, error, {
          budgetSpent: true,
        });
      },
    };
  }

  /** What to ask the mirror: where to start, with which resume validators and headers. */
  function planFor(
    request: OpenRequest,
    route: MirrorRoute,
    source: Source,
    file: FileAttempts,
    expect: { size?: number; digests?: Digests } | undefined,
  ): Plan {
    const ranged = request.download.range !== undefined;
    const start = request.download.range?.start ?? 0;
    const expectation = ranged ? undefined : expect;
    const same = file.lastKey === source.mirror.key;
    const verified =
      Object.keys(request.download.digests ?? {}).length > 0 ||
      Object.keys(expectation?.digests ?? {}).length > 0;
    const across =
      settings.resumeAcrossMirrors === 'always' ||
      (settings.resumeAcrossMirrors === 'verified' && verified);
    const resume = request.offset > start && (same || across);
    const requestOrigin = route.matched === undefined ? undefined : request.url.origin;
    const headers =
      source.url.origin === requestOrigin ? request.headers : withoutCredentials(request.headers);
    const resumeFrom = !resume
      ? undefined
      : same
        ? request.resumeFrom
        : request.resumeFrom && foreign(request.resumeFrom);
    const { resumeFrom: _previous, ...rest } = request;
    return {
      request: {
        ...rest,
        url: source.url,
        offset: resume ? request.offset : start,
        headers,
        ...(resumeFrom === undefined ? {} : { resumeFrom }),
      },
      ...(expectation === undefined ? {} : { expect: expectation }),
    };
  }
}

interface Plan {
  readonly request: OpenRequest;
  readonly expect?: { size?: number; digests?: Digests };
}

/** Outcomes that say nothing about the mirror: the caller left, the factory closed, the disk failed. */
const NOT_THE_MIRRORS_FAULT = new Set<string>([
  ErrorCodes.Aborted,
  ErrorCodes.Closed,
  ErrorCodes.WriteFailed,
]);

function withoutCredentials(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!CREDENTIAL_HEADERS.includes(name.toLowerCase())) out[name] = value;
  }
  return out;
}

/** Another mirror's metadata as a resume hint: its size still checks the range, its validators mean nothing here. */
function foreign(previous: RemoteMetadata): RemoteMetadata {
  return {
    url: previous.url,
    offset: previous.offset,
    headers: {},
    ...(previous.size === undefined ? {} : { size: previous.size }),
  };
}

function serialize(settings: MirrorsSettings): MirrorsOptions {
  const sets = Object.fromEntries(
    Object.entries(settings.sets).map(([name, set]) => [
      name,
      {
        ...set,
        ...(set.mirrors === undefined
          ? {}
          : {
              mirrors: set.mirrors.map((m) =>
                typeof m === 'string' ? redactUrl(m) : { ...m, url: redactUrl(m.url) },
              ),
            }),
        ...(set.list === undefined ? {} : { list: redactUrl(set.list) }),
      },
    ]),
  );
  return {
    sets,
    strategy: settings.strategy,
    allowedSchemes: settings.allowedSchemes,
    listTtlMs: settings.listTtlMs,
    maxDocumentBytes: settings.maxDocumentBytes,
    cooldownMs: settings.cooldownMs,
    maxCooldownMs: settings.maxCooldownMs,
    badBytesCooldownMs: settings.badBytesCooldownMs,
    ...(settings.maxConnectionsPerMirror === Infinity
      ? {}
      : { maxConnectionsPerMirror: settings.maxConnectionsPerMirror }),
    preferLocations: settings.preferLocations,
    resumeAcrossMirrors: settings.resumeAcrossMirrors,
    scheme: settings.scheme,
  };
}
