import { Readable } from 'node:stream';
import { abortError } from '../errors/download-error.js';

/**
 * The body of an opened resource as an async iterable that honours `signal`
 * even when the adapter does not: a Readable is destroyed on abort, and a
 * pending `next()` of any other iterator is abandoned with an abort error
 * (and the iterator told to `return`).
 */
export function guardedBody(
  body: AsyncIterable<Uint8Array> | Readable,
  signals: readonly AbortSignal[],
): AsyncIterable<Uint8Array> {
  if (body instanceof Readable) {
    // Reading surfaces the stream's error; a body abandoned before it was read
    // must not turn its abort into an uncaught 'error' event.
    body.on('error', () => {});
    const destroy = function (this: AbortSignal) {
      body.destroy(abortError(this.reason));
    };
    for (const signal of signals) {
      if (signal.aborted) destroy.call(signal);
      else signal.addEventListener('abort', destroy, { once: true });
    }
    body.once('close', () => {
      for (const signal of signals) signal.removeEventListener('abort', destroy);
    });
    return body;
  }
  const aborted = () => signals.find((s) => s.aborted);
  return {
    [Symbol.asyncIterator]() {
      const iterator = body[Symbol.asyncIterator]();
      return {
        next() {
          const gone = aborted();
          if (gone) return abandon(gone);
          return new Promise<IteratorResult<Uint8Array>>((resolve, reject) => {
            const stop = () => {
              for (const s of signals) s.removeEventListener('abort', onAbort);
            };
            const onAbort = function (this: AbortSignal) {
              stop();
              abandon(this).then(resolve, reject);
            };
            for (const s of signals) s.addEventListener('abort', onAbort, { once: true });
            iterator.next().then(
              (r) => {
                stop();
                resolve(r);
              },
              (e: unknown) => {
                stop();
                reject(e);
              },
            );
          });
        },
        async return() {
          await iterator.return?.();
          return { done: true, value: undefined };
        },
      };
      function abandon(signal: AbortSignal): Promise<IteratorResult<Uint8Array>> {
        void Promise.resolve(iterator.return?.()).catch(() => {});
        return Promise.reject(abortError(signal.reason));
      }
    },
  };
}

/** Frees a body that will never be read (its open resolved after the caller gave up). */
export function discardBody(body: AsyncIterable<Uint8Array> | Readable): void {
  if (body instanceof Readable) body.destroy();
  else void Promise.resolve(body[Symbol.asyncIterator]().return?.()).catch(() => {});
}
