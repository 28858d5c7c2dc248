import type { Digests } from '@dl/core';

/**
 * One finished entry, as `--json` prints it: the contract's fields
 * (`url`, `path`, `size`, `digests`, `ok`, `error`) always present, then
 * `line` when the entry came from a manifest, `skipped` when the file
 * was already there and valid, `unchanged` when the server said it did not
 * change (`--resync`).
 */
export interface FinishedRecord {
  /** The requested URL, without credentials (null for a line with no usable URL). */
  readonly url: string | null;
  /** Where the file is (or was to go), or null when that is unknown. */
  readonly path: string | null;
  /** Bytes in the file; on failure the expected size, or null. */
  readonly size: number | null;
  /** Digests checked or computed (lowercase hex); on failure the expected ones. */
  readonly digests: Digests;
  /** True when the file is at `path` and valid. */
  readonly ok: boolean;
  /** Why it failed: a stable code (see `ErrorCodes` of `@dl/core`) and a message without secrets. */
  readonly error: { readonly code: string; readonly message: string } | null;
  /** The manifest line it came from. */
  readonly line?: number;
  /** True when the file was already valid at `path` and nothing was requested. */
  readonly skipped?: true;
  /** True (`--resync`) when the server said the file at `path` did not change: no body was read. */
  readonly unchanged?: true;
}
