import { Readable, pipeline } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { DownloadError, ErrorCodes } from '@dl/core';
import type { AttemptControl } from './attempt-control.js';
import { networkError } from './network-errors.js';

/** What the body wrapper needs to know about one response. */
export interface BodyOptions {
  /** `Content-Length` of this response, when sent. */
  readonly length: number | undefined;
  /** Leading bytes to drop (a partial read answered with the whole resource). @default 0 */
  readonly skip?: number;
  /** Bytes to deliver after `skip`, then stop. @default all */
  readonly take?: number;
  /** Content coding to undo (only with opt-in decoding). */
  readonly decode: 'gzip' | 'deflate' | 'br' | undefined;
  readonly url: URL;
  readonly callerSignal: AbortSignal;
  readonly control: AttemptControl;
  /** Scrubs secrets from error text. */
  readonly scrub: (error: DownloadError) => DownloadError;
}

/**
 * The body handed to the core: the bytes exactly as received (or decoded,
 * when asked), failing with a retryable `protocol-error` when they are
 * shorter or longer than `Content-Length`, with `timeout` when idle too
 * long, and with `aborted` when the caller aborted. Stopping early destroys
 * the response, which frees (closes) its connection.
 */
export function responseBody(raw: Readable, options: BodyOptions): AsyncIterable<Uint8Array> {
  const bytes = received(raw, options);
  if (options.decode === undefined) return bytes;
  const decoder =
    options.decode === 'br'
      ? createBrotliDecompress()
      : options.decode === 'deflate'
        ? createInflate()
        : createGunzip();
  const decoded = pipeline(Readable.from(bytes, { objectMode: false }), decoder, () => {});
  return mapErrors(decoded, options);
}

async function* received(raw: Readable, options: BodyOptions): AsyncGenerator<Uint8Array> {
  const { length, url } = options;
  const skip = options.skip ?? 0;
  const end = options.take === undefined ? Number.POSITIVE_INFINITY : skip + options.take;
  const whole = skip === 0 && end === Number.POSITIVE_INFINITY;
  let count = 0;
  let complete = false;
  let cut = false;
  try {
    for await (const chunk of raw as AsyncIterable<Uint8Array>) {
      const before = count;
      count += chunk.byteLength;
      if (length !== undefined && count > length) {
        throw protocolError(
          `The body is longer than its Content-Length (${length} bytes)`,
          url,
          count,
          length,
        );
      }
      if (whole) {
        yield chunk;
        continue;
      }
      const from = Math.max(0, skip - before);
      const to = Math.min(chunk.byteLength, end - before);
      if (to > from) yield chunk.subarray(from, to);
      if (count >= end) {
        cut = true;
        break;
      }
    }
    if (!cut && length !== undefined && count < length) {
      throw protocolError(`The body ended after ${count} of ${length} bytes`, url, count, length);
    }
    complete = true;
  } catch (error) {
    if (DownloadError.isInstance(error)) throw options.scrub(error);
    const mapped = networkError(error, url, options.callerSignal, options.control.cause);
    if (
      length !== undefined &&
      count < length &&
      (mapped.code === ErrorCodes.ConnectionFailed || mapped.code === ErrorCodes.Internal)
    ) {
      throw options.scrub(
        protocolError(
          `The body ended after ${count} of ${length} bytes (connection lost)`,
          url,
          count,
          length,
          error,
        ),
      );
    }
    throw options.scrub(mapped);
  } finally {
    options.control.dispose();
    // A cut-short body leaves bytes on the connection: it cannot be reused.
    if (!complete || cut) raw.destroy();
  }
}

async function* mapErrors(stream: Readable, options: BodyOptions): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) yield chunk;
  } catch (error) {
    if (DownloadError.isInstance(error)) throw error;
    throw options.scrub(
      new DownloadError('The body could not be decoded', {
        code: ErrorCodes.ProtocolError,
        retryable: true,
        url: options.url,
        cause: error,
      }),
    );
  } finally {
    stream.destroy();
  }
}

function protocolError(
  message: string,
  url: URL,
  actual: number,
  expected: number,
  cause?: unknown,
): DownloadError {
  return new DownloadError(message, {
    code: ErrorCodes.ProtocolError,
    retryable: true,
    url,
    details: { expected, actual },
    ...(cause === undefined ? {} : { cause }),
  });
}
