import { channel } from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import type { HostThrottle } from '../contracts/admission-budget.js';
import type { DownloadEvents, DownloadStats } from '../contracts/progress.js';

const channels = {
  'download-start': channel('dl:download-start'),
  'download-progress': channel('dl:download-progress'),
  'download-end': channel('dl:download-end'),
  'host-throttled': channel('dl:host-throttled'),
  'host-recovered': channel('dl:host-recovered'),
} as const;

const NONE: readonly HostThrottle[] = Object.freeze([]);

const RATE_WINDOW_MS = 5_000;

/**
 * Publishes progress to factory listeners and diagnostics channels, and
 * keeps the aggregate figures. Payloads are only built when someone listens.
 */
export class ProgressHub {
  readonly #emitter = new EventEmitter();
  #started = 0;
  #succeeded = 0;
  #failed = 0;
  #bytes = 0;
  #windowStart = Date.now();
  #windowBytes = 0;
  #rate = 0;
  #nextId = 1;

  constructor() {
    this.#emitter.setMaxListeners(0);
  }

  nextId(): number {
    return this.#nextId++;
  }

  wants(event: keyof DownloadEvents): boolean {
    return channels[event].hasSubscribers || this.#emitter.listenerCount(event) > 0;
  }

  emit<E extends keyof DownloadEvents>(event: E, payload: DownloadEvents[E]): void {
    if (channels[event].hasSubscribers) channels[event].publish(payload);
    this.#emitter.emit(event, payload);
  }

  on<E extends keyof DownloadEvents>(
    event: E,
    listener: (payload: DownloadEvents[E]) => void,
  ): () => void {
    this.#emitter.on(event, listener);
    return () => this.#emitter.off(event, listener);
  }

  started(): void {
    this.#started++;
  }

  ended(ok: boolean): void {
    if (ok) this.#succeeded++;
    else this.#failed++;
  }

  received(bytes: number): void {
    this.#bytes += bytes;
    this.#windowBytes += bytes;
  }

  stats(throttled: readonly HostThrottle[] = NONE): DownloadStats {
    const now = Date.now();
    const elapsed = now - this.#windowStart;
    if (elapsed >= 250) {
      const current = (this.#windowBytes * 1000) / elapsed;
      this.#rate =
        elapsed >= RATE_WINDOW_MS
          ? current
          : this.#rate === 0
            ? current
            : (this.#rate + current) / 2;
      this.#windowStart = now;
      this.#windowBytes = 0;
    }
    return {
      started: this.#started,
      succeeded: this.#succeeded,
      failed: this.#failed,
      active: this.#started - this.#succeeded - this.#failed,
      bytes: this.#bytes,
      rate: this.#rate,
      throttled,
    };
  }
}
