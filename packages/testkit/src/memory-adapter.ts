import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DownloadError,
  ErrorCodes,
  abortError,
  redactUrl,
  type AdapterSession,
  type OpenRequest,
  type ProtocolAdapter,
  type RemoteResource,
} from '@dl/core';
import type { MemoryAdapterOptions } from './memory-adapter-options.js';
import { memoryStoreInternals, type MemoryServePlan, type MemoryStore } from './memory-store.js';

/** The session of a {@link memoryAdapter}: aborts its transfers when destroyed. */
export interface MemorySession extends AdapterSession {
  /** Aborted when the session is destroyed. */
  readonly signal: AbortSignal;
  /** True once closed or destroyed. */
  readonly closed: boolean;
}

/**
 * A protocol adapter that serves the files of a {@link MemoryStore} under the
 * `mem` scheme (`mem://host-a/path/file.bin`): no I/O, faults on demand, and
 * transfers counted per host on the store's side. For testing the core and
 * its users; it declares resume, one transfer per connection and metadata
 * before the body.
 */
export function memoryAdapter(
  store: MemoryStore,
  options: MemoryAdapterOptions = {},
): ProtocolAdapter<MemorySession> {
  const chunkSize = options.chunkSize ?? 16 * 1024;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1)
    throw new RangeError(`Bad chunkSize ${chunkSize}`);
  const resume = options.resume ?? true;
  const internals = memoryStoreInternals(store);

  return {
    name: 'memory',
    schemes: [options.scheme ?? 'mem'],
    capabilities: { resume, transfersPerConnection: 1, metadataBeforeBody: true },
    createSession() {
      const controller = new AbortController();
      // Every transfer in flight listens for the session's end.
      setMaxListeners(0, controller.signal);
      let closed = false;
      return {
        signal: controller.signal,
        get closed() {
          return closed;
        },
        close() {
          closed = true;
        },
        destroy() {
          closed = true;
          controller.abort(
            new DownloadError('The memory session was destroyed', { code: ErrorCodes.Closed }),
          );
        },
      };
    },
    // The store is live state and stays behind: a rebuilding process passes its own.
    toJSON: () => ({ ...options }),
    async open(session, request) {
      const { url, signal } = request;
      if (signal.aborted) throw abortError(signal.reason, url);
      if (session.closed)
        throw new DownloadError('The memory session is closed', { code: ErrorCodes.Closed, url });
      const plan = internals.plan(url, resume ? request.offset : 0, request.end);
      const fault = plan.fault;
      if (plan.data === undefined || fault?.notFound) {
        throw new DownloadError(`Not found: ${redactUrl(url)}`, { code: ErrorCodes.NotFound, url });
      }
      if (plan.fail) {
        throw new DownloadError(`Injected failure opening ${redactUrl(url)}`, {
          code: fault?.failCode ?? ErrorCodes.RemoteUnavailable,
          retryable: true,
          url,
          ...(fault?.retryAfterMs === undefined ? {} : { retryAfterMs: fault.retryAfterMs }),
        });
      }
      if (plan.start > plan.data.length) {
        throw new DownloadError(
          `Offset ${plan.start} is past the end (${plan.data.length} bytes)`,
          {
            code: ErrorCodes.RemoteRejected,
            url,
          },
        );
      }
      const release = internals.begin(plan.host);
      const end = () => {
        release();
        signal.removeEventListener('abort', end);
        session.signal.removeEventListener('abort', end);
      };
      signal.addEventListener('abort', end, { once: true });
      session.signal.addEventListener('abort', end, { once: true });
      if (fault?.openDelayMs) {
        try {
          await delay(fault.openDelayMs, signal, url, session.signal);
        } catch (error) {
          end();
          throw error;
        }
      }
      const resource: RemoteResource = {
        metadata: {
          url: redactUrl(url),
          size: plan.data.length,
          offset: plan.start,
          length: plan.stop - plan.start,
          contentType: plan.contentType,
          etag: plan.etag,
          lastModified: plan.lastModified,
          headers: {
            'content-length': String(plan.stop - plan.start),
            'content-type': plan.contentType,
            etag: plan.etag,
            'last-modified': plan.lastModified,
          },
        },
        body: body(plan, plan.data, chunkSize, request, session.signal, end),
      };
      return resource;
    },
  };
}

async function* body(
  plan: MemoryServePlan,
  data: Uint8Array,
  chunkSize: number,
  request: OpenRequest,
  sessionSignal: AbortSignal,
  release: () => void,
): AsyncGenerator<Uint8Array, void, undefined> {
  const { signal, url } = request;
  const fault = plan.fault;
  const corruptAt =
    fault?.corrupt === true
      ? Math.floor(data.length / 2)
      : fault?.corrupt === false
        ? undefined
        : fault?.corrupt;
  const check = () => {
    if (signal.aborted) throw abortError(signal.reason, url);
    if (sessionSignal.aborted) throw abortError(sessionSignal.reason, url);
  };
  try {
    check();
    if (fault?.firstByteDelayMs) await delay(fault.firstByteDelayMs, signal, url, sessionSignal);
    let position = plan.start;
    let sent = 0;
    while (position < plan.stop) {
      check();
      let size = Math.min(chunkSize, plan.stop - position);
      if (plan.cutAfter !== undefined) size = Math.min(size, plan.cutAfter - sent);
      if (size > 0) {
        let chunk = data.subarray(position, position + size);
        if (corruptAt !== undefined && corruptAt >= position && corruptAt < position + size) {
          chunk = Uint8Array.from(chunk);
          chunk[corruptAt - position] = (chunk[corruptAt - position] ?? 0) ^ 0xff;
        }
        yield chunk;
        position += size;
        sent += size;
      }
      if (plan.cutAfter !== undefined && sent >= plan.cutAfter && position < plan.stop) {
        throw new DownloadError(`Connection cut after ${sent} bytes (injected)`, {
          code: ErrorCodes.ConnectionFailed,
          retryable: true,
          url,
        });
      }
      if (fault?.chunkDelayMs && position < plan.stop)
        await delay(fault.chunkDelayMs, signal, url, sessionSignal);
    }
  } finally {
    release();
  }
}

async function delay(
  ms: number,
  signal: AbortSignal,
  url: URL,
  sessionSignal: AbortSignal,
): Promise<void> {
  // Two signals without AbortSignal.any, whose followers outlive short waits on Node 20.
  const controller = new AbortController();
  const forward = () => controller.abort();
  signal.addEventListener('abort', forward, { once: true });
  sessionSignal.addEventListener('abort', forward, { once: true });
  try {
    await sleep(ms, undefined, { signal: controller.signal });
  } catch {
    throw abortError(signal.aborted ? signal.reason : sessionSignal.reason, url);
  } finally {
    signal.removeEventListener('abort', forward);
    sessionSignal.removeEventListener('abort', forward);
  }
}
