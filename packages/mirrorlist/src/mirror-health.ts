import { abortError } from '@dl/core';
import type { Source } from './mirror-set.js';

/** Cool-down settings. */
export interface HealthSettings {
  readonly cooldownMs: number;
  readonly maxCooldownMs: number;
  readonly badBytesCooldownMs: number;
  readonly maxConnectionsPerMirror: number;
}

/**
 * What is known about one mirror (failures, cool-down, throughput, keyed by
 * {@link healthKey}) or one host (transfers in flight, keyed by origin).
 */
interface HostHealth {
  /** Failures in a row since the last success. */
  failures: number;
  /** Ranked last until then (epoch ms). */
  coolUntil: number;
  /** Bytes per millisecond, smoothed; undefined until measured. */
  rate: number | undefined;
  inFlight: number;
}

/** The share a new measurement has in the smoothed throughput. */
const RATE_WEIGHT = 0.3;

/**
 * Health of mirrors within one interceptor instance (one factory): failures
 * in a row, cool-downs and measured throughput per mirror (two mirrors on
 * one host and port are judged apart: one serving stale bytes does not cool
 * the other, nor does the other's success clear its cool-down); transfers
 * in flight per host, with a cap on those. No timers: cool-downs are
 * deadlines compared with the clock.
 */
export class MirrorHealth {
  readonly #hosts = new Map<string, HostHealth>();
  readonly #waiters = new Set<() => void>();

  constructor(private readonly settings: HealthSettings) {}

  #host(key: string): HostHealth {
    let host = this.#hosts.get(key);
    if (host === undefined) {
      host = { failures: 0, coolUntil: 0, rate: undefined, inFlight: 0 };
      this.#hosts.set(key, host);
    }
    return host;
  }

  /** Milliseconds of cool-down left (0 when healthy). */
  coolingFor(mirror: string, now = Date.now()): number {
    return Math.max(0, (this.#hosts.get(mirror)?.coolUntil ?? 0) - now);
  }

  /** Smoothed throughput in bytes per millisecond, when measured. */
  rate(mirror: string): number | undefined {
    return this.#hosts.get(mirror)?.rate;
  }

  inFlight(origin: string): number {
    return this.#hosts.get(origin)?.inFlight ?? 0;
  }

  /** Takes a transfer slot on `origin` if one is free under `limit`. */
  tryAcquire(origin: string, limit: number | undefined): boolean {
    const host = this.#host(origin);
    const cap = Math.min(limit ?? Infinity, this.settings.maxConnectionsPerMirror);
    if (host.inFlight >= cap) return false;
    host.inFlight++;
    return true;
  }

  release(origin: string): void {
    const host = this.#host(origin);
    host.inFlight = Math.max(0, host.inFlight - 1);
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Resolves when any slot is released; rejects when `signal` aborts. */
  released(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortError(signal.reason));
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#waiters.delete(wake);
        reject(abortError(signal.reason));
      };
      this.#waiters.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A transfer ended well: failures forgotten, throughput measured. */
  succeeded(mirror: string, bytes: number, durationMs: number): void {
    const host = this.#host(mirror);
    host.failures = 0;
    host.coolUntil = 0;
    this.measured(mirror, bytes, durationMs);
  }

  /** Bytes arrived at this pace (failed transfers count too). */
  measured(mirror: string, bytes: number, durationMs: number): void {
    if (bytes <= 0) return;
    const host = this.#host(mirror);
    const sample = bytes / Math.max(1, durationMs);
    host.rate = host.rate === undefined ? sample : host.rate + RATE_WEIGHT * (sample - host.rate);
  }

  /** The mirror failed: demoted for a cool-down that doubles with each failure in a row. */
  failed(mirror: string, now = Date.now()): void {
    const host = this.#host(mirror);
    host.failures++;
    const cooldown = Math.min(
      this.settings.maxCooldownMs,
      this.settings.cooldownMs * 2 ** Math.min(30, host.failures - 1),
    );
    host.coolUntil = Math.max(host.coolUntil, now + cooldown);
  }

  /** The mirror served bad bytes: the long cool-down. */
  servedBadBytes(mirror: string, now = Date.now()): void {
    const host = this.#host(mirror);
    host.failures++;
    host.coolUntil = Math.max(host.coolUntil, now + this.settings.badBytesCooldownMs);
  }
}

/**
 * The key a source's health is kept under: its mirror (the base URL) when
 * it has one; the host and port for a metalink URL with no base, whose
 * mirror would otherwise be a single file.
 */
export function healthKey(source: Source): string {
  return source.mirror.base === undefined ? source.url.origin : source.mirror.key;
}
