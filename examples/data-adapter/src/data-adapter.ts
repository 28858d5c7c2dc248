import {
  abortError,
  type AdapterSession,
  type OpenRequest,
  type ProtocolAdapter,
  type RemoteResource,
} from '@dl/core';
import type { DataAdapterOptions } from './data-adapter-options.js';
import { parseDataUrl } from './parse-data-url.js';

/**
 * An adapter for `data:` URLs (RFC 2397): the bytes are in the URL itself.
 * It shows how little an adapter needs: it declares what it can do, opens
 * one resource at an offset and hands over metadata and a body. Retries,
 * limits, validation, atomic files and cancellation plumbing are the core's.
 *
 * @example
 * ```ts
 * const factory = createDownloaderFactory({ adapters: [dataAdapter()] });
 * await factory.download({ url: 'data:,Hello%2C%20World!', destination: 'hello.txt' });
 * ```
 */
export function dataAdapter(options: DataAdapterOptions = {}): ProtocolAdapter<AdapterSession> {
  const chunkSize = options.chunkSize ?? 64 * 1024;
  return {
    name: 'data',
    schemes: ['data'],
    // Any offset can be served, so the core may resume; there is no connection to share.
    capabilities: { resume: true, transfersPerConnection: 1, metadataBeforeBody: true },
    // Nothing is shared between transfers: the session holds no resources.
    createSession: () => ({ close() {} }),
    open: async (_session, request) => openData(request, chunkSize),
    // Exactly what dataAdapter() takes back when a configuration is rebuilt.
    toJSON: () => ({ ...options }),
  };
}

async function openData(request: OpenRequest, chunkSize: number): Promise<RemoteResource> {
  if (request.signal.aborted) throw abortError(request.signal.reason, request.url);
  const { mediaType, bytes } = parseDataUrl(request.url);
  const size = bytes.length;
  const offset = Math.min(request.offset, size);
  const end = request.end === undefined ? size : Math.min(request.end + 1, size);
  const href = request.url.href;
  return {
    metadata: {
      // The data is the URL: keep results and logs readable.
      url: href.length > 80 ? `${href.slice(0, 64)}…` : href,
      size,
      offset,
      length: Math.max(0, end - offset),
      contentType: mediaType,
      headers: {},
    },
    body: chunks(bytes, offset, end, chunkSize, request.signal),
  };
}

/** The bytes in chunks; stops with `aborted` as soon as the attempt's signal fires. */
async function* chunks(
  bytes: Uint8Array,
  start: number,
  end: number,
  chunkSize: number,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  for (let at = start; at < end; at += chunkSize) {
    if (signal.aborted) throw abortError(signal.reason);
    yield bytes.subarray(at, Math.min(end, at + chunkSize));
    // Yield the event loop between chunks, as a network body would, so aborts get in.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
