import type { Readable, Writable } from 'node:stream';

/**
 * Where a `dl` run reads and writes. The bin passes the process's own
 * streams; tests and embedders may pass others.
 */
export interface CliIo {
  /** Read for `-i -`. */
  readonly stdin: Readable;
  /** Results: `--json` lines, plain per-file lines. */
  readonly stdout: Writable & { isTTY?: boolean };
  /** Progress display, failures, the summary, usage errors. */
  readonly stderr: Writable & { isTTY?: boolean; columns?: number; hasColors?: () => boolean };
  /** Relative paths (`-o`, `-i`, `--catalog`) are resolved against it. */
  readonly cwd: string;
  /**
   * Aborted to stop the run cleanly: transfers end, temp files are removed,
   * the summary is printed. Its reason, when it is `'SIGINT'` or `'SIGTERM'`,
   * picks the exit status (130 or 143).
   */
  readonly signal?: AbortSignal;
  /**
   * Registers what to do on a second SIGINT or SIGTERM (`dl worker` hands
   * its chunks back). Without a handler, a second SIGINT exits at once (130).
   */
  readonly onUrgentStop?: (handler: () => void) => void;
  /**
   * The run owns its process: `dl get` may then tune V8's heap for it, which
   * keeps its resident memory flat however long the manifest. The bin sets
   * it; an embedder's process is left as it is.
   */
  readonly boundHeap?: boolean;
}
