import { createHash } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Streamer, StreamOutcome, StreamTarget } from '../../src/index.js';

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A real node:http server answering every request through a streamer. */
export interface StreamerServer {
  readonly origin: string;
  url(path: string): string;
  /** Outcomes of `handle`, in completion order. */
  readonly outcomes: StreamOutcome[];
  /** Resolves with the next `n` outcomes (counting from now). */
  nextOutcomes(n: number): Promise<StreamOutcome[]>;
  /** Requests handed to the streamer so far (a GET without admission joins or starts its flight at once). */
  received(): number;
  stop(): Promise<void>;
}

/**
 * Starts the streamer as a real HTTP server on loopback. `targetFor` maps a
 * request path to what to serve (`undefined` answers 404 without the streamer).
 */
export async function startStreamerServer(
  streamer: Streamer,
  targetFor: (path: string) => StreamTarget | undefined,
): Promise<StreamerServer> {
  const outcomes: StreamOutcome[] = [];
  const waiting: { count: number; resolve: (o: StreamOutcome[]) => void; from: number }[] = [];
  const sockets = new Set<import('node:net').Socket>();
  let received = 0;
  const server: Server = createServer((req, res) => {
    const target = targetFor(new URL(req.url ?? '/', 'http://x').pathname);
    if (target === undefined) {
      res.writeHead(404).end();
      return;
    }
    received++;
    void streamer.handle(req, res, target).then((outcome) => {
      outcomes.push(outcome);
      for (const w of [...waiting]) {
        if (outcomes.length - w.from >= w.count) {
          waiting.splice(waiting.indexOf(w), 1);
          w.resolve(outcomes.slice(w.from, w.from + w.count));
        }
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: (path) => `${origin}${path}`,
    outcomes,
    nextOutcomes(n) {
      return new Promise((resolve) => waiting.push({ count: n, resolve, from: outcomes.length }));
    },
    received: () => received,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** What a real HTTP client saw. */
export interface ClientResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** True only when the body ended cleanly (framing complete, no reset). */
  readonly complete: boolean;
  readonly error?: Error;
}

/** A plain node:http GET (or HEAD) on a fresh connection, reading the whole body. */
export function fetchRaw(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: options.method ?? 'GET',
      headers: options.headers,
      agent: false,
    });
    req.on('error', reject);
    req.on('response', (res: IncomingMessage) => {
      const parts: Buffer[] = [];
      let settled = false;
      const done = (error?: Error) => {
        if (settled) return;
        settled = true;
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(parts),
          complete: error === undefined && res.complete,
          ...(error === undefined ? {} : { error }),
        });
      };
      res.on('data', (chunk: Buffer) => parts.push(chunk));
      res.on('end', () => done());
      res.on('error', (error) => done(error));
      res.on('aborted', () => done(new Error('aborted')));
      res.on('close', () => done(res.complete ? undefined : new Error('closed early')));
    });
    req.end();
  });
}

/** Opens a GET and resolves with the response once headers arrived (the body is left to the caller). */
export function openRaw(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ res: IncomingMessage; destroy(): void }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false });
    req.on('error', reject);
    req.on('response', (res) => {
      res.on('error', () => {});
      resolve({ res, destroy: () => req.destroy() });
    });
    req.end();
  });
}
