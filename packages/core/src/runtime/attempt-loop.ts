import type { DownloadRequest } from '../contracts/download-request.js';
import type { DownloadResult } from '../contracts/download-result.js';
import type { OpenFunction } from '../contracts/open-function.js';
import type { OpenRequest } from '../contracts/open-request.js';
import type { RemoteMetadata, RemoteResource } from '../contracts/remote-resource.js';
import { abortError, DownloadError, toDownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { ValidationError } from '../errors/validation-error.js';
import { linkedAbort } from '../util/linked-abort.js';
import { originOf } from '../util/origin.js';
import { redactUrl } from '../util/redact.js';
import { Validation } from '../validation/validation.js';
import { backoffDelay, sleep, type RetryPolicy } from './backoff.js';
import { endAttempt } from './attempt-end.js';
import { hostSignalOf } from './host-signal.js';
import { discardBody } from './guarded-body.js';
import { changedSince, resumeProvable } from './resume-proof.js';
import type { AdmissionBudget, Permit } from '../contracts/admission-budget.js';
import type { ProgressHub } from './progress-hub.js';
import type { Sink } from './sink.js';

/** What the attempt loop needs from its factory. */
export interface AttemptContext {
  readonly open: OpenFunction;
  readonly budget: AdmissionBudget;
  readonly policy: RetryPolicy;
  readonly progress: ProgressHub;
  /** Whether the adapter serving `url` can start at an offset. */
  canResume(url: URL): boolean;
}

/** Per-run extras: a pre-granted permit, a hook for the first metadata, a stricter retry rule. */
export interface AttemptOptions {
  readonly signal: AbortSignal;
  readonly permit?: Permit;
  /** Called with each attempt's metadata before its body is read. */
  readonly onMetadata?: (metadata: RemoteMetadata) => void;
  /**
   * True once bytes went somewhere they cannot be taken back from (open(): the
   * reader got them). From then on a failure may still RESUME at the offset
   * reached when that provably continues the same bytes, but never restarts
   * from byte 0: the bytes would be handed out twice.
   */
  readonly irrevocable?: () => boolean;
}

/**
 * Runs one download to the end: attempts with backoff (holding no slot while
 * waiting), resume from the offset reached with the hash state kept, restart
 * into a fresh sink otherwise, validation of every chunk, and the sink's
 * commit only after everything validated. On any failure the sink is aborted
 * before the error surfaces.
 */
export async function runAttempts<C>(
  request: DownloadRequest<C>,
  url: URL,
  sink: Sink,
  context: AttemptContext,
  options: AttemptOptions,
): Promise<DownloadResult<C>> {
  const { signal } = options;
  const started = Date.now();
  const shownUrl = redactUrl(url);
  const origin = originOf(url);
  const validation = new Validation(request, shownUrl);
  const progress = context.progress;
  const id = progress.nextId();
  progress.started();
  if (progress.wants('download-start')) {
    progress.emit('download-start', {
      id,
      url: shownUrl,
      ...(request.destination === undefined ? {} : { destination: request.destination }),
    });
  }
  const wantsProgress = progress.wants('download-progress');
  const rangeStart = request.range?.start ?? 0;
  let permit = options.permit;
  let offset = 0;
  let attempts = 0;
  let resumedBytes = 0;
  let resumeFrom: RemoteMetadata | undefined;
  let ok = false;
  let failure: DownloadError | undefined;
  try {
    for (;;) {
      attempts++;
      permit ??= await context.budget.acquire(origin, signal);
      const attempt = linkedAbort(signal);
      let failed = true;
      const attemptStart = Date.now();
      let resource: RemoteResource | undefined;
      let reading = false;
      let received = 0;
      try {
        // Assigned rather than spread: a conditional spread allocates a throwaway object.
        const open: Mutable<OpenRequest> = {
          url,
          offset: rangeStart + offset,
          headers: request.headers ?? NO_HEADERS,
          signal: attempt.signal,
          attempt: attempts,
          maxAttempts: context.policy.maxAttempts,
          download: request as DownloadRequest<unknown>,
        };
        if (request.range?.end !== undefined) open.end = request.range.end;
        if (resumeFrom !== undefined) open.resumeFrom = resumeFrom;
        resource = await context.open(open);
        const metadata = resource.metadata;
        // Every attempt may bring expectations (a mirror set learns a metalink late).
        if (validation.expect(resource.expect) && offset > 0) {
          await restart();
          throw new DownloadError(
            'New digests were learnt after bytes were hashed: restarting from byte 0',
            {
              code: ErrorCodes.ProtocolError,
              retryable: true,
              url,
            },
          );
        }
        if (metadata.offset !== rangeStart + offset) {
          if (metadata.offset !== rangeStart) {
            throw new DownloadError(
              `The remote started at byte ${metadata.offset}, not ${rangeStart + offset}`,
              {
                code: ErrorCodes.ProtocolError,
                // A remote that cannot start a range where asked will not on a retry either.
                retryable: request.range === undefined || offset > 0,
                url,
              },
            );
          }
          if (offset > 0) await restart();
        }
        // Resuming irrevocable bytes: the remote continued at the offset, but it must also be
        // the same file (same size; same validators when the same URL answered).
        if (resumeFrom !== undefined && offset > 0 && options.irrevocable?.()) {
          const changed = changedSince(resumeFrom, metadata);
          if (changed !== undefined)
            throw cannotContinue(url, offset, `the remote file changed: ${changed}`);
        }
        if (request.range === undefined) validation.begin(metadata);
        options.onMetadata?.(metadata);
        reading = true;
        for await (const chunk of resource.body) {
          if (request.range === undefined) validation.update(chunk);
          const pending = sink.write(chunk);
          if (pending) await pending;
          offset += chunk.byteLength;
          received += chunk.byteLength;
          progress.received(chunk.byteLength);
          // Bandwidth caps: a promise only when the budget says wait (the socket backs up meanwhile).
          const paced = context.budget.takeBytes?.(origin, chunk.byteLength, attempt.signal);
          if (paced) await paced;
          if (wantsProgress) {
            progress.emit('download-progress', {
              id,
              url: shownUrl,
              bytes: offset,
              chunk: chunk.byteLength,
              ...(metadata.size === undefined ? {} : { total: metadata.size }),
            });
          }
        }
        // Whatever the adapter: a body that ends short of what it announced was cut.
        if (metadata.length !== undefined && received < metadata.length) {
          throw new DownloadError(
            `The body ended after ${received} of ${metadata.length} announced bytes`,
            {
              code: ErrorCodes.ProtocolError,
              retryable: true,
              url,
              details: { expected: metadata.length, actual: received },
            },
          );
        }
        const digests = request.range === undefined ? validation.finish() : {};
        resource.onSettled?.({ ok: true, bytes: received, durationMs: Date.now() - attemptStart });
        const path = await sink.commit();
        ok = true;
        failed = false;
        const result: Mutable<DownloadResult<C>> = {
          context: request.context as C,
          requestedUrl: shownUrl,
          url: metadata.url,
          size: offset,
          digests,
          metadata,
          attempts,
          resumedBytes,
          durationMs: Date.now() - started,
        };
        if (path !== undefined) result.path = path;
        return result;
      } catch (thrown) {
        const error = signal.aborted
          ? abortError(signal.reason, url)
          : toDownloadError(thrown, url);
        // A body the loop never took is freed here; one it read was returned by `for await`.
        if (resource !== undefined && !reading) discardBody(resource.body);
        resource?.onSettled?.({
          ok: false,
          error,
          bytes: received,
          durationMs: Date.now() - attemptStart,
        });
        if (context.budget.hostSignal !== undefined && !signal.aborted) {
          const said = hostSignalOf(error);
          // The host that answered may be a mirror behind a virtual scheme: blame its own origin.
          if (said !== undefined) context.budget.hostSignal(originOfError(error, origin), said);
        }
        // The resume-vs-restart rule. Irrevocable bytes (open(): the reader has them) allow
        // only a resume that can be proven to continue them (a validator the adapter checks,
        // or digests over the whole file); a restart from byte 0 would hand them out twice,
        // so then the download fails with this error (the streamer resets its client).
        const irrevocable = options.irrevocable?.() === true;
        const resumable =
          offset > 0 &&
          !ValidationError.isInstance(error) &&
          context.canResume(url) &&
          (!irrevocable || resumeProvable(request, resource?.metadata ?? resumeFrom));
        if (
          !shouldRetry(error, resource, attempts, context.policy.maxAttempts) ||
          (irrevocable && !resumable)
        ) {
          throw signal.aborted ? error : (resource?.finalError?.(error) ?? error);
        }
        if (resumable) {
          resumeFrom = resource?.metadata ?? resumeFrom;
          resumedBytes = offset;
        } else if (offset > 0) {
          await restart();
        }
        permit.release();
        permit = undefined;
        await sleep(backoffDelay(context.policy, attempts, error.retryAfterMs), signal);
      } finally {
        // A failed attempt is aborted, so the adapter stops whatever it still does;
        // a successful one is only let go of (its body was read to the end).
        if (failed) attempt.abort(attemptFailed);
        else attempt.dispose();
        endAttempt(attempt.signal);
      }
    }
  } catch (thrown) {
    failure = signal.aborted ? abortError(signal.reason, url) : toDownloadError(thrown, url);
    await sink.abort(failure);
    throw failure;
  } finally {
    permit?.release();
    progress.ended(ok);
    if (progress.wants('download-end')) {
      progress.emit('download-end', {
        id,
        url: shownUrl,
        ok,
        bytes: offset,
        attempts,
        durationMs: Date.now() - started,
        ...(failure === undefined ? {} : { code: failure.code }),
      });
    }
  }

  async function restart(): Promise<void> {
    // Never from byte 0 once bytes are irrevocable (a remote that answered a resume from the
    // start, new digests learnt mid-body): the download fails instead.
    if (offset > 0 && options.irrevocable?.()) {
      throw cannotContinue(url, offset, 'the remote would start again from byte 0');
    }
    validation.reset();
    await sink.restart();
    offset = 0;
    resumedBytes = 0;
    resumeFrom = undefined;
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
