/**
 * A fault the HTTP fixture injects into the responses for one path. Set with
 * `fixture.fault(path, fault)`; a new call replaces the path's previous
 * fault. It applies to the next `times` requests of the path.
 */
export interface HttpFault {
  /** Requests the fault applies to; `Infinity` for every one. @default 1 */
  readonly times?: number;
  /** Answer with this status (and a short text body) instead of the file. */
  readonly status?: number;
  /** `Retry-After` header sent with `status` (seconds, or an HTTP-date). */
  readonly retryAfter?: number | string;
  /** Close the connection abruptly after this many body bytes (counted from the first byte sent). */
  readonly resetAfter?: number;
  /** With `resetAfter`: send a TCP RST (`resetAndDestroy`) instead of closing. @default false */
  readonly rst?: boolean;
  /** Stall for this many milliseconds: before the headers, or after `stallAfter` body bytes. */
  readonly stallMs?: number;
  /** Body bytes sent before the stall; the stall happens before the headers when absent. */
  readonly stallAfter?: number;
  /**
   * Hold the response before the headers until this promise settles (the test
   * releases it when it is ready); a request that goes away meanwhile is dropped.
   */
  readonly holdUntil?: Promise<unknown>;
  /** Flip the byte at this absolute offset of the file (when it is in the bytes sent). */
  readonly corruptAt?: number;
  /**
   * Announce this `Content-Length` instead of the real one, send the real
   * bytes, then close the connection (so neither side waits forever).
   */
  readonly contentLength?: number;
}
