import type { AdmissionBudget, Permit } from '../contracts/admission-budget.js';
import type { DownloadRequest } from '../contracts/download-request.js';
import type { DownloadResult } from '../contracts/download-result.js';
import type { OpenFunction } from '../contracts/open-function.js';
import type { AttemptLifetime, OpenRequest } from '../contracts/open-request.js';
import {
  isPushable,
  type BodyConsumer,
  type RemoteMetadata,
  type RemoteResource,
} from '../contracts/remote-resource.js';
import { abortError, DownloadError, toDownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { ValidationError } from '../errors/validation-error.js';
import { originOf } from '../util/origin.js';
import { redactUrl } from '../util/redact.js';
import { Validation } from '../validation/validation.js';
import { backoffDelay, sleep, type RetryPolicy } from './backoff.js';
import { discardBody } from './guarded-body.js';
import { hostSignalOf } from './host-signal.js';
import { changedSince, resumeProvable } from './resume-proof.js';
import type { ProgressHub } from './progress-hub.js';
import type { Sink } from './sink.js';
import { listenAbort, unlistenAbort } from '../util/abort-fanout.js';

/** What the attempt loop needs from its factory. */
export interface AttemptContext {
  /**
   * The factory's interceptors (outermost first) around the lifecycle guard
   * (`lifecycle-guard.ts`) of the URL's scheme, which calls the adapter.
   */
  readonly open: OpenFunction;
  /** Permits per origin: the factory's budget (`limiter.ts` unless one was passed in). */
  readonly budget: AdmissionBudget;
  readonly policy: RetryPolicy;
  readonly progress: ProgressHub;
  /** Whether the adapter serving `url` can start at an offset. */
  canResume(url: URL): boolean;
}

/**
 * Runs one download to the end: attempts with backoff (holding no slot while
 * waiting), resume from the offset reached with the hash state kept, restart
 * into a fresh sink otherwise, validation of every chunk, and the sink's
 * commit only after everything validated. On any failure the sink is aborted
 * before the error surfaces. `permit`, when given, is the first attempt's.
 */
export function runDownload<C>(
  request: DownloadRequest<C>,
  url: URL,
  sink: Sink,
  context: AttemptContext,
  signal: AbortSignal,
  permit?: Permit,
): Promise<DownloadResult<C>> {
  try {
    return new DownloadRun(request, url, sink, context, signal, permit).run();
  } catch (error) {
    // Expectations that cannot be checked (a validator factory that throws): fail as a rejection.
    return Promise.reject(error as Error);
  }
}

/**
 * One download's state, shared by the steps of each attempt: open it, read
 * and validate its body, finish (commit), or decide on a retry.
 */
class DownloadRun<C> implements BodyConsumer {
  readonly #started = Date.now();
  readonly #shownUrl: string;
  readonly #origin: string;
  readonly #validation: Validation;
  readonly #id: number;
  /** Bytes of the body taken so far (after the range's start), kept across a resume. */
  #offset = 0;
  #attempts = 0;
  /** Bytes the current run of attempts resumed from instead of downloading again. */
  #resumedBytes = 0;
  /** Metadata of the attempt whose bytes are resumed, for the next open. */
  #resumeFrom: RemoteMetadata | undefined;
  /** True once the sink committed. */
  #ok = false;
  /** The attempt whose body is being read, and what its chunks need (see {@link data}). */
  #reading: Attempt | undefined;
  #validating: Validation | undefined;
  #wantsProgress = false;
  #total: number | undefined;

  constructor(
    private readonly request: DownloadRequest<C>,
    private readonly url: URL,
    private readonly sink: Sink,
    private readonly context: AttemptContext,
    private readonly signal: AbortSignal,
    private permit: Permit | undefined,
  ) {
    this.#shownUrl = redactUrl(url);
    this.#origin = originOf(url);
    this.#validation = new Validation(request, this.#shownUrl);
    this.#id = context.progress.nextId();
  }

  async run(): Promise<DownloadResult<C>> {
    const { progress } = this.context;
    progress.started();
    if (progress.wants('download-start')) {
      progress.emit('download-start', {
        id: this.#id,
        url: this.#shownUrl,
        ...(this.request.destination === undefined
          ? {}
          : { destination: this.request.destination }),
      });
    }
    let failure: DownloadError | undefined;
    try {
      if (this.sink.resume !== undefined && this.request.range === undefined) {
        await this.#resumeKept(this.sink.resume.bind(this.sink));
      }
      for (;;) {
        this.#attempts++;
        this.permit ??= await this.context.budget.acquire(this.#origin, this.signal);
        const attempt = new Attempt(this.signal);
        try {
          const resource = await this.#openAttempt(attempt);
          await this.#readBody(attempt, resource);
          const result = await this.#finish(attempt, resource);
          attempt.end(false);
          return result;
        } catch (thrown) {
          const error = this.#decideRetry(attempt, thrown);
          await this.#prepareRetry(error, attempt.resource);
        }
      }
    } catch (thrown) {
      failure = this.signal.aborted
        ? abortError(this.signal.reason, this.url)
        : toDownloadError(thrown, this.url);
      await this.sink.abort(failure);
      throw failure;
    } finally {
      this.permit?.release();
      this.#ended(failure);
    }
  }

  /**
   * Continues a partial an earlier run kept for this destination: its bytes
   * are hashed once (the digest state is incremental), the first open asks
   * for the byte after them with their validators as `resumeFrom` (If-Range,
   * REST, an SFTP offset). A remote that answers from byte 0 restarts whole.
   */
  async #resumeKept(resume: NonNullable<Sink['resume']>): Promise<void> {
    const kept = await resume(this.context.canResume(this.url));
    if (kept === undefined) return;
    try {
      for await (const chunk of kept.prefix) {
        if (this.signal.aborted) break;
        this.#validation.update(chunk);
      }
    } catch {
      // Unreadable, or more bytes than expected: start from zero.
      this.#validation.reset();
      await this.sink.restart();
      return;
    }
    if (this.signal.aborted) throw abortError(this.signal.reason, this.url);
    this.#offset = kept.offset;
    this.#resumedBytes = kept.offset;
    this.#resumeFrom = kept.resumeFrom;
  }

  /** Opens the remote for the next byte wanted and checks where it starts. */
  async #openAttempt(attempt: Attempt): Promise<RemoteResource> {
    const { request, url } = this;
    const rangeStart = request.range?.start ?? 0;
    // Assigned rather than spread: a conditional spread allocates a throwaway object.
    const open: Mutable<OpenRequest> = {
      url,
      offset: rangeStart + this.#offset,
      headers: request.headers ?? NO_HEADERS,
      signal: attempt.signal,
      attempt: this.#attempts,
      maxAttempts: this.context.policy.maxAttempts,
      download: request as DownloadRequest<unknown>,
      lifetime: attempt,
    };
    if (request.range?.end !== undefined) open.end = request.range.end;
    if (this.#resumeFrom !== undefined) open.resumeFrom = this.#resumeFrom;
    // Conditional: only while no byte was taken (a resume continues a file that did change).
    if (request.ifChanged !== undefined && this.#offset === 0) open.ifChanged = request.ifChanged;
    const resource = await this.context.open(open);
    attempt.resource = resource;
    const metadata = resource.metadata;
    if (metadata.notModified === true) {
      if (open.ifChanged !== undefined) return resource; // #finish keeps the existing file
      throw new DownloadError('The remote answered "not modified" to an unconditional open', {
        code: ErrorCodes.ProtocolError,
        retryable: true,
        url,
      });
    }
    // Every attempt may bring expectations (a mirror set learns a metalink late).
    if (this.#validation.expect(resource.expect) && this.#offset > 0) {
      await this.#restart();
      throw new DownloadError(
        'New digests were learnt after bytes were hashed: restarting from byte 0',
        { code: ErrorCodes.ProtocolError, retryable: true, url },
      );
    }
    if (metadata.offset !== rangeStart + this.#offset) {
      if (metadata.offset !== rangeStart) {
        throw new DownloadError(
          `The remote started at byte ${metadata.offset}, not ${rangeStart + this.#offset}`,
          {
            code: ErrorCodes.ProtocolError,
            // A remote that cannot start a range where asked will not on a retry either.
            retryable: request.range === undefined || this.#offset > 0,
            url,
          },
        );
      }
      if (this.#offset > 0) await this.#restart();
    }
    // Resuming irrevocable bytes: the remote continued at the offset, but it must also be
    // the same file (same size; same validators when the same URL answered).
    if (this.#resumeFrom !== undefined && this.#offset > 0 && this.sink.irrevocable === true) {
      const changed = changedSince(this.#resumeFrom, metadata);
      if (changed !== undefined)
        throw cannotContinue(url, this.#offset, `the remote file changed: ${changed}`);
    }
    if (request.range === undefined) this.#validation.begin(metadata);
    this.sink.opened?.(metadata);
    return resource;
  }

  /**
   * Feeds every chunk to validation and the sink, pushed by the adapter when
   * its body can push (no promise per chunk), else iterated; a body cut
   * short of its announced length fails.
   */
  async #readBody(attempt: Attempt, resource: RemoteResource): Promise<void> {
    const { context, request } = this;
    const metadata = resource.metadata;
    this.#reading = attempt;
    this.#validating = request.range === undefined ? this.#validation : undefined;
    this.#wantsProgress = context.progress.wants('download-progress');
    this.#total = metadata.size;
    attempt.reading = true;
    const body = resource.body;
    if (isPushable(body)) {
      await body.pushTo(this);
    } else {
      for await (const chunk of body) {
        const pending = this.data(chunk);
        if (pending) await pending;
      }
    }
    // Whatever the adapter: a body that ends short of what it announced was cut.
    if (metadata.length !== undefined && attempt.received < metadata.length) {
      throw new DownloadError(
        `The body ended after ${attempt.received} of ${metadata.length} announced bytes`,
        {
          code: ErrorCodes.ProtocolError,
          retryable: true,
          url: this.url,
          details: { expected: metadata.length, actual: attempt.received },
        },
      );
    }
  }

  /**
   * Takes the next chunk of the body being read (the {@link BodyConsumer} the
   * adapter pushes to): validation, the sink, progress, bandwidth caps. A
   * promise only when the sink or the budget says wait.
   */
  data(chunk: Uint8Array): Promise<void> | void {
    try {
      this.#validating?.update(chunk);
      const pending = this.sink.write(chunk);
      const bytes = chunk.byteLength;
      if (pending) return pending.then(() => this.#took(bytes));
      return this.#took(bytes);
    } catch (error) {
      // The consumer contract: a failure is a rejection, never a throw into the adapter.
      return Promise.reject(error as Error);
    }
  }

  /** Counts `bytes` the sink took, then waits for the bandwidth budget when it says so. */
  #took(bytes: number): Promise<void> | void {
    const attempt = this.#reading!;
    const { progress, budget } = this.context;
    this.#offset += bytes;
    attempt.received += bytes;
    progress.received(bytes);
    // Bandwidth caps: a promise only when the budget says wait (the socket backs up meanwhile).
    const paced = budget.takeBytes?.(this.#origin, bytes, attempt.signal);
    if (paced) return paced.then(() => this.#progressed(bytes));
    this.#progressed(bytes);
  }

  #progressed(bytes: number): void {
    if (!this.#wantsProgress) return;
    this.context.progress.emit('download-progress', {
      id: this.#id,
      url: this.#shownUrl,
      bytes: this.#offset,
      chunk: bytes,
      ...(this.#total === undefined ? {} : { total: this.#total }),
    });
  }

  /** Checks the digests, commits the sink and builds the result. */
  async #finish(attempt: Attempt, resource: RemoteResource): Promise<DownloadResult<C>> {
    const { request } = this;
    // Not modified (`ifChanged`): nothing was validated, nothing is committed, the file stays.
    const unchanged = resource.metadata.notModified === true;
    const digests = request.range === undefined && !unchanged ? this.#validation.finish() : {};
    resource.onSettled?.({
      ok: true,
      bytes: attempt.received,
      durationMs: Date.now() - attempt.started,
    });
    const path = unchanged
      ? await this.sink.abort().then(() => request.destination)
      : await this.sink.commit();
    this.#ok = true;
    const result: Mutable<DownloadResult<C>> = {
      context: request.context as C,
      requestedUrl: this.#shownUrl,
      url: resource.metadata.url,
      size: unchanged ? (request.ifChanged?.size ?? resource.metadata.size ?? 0) : this.#offset,
      digests,
      metadata: resource.metadata,
      attempts: this.#attempts,
      resumedBytes: this.#resumedBytes,
      durationMs: Date.now() - this.#started,
    };
    if (path !== undefined) result.path = path;
    if (unchanged) result.unchanged = true;
    return result;
  }

  /**
   * Ends a failed attempt and returns why it failed when another attempt
   * may follow; throws the download's final error otherwise.
   */
  #decideRetry(attempt: Attempt, thrown: unknown): DownloadError {
    const { signal, context, url } = this;
    try {
      const error = signal.aborted ? abortError(signal.reason, url) : toDownloadError(thrown, url);
      const resource = attempt.resource;
      // A body the loop never took is freed here; one it read was returned by `for await`.
      if (resource !== undefined && !attempt.reading) discardBody(resource.body);
      resource?.onSettled?.({
        ok: false,
        error,
        bytes: attempt.received,
        durationMs: Date.now() - attempt.started,
      });
      if (context.budget.hostSignal !== undefined && !signal.aborted) {
        const said = hostSignalOf(error);
        // The host that answered may be a mirror behind a virtual scheme: blame its own origin.
        if (said !== undefined) context.budget.hostSignal(originOfError(error, this.#origin), said);
      }
      // The resume-vs-restart rule. Irrevocable bytes (open(): the reader has them) allow
      // only a resume that can be proven to continue them (a validator the adapter checks,
      // or digests over the whole file); a restart from byte 0 would hand them out twice,
      // so then the download fails with this error (the streamer resets its client).
      if (
        !shouldRetry(error, resource, this.#attempts, context.policy.maxAttempts) ||
        (this.sink.irrevocable === true && !this.#canResumeHandedOut(error, resource))
      ) {
        throw signal.aborted ? error : (resource?.finalError?.(error) ?? error);
      }
      return error;
    } finally {
      attempt.end(true);
    }
  }

  /** Whether bytes already handed out can be continued after `error`: resumed, provably the same file. */
  #canResumeHandedOut(error: DownloadError, resource: RemoteResource | undefined): boolean {
    return (
      this.#offset > 0 &&
      !ValidationError.isInstance(error) &&
      this.context.canResume(this.url) &&
      resumeProvable(this.request, resource?.metadata ?? this.#resumeFrom)
    );
  }

  /** Resumes from the offset reached or restarts, then waits out the backoff without a permit. */
  async #prepareRetry(error: DownloadError, resource: RemoteResource | undefined): Promise<void> {
    const { context, url } = this;
    if (this.#offset > 0) {
      if (!ValidationError.isInstance(error) && context.canResume(url)) {
        this.#resumeFrom = resource?.metadata ?? this.#resumeFrom;
        this.#resumedBytes = this.#offset;
      } else {
        await this.#restart();
      }
    }
    this.permit!.release();
    this.permit = undefined;
    await sleep(backoffDelay(context.policy, this.#attempts, error.retryAfterMs), this.signal);
  }

  /** Forgets every byte taken: the next attempt starts from the range's start. */
  async #restart(): Promise<void> {
    // Never from byte 0 once bytes are irrevocable (a remote that answered a resume from the
    // start, new digests learnt mid-body): the download fails instead.
    if (this.#offset > 0 && this.sink.irrevocable === true) {
      throw cannotContinue(this.url, this.#offset, 'the remote would start again from byte 0');
    }
    this.#validation.reset();
    await this.sink.restart();
    this.#offset = 0;
    this.#resumedBytes = 0;
    this.#resumeFrom = undefined;
  }

  #ended(failure: DownloadError | undefined): void {
    const { progress } = this.context;
    progress.ended(this.#ok);
    if (progress.wants('download-end')) {
      progress.emit('download-end', {
        id: this.#id,
        url: this.#shownUrl,
        ok: this.#ok,
        bytes: this.#offset,
        attempts: this.#attempts,
        durationMs: Date.now() - this.#started,
        ...(failure === undefined ? {} : { code: failure.code }),
      });
    }
  }
}

/**
 * One attempt: the signal its open and body honour (aborted when the
 * download is cancelled or the attempt fails) and its end, which the loop
 * reports exactly once (see {@link OpenRequest.lifetime}). The attempt is its
 * own listener on the download's signal, so it costs no closure.
 */
class Attempt implements AttemptLifetime {
  readonly #controller = new AbortController();
  readonly #parent: AbortSignal;
  #ends: (() => void) | (() => void)[] | undefined;
  #ended = false;
  readonly started = Date.now();
  /** What the open returned, once it did. */
  resource: RemoteResource | undefined;
  /** True once the loop took the body (it then gives it back itself). */
  reading = false;
  /** Bytes of this attempt's body taken. */
  received = 0;

  constructor(parent: AbortSignal) {
    this.#parent = parent;
    if (parent.aborted) this.#controller.abort(parent.reason);
    else listenAbort(parent, this);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get ended(): boolean {
    return this.#ended;
  }

  handleEvent(): void {
    this.#controller.abort(this.#parent.reason);
  }

  onEnd(fn: () => void): void {
    const ends = this.#ends;
    if (this.#ended) fn();
    else if (ends === undefined) this.#ends = fn;
    else if (typeof ends === 'function') this.#ends = [ends, fn];
    else ends.push(fn);
  }

  /**
   * A failed attempt is aborted first, so the adapter stops whatever it
   * still does; a successful one is only let go of (its body was read to the
   * end). Then what waited for the end runs.
   */
  end(failed: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    unlistenAbort(this.#parent, this);
    if (failed) this.#controller.abort(attemptFailed);
    const ends = this.#ends;
    this.#ends = undefined;
    if (typeof ends === 'function') ends();
    else if (ends !== undefined) for (const fn of ends) fn();
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** Why a failed attempt's signal aborts; built once, since errors are costly. */
const attemptFailed = new DownloadError('The attempt failed', { code: ErrorCodes.Aborted });

/** Irrevocable bytes that no attempt can continue: not retryable, whatever the source. */
function cannotContinue(url: URL, offset: number, why: string): DownloadError {
  return new DownloadError(`The ${offset} bytes already handed out cannot be continued: ${why}`, {
    code: ErrorCodes.ProtocolError,
    retryable: false,
    url,
    details: { offset },
  });
}

function shouldRetry(
  error: DownloadError,
  resource: RemoteResource | undefined,
  attempts: number,
  maxAttempts: number,
): boolean {
  if (
    attempts >= maxAttempts ||
    error.code === ErrorCodes.Aborted ||
    error.code === ErrorCodes.Closed
  )
    return false;
  if (error.retryable) return true;
  const anotherSource =
    resource?.failover === true &&
    (ValidationError.isInstance(error) || error.code === ErrorCodes.NotFound);
  return anotherSource;
}

function originOfError(error: DownloadError, fallback: string): string {
  if (error.url === undefined) return fallback;
  try {
    return originOf(new URL(error.url));
  } catch {
    return fallback;
  }
}
