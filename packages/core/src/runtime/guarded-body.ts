import { Readable } from 'node:stream';
import {
  isPushable,
  type BodyConsumer,
  type PushableBody,
  type RemoteResource,
} from '../contracts/remote-resource.js';
import { abortError } from '../errors/download-error.js';
import { listenAbort, unlistenAbort } from '../util/abort-fanout.js';

/**
 * The body of an opened resource as an async iterable that honours `signal`
 * even when the adapter does not: a Readable is destroyed on abort, and a
 * pending `next()` of any other iterator is abandoned with an abort error
 * (and the iterator told to `return`). `onEnd` runs once when the body is
 * over: read to the end, failed, given back or destroyed.
 */
export function guardedBody(
  body: RemoteResource['body'],
  signals: readonly AbortSignal[],
  onEnd: () => void = noop,
): AsyncIterable<Uint8Array> | PushableBody {
  if (body instanceof Readable) {
    // Reading surfaces the stream's error; a body abandoned before it was read
    // must not turn its abort into an uncaught 'error' event.
    body.on('error', noop);
    const destroy = function (this: AbortSignal) {
      body.destroy(abortError(this.reason));
    };
    for (const signal of signals) {
      if (signal.aborted) destroy.call(signal);
      else listenAbort(signal, destroy);
    }
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      for (const signal of signals) unlistenAbort(signal, destroy);
      onEnd();
    };
    // 'end' as well as 'close': a stream made with `emitClose: false` never closes.
    body.once('end', end);
    body.once('close', end);
    return body;
  }
  if (isPushable(body)) return guardedPushable(body, signals, onEnd);
  return guardedIterable(body, signals, onEnd);
}

/** {@link guardedBody} for a body that can push: either way of reading it is guarded, `onEnd` runs once. */
function guardedPushable(
  body: PushableBody,
  signals: readonly AbortSignal[],
  onEnd: () => void,
): PushableBody {
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    onEnd();
  };
  const iterable = guardedIterable(body, signals, end);
  return {
    [Symbol.asyncIterator]: () => iterable[Symbol.asyncIterator](),
    pushTo(consumer: BodyConsumer): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        let done = false;
        const finish = () => {
          done = true;
          for (const s of signals) unlistenAbort(s, onAbort);
          end();
        };
        const onAbort = function (this: AbortSignal) {
          if (done) return;
          finish();
          reject(abortError(this.reason));
        };
        for (const s of signals) {
          if (s.aborted) {
            onAbort.call(s);
            // Still handed to the adapter, so that it frees the body; the consumer refuses it.
            break;
          }
          listenAbort(s, onAbort);
        }
        // An adapter that pushes on after an abort gets a refusal, which stops it.
        const guarded: BodyConsumer = {
          data: (chunk) => (done ? Promise.reject(abortError(undefined)) : consumer.data(chunk)),
        };
        body.pushTo(guarded).then(
          () => {
            if (done) return;
            finish();
            resolve();
          },
          (error: unknown) => {
            if (done) return;
            finish();
            reject(error);
          },
        );
      });
    },
  };
}

/** {@link guardedBody} for any other async iterable. */
function guardedIterable(
  body: AsyncIterable<Uint8Array>,
  signals: readonly AbortSignal[],
  onEnd: () => void,
): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      const iterator = body[Symbol.asyncIterator]();
      // One listener per signal for the whole body, not one per chunk: it
      // fails whichever `next()` is pending when a signal aborts.
      let pending: ((error: unknown) => void) | undefined;
      let listening = false;
      let finished = false;
      const onAbort = function (this: AbortSignal) {
        const fail = pending;
        pending = undefined;
        stop();
        void Promise.resolve(iterator.return?.()).catch(() => {});
        fail?.(abortError(this.reason));
      };
      const stop = (ends = true) => {
        if (!finished) {
          finished = true;
          if (ends) onEnd();
        }
        if (!listening) return;
        listening = false;
        for (const s of signals) unlistenAbort(s, onAbort);
      };
      return {
        next(): Promise<IteratorResult<Uint8Array>> {
          const gone = signals.find((s) => s.aborted);
          if (gone !== undefined) {
            stop();
            void Promise.resolve(iterator.return?.()).catch(() => {});
            return Promise.reject(abortError(gone.reason));
          }
          if (!listening && !finished) {
            listening = true;
            for (const s of signals) listenAbort(s, onAbort);
          }
          return new Promise<IteratorResult<Uint8Array>>((resolve, reject) => {
            pending = reject;
            iterator.next().then(
              (r) => {
                if (pending !== reject) return;
                pending = undefined;
                if (r.done) stop();
                resolve(r);
              },
              (e: unknown) => {
                if (pending !== reject) return;
                pending = undefined;
                stop();
                reject(e);
              },
            );
          });
        },
        async return() {
          const ends = !finished;
          stop(false);
          try {
            await iterator.return?.();
          } finally {
            // Only once the adapter let go of the body does the attempt stop counting.
            if (ends) onEnd();
          }
          return { done: true, value: undefined };
        },
      };
    },
  };
}

function noop(): void {}

/** Frees a body that will never be read (its open resolved after the caller gave up). */
export function discardBody(body: AsyncIterable<Uint8Array> | Readable): void {
  if (body instanceof Readable) body.destroy();
  else void Promise.resolve(body[Symbol.asyncIterator]().return?.()).catch(() => {});
}
