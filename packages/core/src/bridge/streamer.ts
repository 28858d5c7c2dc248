import { STATUS_CODES } from 'node:http';
import type { Writable } from 'node:stream';
import type { DownloadRequest } from '../contracts/download-request.js';
import type { Downloader, OpenedDownload } from '../contracts/downloader.js';
import type { Logger } from '../contracts/logger.js';
import type { RemoteMetadata } from '../contracts/remote-resource.js';
import { abortError, DownloadError, toDownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { Admission, refuse, type Ticket } from './admission.js';
import { cachedHeaders, openCachedCopy, type CachedCopy } from './cached-copy.js';
import { clientRange, type RangeDecision } from './client-range.js';
import { errorStatus } from './error-status.js';
import { Flight, type FlightReader } from './flight.js';
import { flightKey } from './flight-key.js';
import { forwardedHeaders } from './forwarded-headers.js';
import { fullFraming, partialFraming, type Framing } from './response-framing.js';
import { ResponseWriter } from './response-writer.js';
import type {
  HeaderContext,
  HeaderFilter,
  StreamClientRequest,
  StreamerOptions,
  StreamOutcome,
  StreamSource,
  StreamTarget,
} from './streamer-options.js';

/**
 * Serves files that were published but not downloaded: each request
 * downloads on demand through the importer's downloader and pipes the
 * validated bytes into the client's response. Made by {@link createStreamer}.
 */
export interface Streamer {
  /**
   * Answers one client request (`GET` or `HEAD`, with an optional single
   * `Range`) with the bytes of `target`. Never rejects: the outcome says how
   * it went. Headers are sent only once the first body byte is there, so a
   * download that fails before it (after its retries and failover) is
   * answered with an error status (404, 502, 504…). After it, an upstream
   * failure is resumed at the exact offset (`Range` + `If-Range`, the digest
   * state kept) when that provably continues the same bytes, and the client
   * notices nothing; when it cannot be proven, the response ends as a failed
   * transfer (the connection reset), never a clean one.
   *
   * @param request - The client's method and headers (Node's `IncomingMessage` works).
   * @param response - Node's `http.ServerResponse`, or any `Writable` (then only the body is written).
   * @param target - What to serve: the download request (and the tee's cache path).
   */
  handle(
    request: StreamClientRequest,
    response: Writable,
    target: StreamTarget<unknown>,
  ): Promise<StreamOutcome>;
  /** Upstream downloads in progress that identical requests may still join. */
  readonly shareable: number;
}

/**
 * Creates a {@link Streamer} over a downloader, typically the importer's
 * `DownloaderFactory`, which it treats as an opaque object: protocols,
 * credentials, proxies, mirrors, limits and retries are all its business.
 *
 * @example
 * ```ts
 * const streamer = createStreamer({ downloader: factory });
 * createServer((req, res) => {
 *   const entry = catalog.get(req.url);
 *   void streamer.handle(req, res, { url: entry.url, size: entry.size, digests: entry.digests });
 * });
 * ```
 */
export function createStreamer(options: StreamerOptions): Streamer {
  return new StreamerImpl(options);
}

const FULL: RangeDecision = { kind: 'full' };
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
/** Returned by a range attempt that should be answered with the whole file instead. */
const WHOLE_FILE = Symbol('whole file');

class StreamerImpl implements Streamer {
  readonly #downloader: Downloader;
  readonly #filter: HeaderFilter | undefined;
  readonly #share: boolean;
  readonly #replayBytes: number;
  readonly #windowBytes: number;
  readonly #log: Logger;
  readonly #flights = new Map<string, Flight>();
  readonly #admission: Admission | undefined;

  constructor(options: StreamerOptions) {
    if (
      options === null ||
      typeof options !== 'object' ||
      typeof options.downloader?.open !== 'function'
    ) {
      throw invalidOption('downloader: pass a Downloader (such as a DownloaderFactory)');
    }
    this.#downloader = options.downloader;
    this.#filter = options.headers;
    this.#share = options.share ?? true;
    this.#replayBytes = byteCount(options.replayBytes ?? 4 * 1024 * 1024, 'replayBytes');
    this.#windowBytes = byteCount(options.windowBytes ?? 1024 * 1024, 'windowBytes');
    this.#log = options.logger ?? silent;
    if (options.upstreamLimit !== undefined) {
      this.#admission = new Admission(
        count(options.upstreamLimit, 'upstreamLimit', 1),
        count(options.queueLimit ?? 1000, 'queueLimit', 0),
        count(options.queueTimeoutMs ?? 30_000, 'queueTimeoutMs', 0),
      );
    }
  }

  get shareable(): number {
    return this.#flights.size;
  }

  async handle(
    request: StreamClientRequest,
    response: Writable,
    target: StreamTarget<unknown>,
  ): Promise<StreamOutcome> {
    const writer = new ResponseWriter(response, target?.signal);
    try {
      return await this.#serve(request ?? {}, writer, target);
    } catch (thrown) {
      // Only reached before anything was sent (a bad target, a throwing header filter).
      return this.#failBeforeBody(writer, toDownloadError(thrown), 'upstream');
    } finally {
      writer.close();
    }
  }

  async #serve(
    request: StreamClientRequest,
    writer: ResponseWriter,
    target: StreamTarget<unknown>,
  ): Promise<StreamOutcome> {
    if (target === null || typeof target !== 'object') {
      throw new DownloadError('A stream target must be an object', {
        code: ErrorCodes.InvalidRequest,
      });
    }
    const method = (request.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') {
      writer.start(405, { allow: 'GET, HEAD', 'content-length': '0' });
      await writer.end();
      return { ok: true, status: 405, bytes: 0, source: 'upstream' };
    }
    const head = method === 'HEAD';
    if (target.cache !== undefined) {
      const copy = await openCachedCopy(target.cache, target.size);
      if (copy !== undefined) return this.#serveCopy(copy, request, writer, target, head);
    }
    const range = head ? FULL : clientRange(request.headers, target.size);
    if (range.kind === 'unsatisfiable') {
      return this.#unsatisfiable(writer, target.size ?? 0, 'upstream');
    }
    if (head) return this.#head(writer, target);
    if (range.kind === 'partial') {
      const partial = await this.#stream(writer, target, range);
      if (partial !== WHOLE_FILE) return partial;
    }
    return (await this.#stream(writer, target, undefined)) as StreamOutcome;
  }

  async #stream(
    writer: ResponseWriter,
    target: StreamTarget<unknown>,
    range: { readonly start: number; readonly end: number | undefined } | undefined,
  ): Promise<StreamOutcome | typeof WHOLE_FILE> {
    const admitted = await this.#admitted(writer, target, range);
    if ('outcome' in admitted) return admitted.outcome;
    const { reader, source } = admitted;
    const offGone = writer.onGone(() => reader.leave());
    let status: number | undefined;
    let bytes = 0;
    try {
      let metadata: RemoteMetadata;
      try {
        metadata = await reader.ready();
      } catch (thrown) {
        const error = toDownloadError(thrown);
        // An upstream that cannot start at the offset: the whole file is a correct answer too.
        if (range !== undefined && error.code === ErrorCodes.ProtocolError && !writer.gone) {
          return WHOLE_FILE;
        }
        return await this.#failBeforeBody(writer, error, source);
      }
      const framing =
        range === undefined
          ? fullFraming(metadata, target.size)
          : partialFraming(metadata, range.start, range.end, target.size);
      if (framing === undefined) return WHOLE_FILE;
      const headers = this.#headers(forwardedHeaders(metadata), framing, {
        status: framing.status,
        metadata,
        target,
      });
      // Committed with the first body byte, not before: a body that fails before any
      // byte reached the client (a small file held back until it validated) still
      // gets an error status instead of a reset.
      const commit = () => {
        writer.start(framing.status, headers);
        status = framing.status;
      };
      const length = framing.length;
      for (;;) {
        // Synchronously while chunks are waiting (a promise per chunk is measurable at GB/s).
        let chunk = reader.take();
        if (chunk === undefined) chunk = await reader.next();
        if (chunk === null) break;
        if (length !== undefined && bytes + chunk.byteLength > length) {
          if (range === undefined) throw overrun(length);
          chunk = chunk.subarray(0, length - bytes);
        }
        // The bytes that complete the announced length would let the client see a clean
        // end: they wait until the whole body validated. (A range is not validated.)
        if (range === undefined && bytes + chunk.byteLength === length) await reader.settled();
        if (chunk.byteLength === 0) continue;
        if (status === undefined) commit();
        const written = writer.write(chunk);
        if (written !== true && !(await written)) throw abortError();
        bytes += chunk.byteLength;
        // The range is complete; leaving stops whatever the upstream sends beyond it.
        if (range !== undefined && bytes === length) break;
      }
      if (length !== undefined && bytes !== length) throw overrun(length);
      if (status === undefined) commit();
      await writer.end();
      if (writer.gone && !writer.isHttp) throw abortError();
      await reader.over();
      return { ok: true, status: framing.status, bytes, source };
    } catch (thrown) {
      const left = writer.gone;
      const error = left ? abortError(thrown) : toDownloadError(thrown);
      if (status === undefined && !left) {
        reader.leave();
        return await this.#failBeforeBody(writer, error, source);
      }
      writer.fail(error);
      // Settle after the tee's temp file is gone, so nothing is left when the caller looks.
      if (!left) await reader.over();
      return { ok: false, status, bytes, source, error };
    } finally {
      offGone();
      reader.leave();
    }
  }

  /** A reader, after waiting for an upstream slot when it needs one; or the refusal's outcome. */
  async #admitted(
    writer: ResponseWriter,
    target: StreamTarget<unknown>,
    range: { readonly start: number; readonly end: number | undefined } | undefined,
  ): Promise<{ reader: FlightReader; source: StreamSource } | { outcome: StreamOutcome }> {
    const admission = this.#admission;
    if (admission === undefined) return this.#reader(target, range, undefined);
    const key = range === undefined && this.#share ? flightKey(target) : undefined;
    const joined = key === undefined ? undefined : this.#flights.get(key)?.join();
    if (joined !== undefined) return { reader: joined, source: 'shared' };
    const ticket = await admission.enter((listener) => writer.onGone(listener));
    if (ticket === undefined) return { outcome: gone(undefined, 'upstream') };
    if (typeof ticket === 'string')
      return { outcome: await refuse(writer, admission, ticket, 'upstream') };
    return this.#reader(target, range, ticket);
  }

  /** Joins an identical download in progress, or starts one (holding `ticket` until it is over). */
  #reader(
    target: StreamTarget<unknown>,
    range: { readonly start: number; readonly end: number | undefined } | undefined,
    ticket: Ticket | undefined,
  ): { reader: FlightReader; source: StreamSource } {
    const key = range === undefined && this.#share ? flightKey(target) : undefined;
    const joined = key === undefined ? undefined : this.#flights.get(key)?.join();
    if (joined !== undefined) {
      ticket?.();
      return { reader: joined, source: 'shared' };
    }

    const { cache, signal: _perClient, ...rest } = target;
    // A partial body is not validated (the core skips it), so its expectations are dropped.
    const request: DownloadRequest<unknown> =
      range === undefined
        ? rest
        : { ...rest, size: undefined, digests: undefined, validators: undefined, range };
    let flight: Flight | undefined = undefined;
    flight = new Flight({
      downloader: this.#downloader,
      request,
      shared: key !== undefined,
      replayBytes: this.#replayBytes,
      windowBytes: this.#windowBytes,
      cache: range === undefined ? cache : undefined,
      log: this.#log,
      onClosed: () => {
        if (key !== undefined && flight !== undefined && this.#flights.get(key) === flight)
          this.#flights.delete(key);
      },
    });
    if (key !== undefined) this.#flights.set(key, flight);
    if (ticket !== undefined) void flight.done.then(ticket, ticket);
    return { reader: flight.starter, source: 'upstream' };
  }

  async #head(writer: ResponseWriter, target: StreamTarget<unknown>): Promise<StreamOutcome> {
    const key = this.#share ? flightKey(target) : undefined;
    let metadata = key === undefined ? undefined : this.#flights.get(key)?.metadata;
    const source: StreamSource = metadata === undefined ? 'upstream' : 'shared';
    let ticket: Ticket | undefined;
    if (metadata === undefined && this.#admission !== undefined) {
      const entered = await this.#admission.enter((listener) => writer.onGone(listener));
      if (entered === undefined) return gone(undefined, source);
      if (typeof entered === 'string') return refuse(writer, this.#admission, entered, source);
      ticket = entered;
    }
    if (metadata === undefined) {
      const { cache: _cache, signal: _perClient, ...request } = target;
      const controller = new AbortController();
      const offGone = writer.onGone(() => controller.abort(abortError()));
      let opened: OpenedDownload<unknown> | undefined;
      try {
        opened = await this.#downloader.open(request, { signal: controller.signal });
        metadata = opened.metadata;
      } catch (thrown) {
        return await this.#failBeforeBody(writer, toDownloadError(thrown), source);
      } finally {
        offGone();
        // Answered from the metadata alone: the body is never read.
        opened?.abort();
        ticket?.();
      }
    }
    const framing = fullFraming(metadata, target.size);
    writer.start(
      200,
      this.#headers(forwardedHeaders(metadata), framing, { status: 200, metadata, target }),
    );
    await writer.end();
    if (writer.gone) return gone(200, source);
    return { ok: true, status: 200, bytes: 0, source };
  }

  async #serveCopy(
    copy: CachedCopy,
    request: StreamClientRequest,
    writer: ResponseWriter,
    target: StreamTarget<unknown>,
    head: boolean,
  ): Promise<StreamOutcome> {
    let status: number | undefined;
    let bytes = 0;
    try {
      const range = head ? FULL : clientRange(request.headers, copy.size);
      if (range.kind === 'unsatisfiable')
        return await this.#unsatisfiable(writer, copy.size, 'cache');
      const start = range.kind === 'partial' ? range.start : 0;
      const end = range.kind === 'partial' ? (range.end ?? copy.size - 1) : copy.size - 1;
      const framing: Framing =
        range.kind === 'partial'
          ? {
              status: 206,
              length: end - start + 1,
              contentRange: `bytes ${start}-${end}/${copy.size}`,
            }
          : { status: 200, length: copy.size };
      writer.start(
        framing.status,
        this.#headers(cachedHeaders(copy), framing, {
          status: framing.status,
          metadata: undefined,
          target,
        }),
      );
      status = framing.status;
      if (!head && framing.length! > 0) {
        const body = copy.handle.createReadStream({ start, end, autoClose: false });
        try {
          for await (const chunk of body as AsyncIterable<Uint8Array>) {
            const written = writer.write(chunk);
            if (written !== true && !(await written)) throw abortError();
            bytes += chunk.byteLength;
          }
        } finally {
          body.destroy();
        }
        if (bytes !== framing.length) throw overrun(framing.length!);
      }
      await writer.end();
      if (writer.gone && !writer.isHttp) throw abortError();
      return { ok: true, status: framing.status, bytes, source: 'cache' };
    } catch (thrown) {
      const left = writer.gone;
      const error = left ? abortError(thrown) : toDownloadError(thrown);
      if (status === undefined && !left) return await this.#failBeforeBody(writer, error, 'cache');
      writer.fail(error);
      return { ok: false, status, bytes, source: 'cache', error };
    } finally {
      await copy.handle.close().catch(() => {});
    }
  }

  async #unsatisfiable(
    writer: ResponseWriter,
    size: number,
    source: StreamSource,
  ): Promise<StreamOutcome> {
    writer.start(416, { 'content-range': `bytes */${size}`, 'content-length': '0' });
    await writer.end();
    return { ok: true, status: 416, bytes: 0, source };
  }

  /** Answers a failure known before the first body byte with an error status. */
  async #failBeforeBody(
    writer: ResponseWriter,
    error: DownloadError,
    source: StreamSource,
  ): Promise<StreamOutcome> {
    if (writer.gone) return gone(undefined, source);
    if (!writer.isHttp) {
      writer.fail(error);
      return { ok: false, status: undefined, bytes: 0, source, error };
    }
    const status = errorStatus(error);
    const text = Buffer.from(`${status} ${STATUS_CODES[status] ?? ''} (${error.code})\n`);
    writer.start(status, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(text.byteLength),
      'cache-control': 'no-store',
    });
    await writer.write(text);
    await writer.end();
    return { ok: false, status, bytes: 0, source, error };
  }

  #headers(
    base: Record<string, string>,
    framing: Framing,
    context: HeaderContext,
  ): Record<string, string> {
    const headers = { ...base };
    if (framing.length !== undefined) headers['content-length'] = String(framing.length);
    if (framing.contentRange !== undefined) headers['content-range'] = framing.contentRange;
    return this.#filter?.(headers, context) ?? headers;
  }
}

function gone(status: number | undefined, source: StreamSource): StreamOutcome {
  return { ok: false, status, bytes: 0, source, error: abortError() };
}

function overrun(length: number): DownloadError {
  return new DownloadError(`The upstream did not send the ${length} bytes it announced`, {
    code: ErrorCodes.ProtocolError,
  });
}

function byteCount(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw invalidOption(`${name}: must be a whole number of bytes ≥ 0, got ${value}`);
  return value;
}

function count(value: number, name: string, min: number): number {
  if (!Number.isSafeInteger(value) || value < min)
    throw invalidOption(`${name}: must be a whole number ≥ ${min}, got ${value}`);
  return value;
}

function invalidOption(message: string): DownloadError {
  return new DownloadError(`Invalid streamer option ${message}`, {
    code: ErrorCodes.InvalidRequest,
  });
}
