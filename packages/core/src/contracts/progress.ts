import type { HostRecoveredEvent, HostThrottle, HostThrottledEvent } from './admission-budget.js';

/** Published when a download starts (channel `dl:download-start`, factory event `download-start`). */
export interface DownloadStartEvent {
  readonly id: number;
  readonly url: string;
  readonly destination?: string;
}

/** Published as bytes arrive (channel `dl:download-progress`, factory event `download-progress`). */
export interface DownloadProgressEvent {
  readonly id: number;
  readonly url: string;
  /** Bytes of the file received so far (resumed bytes included). */
  readonly bytes: number;
  /** Total size, when known. */
  readonly total?: number;
  /** Bytes in this chunk. */
  readonly chunk: number;
}

/** Published when a download ends either way (channel `dl:download-end`, factory event `download-end`). */
export interface DownloadEndEvent {
  readonly id: number;
  readonly url: string;
  readonly ok: boolean;
  readonly bytes: number;
  readonly attempts: number;
  readonly durationMs: number;
  /** The error code, on failure. */
  readonly code?: string;
}

/** Events a factory emits; subscribe with `factory.on(name, listener)`. */
export interface DownloadEvents {
  'download-start': DownloadStartEvent;
  'download-progress': DownloadProgressEvent;
  'download-end': DownloadEndEvent;
  /**
   * A host asked for less load (HTTP 429/503, FTP 421, a burst of refused
   * connections): new transfers to it pause and its limit dropped.
   */
  'host-throttled': HostThrottledEvent;
  /** A throttled host is back at its configured limit. */
  'host-recovered': HostRecoveredEvent;
}

/** Aggregate figures of a factory since it was created. */
export interface DownloadStats {
  readonly started: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly active: number;
  /** Body bytes received, all attempts. */
  readonly bytes: number;
  /** Bytes per second over the last few seconds. */
  readonly rate: number;
  /**
   * Origins being throttled now (paused after a host signal, or under a
   * lowered limit that climbs back): which, how far, until when and why.
   */
  readonly throttled: readonly HostThrottle[];
}
