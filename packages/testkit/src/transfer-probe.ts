import { DownloadError, ErrorCodes, type OpenInterceptor, type RemoteResource } from '@dl/core';
import type { Readable } from 'node:stream';

/**
 * Counts the transfers the core runs through an adapter and breaks chosen
 * ones, from an interceptor around `open`. For adapters with no server of
 * their own to count or misbehave (local files), and for tests that need a
 * break without a fault-injecting server.
 */
export interface TransferProbe {
  /** Put this in the factory's `interceptors`. */
  readonly interceptor: OpenInterceptor;
  /** Transfers open now: from `open` until the body ended, failed, was abandoned or aborted. */
  active(): number;
  /** Most transfers open at once since the probe was made or `resetPeak`. */
  peak(): number;
  /** Sets the peak back to what is open now. */
  resetPeak(): void;
  /** Opens seen so far. */
  opens(): number;
  /**
   * Breaks the body of the next transfer of `url` after `bytes` bytes with a
   * retryable `connection-failed`, the way a dropped connection would.
   */
  cutNext(url: string | URL, bytes: number): void;
}

/** Creates a {@link TransferProbe}. */
export function createTransferProbe(): TransferProbe {
  const cuts = new Map<string, number>();
  let active = 0;
  let peak = 0;
  let opens = 0;

  const interceptor: OpenInterceptor = (next) => async (request) => {
    opens++;
    active++;
    peak = Math.max(peak, active);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      active--;
      request.signal.removeEventListener('abort', release);
    };
    request.signal.addEventListener('abort', release, { once: true });
    let resource: RemoteResource;
    try {
      resource = await next(request);
    } catch (error) {
      release();
      throw error;
    }
    const key = request.url.href;
    const cutAfter = cuts.get(key);
    cuts.delete(key);
    return { ...resource, body: probeBody(resource.body, release, cutAfter, request.url) };
  };

  return {
    interceptor,
    active: () => active,
    peak: () => peak,
    resetPeak() {
      peak = active;
    },
    opens: () => opens,
    cutNext(url, bytes) {
      cuts.set(new URL(url).href, bytes);
    },
  };
}

function probeBody(
  body: AsyncIterable<Uint8Array> | Readable,
  release: () => void,
  cutAfter: number | undefined,
  url: URL,
): AsyncIterable<Uint8Array> {
  let iterator: AsyncIterator<Uint8Array> | undefined;
  const inner = () => (iterator ??= (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]());
  let sent = 0;
  let done = false;
  let cut = false;
  // Returning the inner iterator even when it was never started frees it (a Readable is destroyed).
  const finish = async () => {
    if (done) return;
    done = true;
    release();
    await inner().return?.();
  };
  const broken = () =>
    new DownloadError(`Transfer cut after ${sent} bytes (probe)`, {
      code: ErrorCodes.ConnectionFailed,
      retryable: true,
      url,
    });
  return {
    [Symbol.asyncIterator]: () => ({
      async next(): Promise<IteratorResult<Uint8Array>> {
        if (done) return { done: true, value: undefined };
        if (cut) {
          await finish();
          throw broken();
        }
        let step: IteratorResult<Uint8Array>;
        try {
          step = await inner().next();
        } catch (error) {
          done = true;
          release();
          throw error;
        }
        if (step.done) {
          done = true;
          release();
          return step;
        }
        let chunk = step.value;
        if (cutAfter !== undefined && sent + chunk.byteLength >= cutAfter) {
          chunk = chunk.subarray(0, cutAfter - sent);
          cut = true;
          if (chunk.byteLength === 0) {
            await finish();
            throw broken();
          }
        }
        sent += chunk.byteLength;
        return { done: false, value: chunk };
      },
      async return(): Promise<IteratorResult<Uint8Array>> {
        await finish();
        return { done: true, value: undefined };
      },
    }),
  };
}
