/**
 * Abort listeners on long-lived signals without a listener each.
 *
 * On Node 20 a listener removed from an AbortSignal stays linked to its
 * neighbours, so adding and removing one per download on a signal that
 * outlives many downloads (a batch's, a session's) lets each download's
 * objects reach old space. A signal marked with {@link fanOutAborts} gets
 * one listener of its own that calls a set of live listeners instead;
 * {@link listenAbort} and {@link unlistenAbort} use that set for a marked
 * signal and the signal's own listeners for any other.
 */
export type AbortListener =
  ((this: AbortSignal, event: Event) => void) | { handleEvent(event: Event): void };

const fanouts = new WeakMap<AbortSignal, Set<AbortListener>>();

/** Marks `signal` as long-lived: from now on {@link listenAbort} adds to one set for it. */
export function fanOutAborts(signal: AbortSignal): void {
  if (fanouts.has(signal) || signal.aborted) return;
  const live = new Set<AbortListener>();
  fanouts.set(signal, live);
  signal.addEventListener(
    'abort',
    (event) => {
      fanouts.delete(signal);
      for (const listener of live) {
        live.delete(listener);
        try {
          if (typeof listener === 'function') listener.call(signal, event);
          else listener.handleEvent(event);
        } catch (error) {
          // As a listener's own throw would be: reported, not stopping the others.
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    },
    { once: true },
  );
}

/** Calls `listener` once when `signal` aborts (never when it already has). */
export function listenAbort(signal: AbortSignal, listener: AbortListener): void {
  const live = fanouts.get(signal);
  if (live !== undefined) live.add(listener);
  else signal.addEventListener('abort', listener, { once: true });
}

/** Undoes {@link listenAbort}. */
export function unlistenAbort(signal: AbortSignal, listener: AbortListener): void {
  const live = fanouts.get(signal);
  if (live !== undefined) live.delete(listener);
  else signal.removeEventListener('abort', listener);
}
