import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HttpFault } from './http-fault.js';
import type { HttpFileOptions, HttpFixtureOptions } from './http-fixture-options.js';
import { parseRange } from './http-range.js';

/** A request the HTTP fixture received. */
export interface RecordedRequest {
  readonly method: string;
  /** Path and query as sent. */
  readonly path: string;
  /** Request headers with lowercase names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** Figures the HTTP fixture counts on its side. */
export interface HttpFixtureStats {
  /** TCP connections open now. */
  readonly connections: number;
  /** Most TCP connections open at once since start or `resetPeak`. */
  readonly peakConnections: number;
  /** TCP connections accepted since start. */
  readonly totalConnections: number;
  /** Requests being answered now. */
  readonly requests: number;
  /** Most requests answered at once since start or `resetPeak`. */
  readonly peakRequests: number;
  /** Requests received since start. */
  readonly totalRequests: number;
}

/** Answers one request of a path set with `route`. */
export type HttpRouteHandler = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * A real HTTP/1.1 server on loopback (port 0) serving files put into it, with
 * ranges, validators and faults, that counts connections and requests on its
 * side. Made by {@link startHttpFixture}.
 */
export interface HttpFixture {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** The port it listens on. */
  readonly port: number;
  /** The absolute URL of `path` (a leading `/` is added when missing). */
  url(path: string): string;
  /**
   * Serves `data` at `path` (query ignored), with `Range` (`bytes=N-`,
   * `bytes=N-M`, `bytes=-N`), `If-Range`, `ETag`, `Last-Modified` and `HEAD`.
   */
  put(path: string, data: Uint8Array, options?: HttpFileOptions): void;
  /** Stops serving `path` (it answers 404); true when it was served. */
  delete(path: string): boolean;
  /** The bytes served at `path`, if any. */
  get(path: string): Uint8Array | undefined;
  /** Answers `path` with `handler` instead of a file (takes precedence over files). */
  route(path: string, handler: HttpRouteHandler): void;
  /** Answers `path` with a redirect to `location` (a path or an absolute URL). */
  redirect(path: string, location: string, status?: 301 | 302 | 303 | 307 | 308): void;
  /** Injects a fault into the next requests of `path`, replacing its previous fault. */
  fault(path: string, fault: HttpFault): void;
  /** Removes the fault of `path`, or every fault. */
  clearFaults(path?: string): void;
  /** What the fixture counted so far. */
  stats(): HttpFixtureStats;
  /** Sets the peaks of connections and requests back to what is open now. */
  resetPeak(): void;
  /** The latest requests received, oldest first. */
  requests(): readonly RecordedRequest[];
  /** Forgets the recorded requests. */
  clearRequests(): void;
  /** Closes the server, destroys every socket and cancels stalls; resolves when closed. Idempotent. */
  stop(): Promise<void>;
}

interface ServedFile {
  readonly data: Uint8Array;
  readonly etag: string | undefined;
  readonly lastModified: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
}

interface FaultState {
  readonly fault: HttpFault;
  left: number;
}

/** Starts an {@link HttpFixture} on loopback, port 0. */
export async function startHttpFixture(options: HttpFixtureOptions = {}): Promise<HttpFixture> {
  const files = new Map<string, ServedFile>();
  const routes = new Map<string, HttpRouteHandler>();
  const faults = new Map<string, FaultState>();
  const sockets = new Set<Socket>();
  const log: RecordedRequest[] = [];
  const logSize = options.requestLogSize ?? 1000;
  const chunkSize = options.chunkSize ?? 64 * 1024;
  const stopping = new AbortController();
  setMaxListeners(0, stopping.signal);
  const counts = {
    connections: 0,
    peakConnections: 0,
    totalConnections: 0,
    requests: 0,
    peakRequests: 0,
    totalRequests: 0,
  };

  const server = createServer(
    { keepAliveTimeout: options.keepAliveTimeoutMs ?? 5000 },
    (req, res) => {
      counts.requests++;
      counts.totalRequests++;
      counts.peakRequests = Math.max(counts.peakRequests, counts.requests);
      res.once('close', () => counts.requests--);
      log.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: { ...req.headers } });
      if (log.length > logSize) log.splice(0, log.length - logSize);
      answer(req, res).catch(() => res.destroy());
    },
  );
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    counts.connections++;
    counts.totalConnections++;
    counts.peakConnections = Math.max(counts.peakConnections, counts.connections);
    socket.once('close', () => {
      sockets.delete(socket);
      counts.connections--;
    });
  });

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://fixture').pathname;
    const route = routes.get(path);
    if (route !== undefined) return route(req, res);
    const fault = takeFault(path);
    const ended = new AbortController();
    const onStop = () => ended.abort();
    stopping.signal.addEventListener('abort', onStop, { once: true });
    res.once('close', () => {
      ended.abort();
      stopping.signal.removeEventListener('abort', onStop);
    });
    const stop = ended.signal;

    if (fault?.holdUntil !== undefined && !(await held(fault.holdUntil, stop))) return;
    if (fault?.stallMs !== undefined && fault.stallAfter === undefined) {
      if (!(await pause(fault.stallMs, stop))) return;
    }
    if (fault?.status !== undefined) {
      const headers: Record<string, string> = { 'content-type': 'text/plain' };
      if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
      res.writeHead(fault.status, headers);
      res.end(req.method === 'HEAD' ? undefined : `injected status ${fault.status}\n`);
      return;
    }
    const file = files.get(path);
    if (file === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(file === undefined ? 404 : 405, { 'content-type': 'text/plain' });
      res.end(req.method === 'HEAD' ? undefined : 'not found\n');
      return;
    }

    const size = file.data.length;
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      ...(file.etag === undefined ? {} : { etag: file.etag }),
      ...(file.lastModified === undefined ? {} : { 'last-modified': file.lastModified }),
      ...file.headers,
    };
    let range = parseRange(req.headers.range, size);
    const ifRange = req.headers['if-range'];
    if (range !== undefined && typeof ifRange === 'string' && !ifRangeMatches(ifRange, file)) {
      range = undefined;
    }
    if (range === 'unsatisfiable') {
      res.writeHead(416, { 'content-range': `bytes */${size}`, 'content-type': 'text/plain' });
      res.end();
      return;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? size;
    if (range !== undefined) headers['content-range'] = `bytes ${start}-${end - 1}/${size}`;
    headers['content-length'] = String(fault?.contentLength ?? end - start);
    res.writeHead(range === undefined ? 200 : 206, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }

    let sent = 0;
    let position = start;
    while (position < end) {
      let stopAt = Math.min(end, position + chunkSize);
      if (fault?.resetAfter !== undefined) stopAt = Math.min(stopAt, start + fault.resetAfter);
      if (fault?.stallAfter !== undefined && sent < fault.stallAfter) {
        stopAt = Math.min(stopAt, start + fault.stallAfter);
      }
      if (stopAt > position) {
        let chunk = file.data.subarray(position, stopAt);
        const flip = fault?.corruptAt;
        if (flip !== undefined && flip >= position && flip < stopAt) {
          chunk = Uint8Array.from(chunk);
          chunk[flip - position] = (chunk[flip - position] ?? 0) ^ 0xff;
        }
        if (!(await write(res, chunk))) return;
        sent += stopAt - position;
        position = stopAt;
      }
      if (fault?.resetAfter !== undefined && sent >= fault.resetAfter && position < end) {
        if (fault.rst) res.socket?.resetAndDestroy();
        else res.socket?.destroy();
        return;
      }
      if (
        fault?.stallMs !== undefined &&
        fault.stallAfter !== undefined &&
        sent === fault.stallAfter
      ) {
        if (!(await pause(fault.stallMs, stop))) return;
      }
    }
    if (fault?.contentLength !== undefined && fault.contentLength !== end - start) {
      res.socket?.destroy();
      return;
    }
    res.end();
  }

  function takeFault(path: string): HttpFault | undefined {
    const state = faults.get(path);
    if (state === undefined) return undefined;
    state.left--;
    if (state.left <= 0) faults.delete(path);
    return state.fault;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const origin = `http://${hostPart}:${address.port}`;
  let stopped: Promise<void> | undefined;

  return {
    origin,
    port: address.port,
    url: (path) => `${origin}${normalize(path)}`,
    put(path, data, fileOptions = {}) {
      const { etag = true, lastModified = true, headers = {} } = fileOptions;
      files.set(normalize(path), {
        data,
        etag:
          etag === true
            ? `"${createHash('sha256').update(data).digest('base64url').slice(0, 22)}"`
            : etag === false
              ? undefined
              : etag,
        lastModified:
          lastModified === true
            ? new Date().toUTCString()
            : lastModified === false
              ? undefined
              : lastModified.toUTCString(),
        headers,
      });
    },
    delete: (path) => files.delete(normalize(path)),
    get: (path) => files.get(normalize(path))?.data,
    route(path, handler) {
      routes.set(normalize(path), handler);
    },
    redirect(path, location, status = 302) {
      routes.set(normalize(path), (_req, res) => {
        res.writeHead(status, { location });
        res.end();
      });
    },
    fault(path, fault) {
      faults.set(normalize(path), { fault, left: fault.times ?? 1 });
    },
    clearFaults(path) {
      if (path === undefined) faults.clear();
      else faults.delete(normalize(path));
    },
    stats: () => ({ ...counts }),
    resetPeak() {
      counts.peakConnections = counts.connections;
      counts.peakRequests = counts.requests;
    },
    requests: () => [...log],
    clearRequests() {
      log.length = 0;
    },
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        const closing = new Promise<void>((resolve) => server.close(() => resolve()));
        const open = [...sockets].map((socket) =>
          socket.closed
            ? undefined
            : new Promise<void>((resolve) => socket.once('close', () => resolve())),
        );
        for (const socket of sockets) socket.destroy();
        await Promise.all([closing, ...open]);
      })();
      return stopped;
    },
  };
}

function normalize(path: string): string {
  return path.startsWith('/') ? path : `/${path}`;
}

function ifRangeMatches(value: string, file: ServedFile): boolean {
  if (value.startsWith('"'))
    return file.etag !== undefined && !file.etag.startsWith('W/') && value === file.etag;
  return file.lastModified !== undefined && value === file.lastModified;
}

/** Writes a chunk and waits until it was handed to the socket; false when the response closed first. */
function write(res: ServerResponse, chunk: Uint8Array): Promise<boolean> {
  return new Promise((resolve) => {
    if (res.destroyed) {
      resolve(false);
      return;
    }
    const onClose = () => resolve(false);
    res.once('close', onClose);
    res.write(chunk, (error) => {
      res.off('close', onClose);
      resolve(error == null && !res.destroyed);
    });
  });
}

/** Waits `ms`; false when `signal` ended the wait. */
/** Waits until `until` settles; false when `signal` (the request gone, the fixture stopping) comes first. */
async function held(until: Promise<unknown>, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  let onAbort = () => {};
  const aborted = new Promise<false>((resolve) => {
    onAbort = () => resolve(false);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([
      until.then(
        () => true,
        () => true,
      ),
      aborted,
    ]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}
