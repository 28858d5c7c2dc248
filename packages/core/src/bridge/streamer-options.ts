import type { IncomingHttpHeaders } from 'node:http';
import type { DownloadRequest } from '../contracts/download-request.js';
import type { Downloader } from '../contracts/downloader.js';
import type { Logger } from '../contracts/logger.js';
import type { RemoteMetadata } from '../contracts/remote-resource.js';
import type { DownloadError } from '../errors/download-error.js';

/**
 * What the streamer serves for one client request: a download request
 * without a destination (the bytes go to the response), plus an optional
 * cache path. Its `signal` cancels this client only: a download shared with
 * other clients goes on for them.
 */
export interface StreamTarget<C = unknown> extends Omit<
  DownloadRequest<C>,
  'destination' | 'writable' | 'range'
> {
  /**
   * Tee: while streaming, save a copy here (a temp file in the same folder,
   * renamed into place only once the whole file validated), and serve later
   * requests for this target from that file instead of the upstream.
   */
  readonly cache?: string;
}

/** The parts of a client request the streamer reads; Node's `IncomingMessage` is one. */
export interface StreamClientRequest {
  /** `GET` or `HEAD`; other methods are answered 405. @default 'GET' */
  readonly method?: string | undefined;
  /** Request headers with lowercase names; `range` and `if-range` are read. */
  readonly headers?: IncomingHttpHeaders | undefined;
}

/** What a header filter is told about the response it shapes. */
export interface HeaderContext {
  /** Status about to be sent: 200, 206, or 200/206 answered from the cache. */
  readonly status: number;
  /** The upstream metadata; `undefined` when answered from the cache. */
  readonly metadata: RemoteMetadata | undefined;
  /** The target being served. */
  readonly target: StreamTarget<unknown>;
}

/**
 * Shapes the response headers: receives what the streamer would send
 * (lowercase names, hop-by-hop and credential headers already removed) and
 * returns the headers to send, or mutates them and returns nothing.
 */
export type HeaderFilter = (
  headers: Record<string, string>,
  context: HeaderContext,
) => Record<string, string> | void;

/** Options of {@link createStreamer}. */
export interface StreamerOptions {
  /**
   * What opens the downloads: the importer's `DownloaderFactory` (an opaque
   * object to the streamer) or any other {@link Downloader}.
   */
  readonly downloader: Downloader;
  /** Shapes every response's headers (drop, rename or add). @default keep them as they are */
  readonly headers?: HeaderFilter;
  /**
   * Let identical concurrent requests (same URL, expectations, headers and
   * cache path; no `Range`; no custom validators) share one upstream download.
   * @default true
   */
  readonly share?: boolean;
  /**
   * Bytes of a shared download kept from its start so that a request
   * arriving after bytes already flowed still gets the whole file from the
   * same transfer. Once a download is past this, later identical requests
   * start their own download instead.
   * @default 4194304 (4 MiB)
   */
  readonly replayBytes?: number;
  /**
   * How far the upstream read may run ahead of the slowest client of a
   * download, in bytes. Bounds memory per download (with `replayBytes`);
   * a slower client slows the upstream read beyond it.
   * @default 1048576 (1 MiB)
   */
  readonly windowBytes?: number;
  /**
   * Upstream transfers at once (downloads this streamer starts; requests
   * that join a shared download or are served from the cache need none).
   * Requests beyond it wait in a queue; beyond `queueLimit`, or after
   * `queueTimeoutMs` in it, they are answered 503 with `Retry-After`.
   * @default no admission (the downloader's own limits queue every request)
   */
  readonly upstreamLimit?: number;
  /** Requests waiting for an upstream slot at most (with `upstreamLimit`). @default 1000 */
  readonly queueLimit?: number;
  /**
   * Longest wait for an upstream slot, in ms, before a 503; `Retry-After`
   * says this many seconds (at least 1). @default 30000
   */
  readonly queueTimeoutMs?: number;
  /** Where diagnostics go (cache write failures); never secrets. @default silent */
  readonly logger?: Logger;
}

/**
 * How one call of `handle` ended (it never rejects). `ok` is true when the
 * response was delivered complete, including the 405 and 416 answers;
 * false when the download failed or the client went away.
 */
export type StreamOutcome =
  | {
      readonly ok: true;
      /** The status sent (200, 206, 405, 416). */
      readonly status: number;
      /** Body bytes written to the client. */
      readonly bytes: number;
      /** Where the bytes came from. */
      readonly source: StreamSource;
    }
  | {
      readonly ok: false;
      /**
       * The status sent: an error status (404, 502, 504…) when the failure
       * came before the first body byte, 200 or 206 when it came after (the
       * response was then cut); `undefined` for a plain Writable, or when
       * the client left before anything was sent.
       */
      readonly status: number | undefined;
      /** Body bytes written before the failure. */
      readonly bytes: number;
      readonly source: StreamSource;
      /** Why; `aborted` when the client went away. */
      readonly error: DownloadError;
    };

/**
 * `upstream`: a download of its own; `shared`: joined a download another
 * request started; `cache`: read from the tee's copy on disk.
 */
export type StreamSource = 'upstream' | 'shared' | 'cache';
