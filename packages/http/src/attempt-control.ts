import type { AbortCause } from './network-errors.js';

/**
 * The signal one open hands to undici: aborted when the caller's signal
 * aborts, when the session is destroyed, or when the opt-in total timeout
 * elapses, remembering which so the error can say so.
 */
export class AttemptControl {
  readonly #controller = new AbortController();
  readonly #unlink: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;
  #cause: AbortCause | undefined;

  constructor(caller: AbortSignal, session: AbortSignal, totalMs: number | undefined) {
    this.#link(caller, undefined);
    this.#link(session, { kind: 'session-closed' });
    if (totalMs !== undefined && totalMs > 0) {
      this.#timer = setTimeout(
        () => this.#abort({ kind: 'total-timeout', ms: totalMs }, undefined),
        totalMs,
      );
    }
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Why this attempt aborted, when it was not the caller. */
  get cause(): AbortCause | undefined {
    return this.#cause;
  }

  /** Stops the timer and forgets the linked signals; idempotent. */
  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const unlink of this.#unlink.splice(0)) unlink();
  }

  #link(signal: AbortSignal, cause: AbortCause | undefined): void {
    if (signal.aborted) {
      this.#abort(cause, signal.reason);
      return;
    }
    const onAbort = () => this.#abort(cause, signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    this.#unlink.push(() => signal.removeEventListener('abort', onAbort));
  }

  #abort(cause: AbortCause | undefined, reason: unknown): void {
    if (this.#controller.signal.aborted) return;
    this.#cause = cause;
    this.#controller.abort(reason ?? cause);
    this.dispose();
  }
}
