import { redactUrl, ValidationError, type DownloadError } from '@dl/core';
import type { Source } from './mirror-set.js';

/** One mirror tried for one file, as reported in `details.attempts`. */
export interface MirrorAttempt {
  /** The URL tried, without credentials. */
  readonly url: string;
  /** The error code it ended with. */
  readonly code: string;
  /** The core's attempt number it happened in. */
  readonly attempt: number;
  /** Whether the same mirror may do better later. */
  readonly retryable: boolean;
  readonly message: string;
}

/** Failures kept per file; enough to explain, bounded so a file cannot hoard memory. */
const MAX_RECORDED = 64;

/**
 * What one download went through across its attempts: every mirror tried
 * and how it failed, the mirrors that are out for this file (not found, bad
 * bytes, refused), and the mirror whose bytes are being resumed.
 */
export class FileAttempts {
  readonly attempts: MirrorAttempt[] = [];
  /** Mirror keys that failed for good for this file. */
  readonly exhausted = new Set<string>();
  /** The mirror that served the latest resource. */
  lastKey: string | undefined;
  /** Failures seen in all (the list may be truncated). */
  failures = 0;

  record(source: Source, error: DownloadError, attempt: number): void {
    this.failures++;
    // A mirror that served bad bytes or has no such file will not do better on this file.
    if (!error.retryable || ValidationError.isInstance(error))
      this.exhausted.add(source.mirror.key);
    if (this.attempts.length >= MAX_RECORDED) return;
    this.attempts.push({
      url: redactUrl(source.url),
      code: error.code,
      attempt,
      retryable: error.retryable && !ValidationError.isInstance(error),
      message: error.message,
    });
  }
}
