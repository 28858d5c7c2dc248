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
  signal: AbortSignal,
): AsyncIterable<Uint8Array> {
  if (body instanceof Readable) {
    // Reading surfaces the stream's error; a body abandoned before it was read
    // must not turn its abort into an uncaught 'error' event.
    body.on('error', () => {});
    const destroy = () => body.destroy(abortError(signal.reason));
    if (signal.aborted) destroy();
    else signal.addEventListener('abort', destroy, { once: true });
    body.once('close', () => signal.removeEventListener('abort', destroy));
    return body;
  }
  return {
    [Symbol.asyncIterator]() {
      const iterator = body[Symbol.asyncIterator]();
      return {
        next() {
          if (signal.aborted) return abandon();
          return new Promise<IteratorResult<Uint8Array>>((resolve, reject) => {
            const onAbort = () => {
              abandon().then(resolve, reject);
            };
            signal.addEventListener('abort', onAbort, { once: true });
            iterator.next().then(
              (r) => {
                signal.removeEventListener('abort', onAbort);
                resolve(r);
              },
              (e: unknown) => {
                signal.removeEventListener('abort', onAbort);
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
      function abandon(): Promise<IteratorResult<Uint8Array>> {
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
