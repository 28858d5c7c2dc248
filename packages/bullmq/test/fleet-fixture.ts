import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { readdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The bytes of test file `i`: 1–17 KB, distinct per index; `big`: 300–316 KB,
 * more than core buffers before it first writes its temp file.
 */
export function content(i: number, big = false): Buffer {
  const size = (big ? 300 * 1024 : 1024) + ((i * 7919) % 16384);
  const seed = createHash('sha256').update(`file-${i}`).digest();
  const body = Buffer.alloc(size);
  for (let at = 0; at < size; at += seed.length) seed.copy(body, at);
  return body;
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** An HTTP server of `content(i)` at `/f/i`, counting transfers at once on the server side. */
export interface FileServer {
  readonly origin: string;
  url(i: number): string;
  /** Most responses in flight at once. */
  readonly maxActive: number;
  readonly served: number;
  close(): Promise<void>;
}

export async function startFileServer(
  options: { pauseMs?: number; token?: string; big?: boolean } = {},
): Promise<FileServer> {
  let active = 0;
  let maxActive = 0;
  let served = 0;
  const server: Server = createServer((request, response) => {
    const match = /^\/f\/(\d+)$/.exec(request.url ?? '');
    if (match === null) return void response.writeHead(404).end();
    if (
      options.token !== undefined &&
      request.headers.authorization !== `Bearer ${options.token}`
    ) {
      return void response.writeHead(401).end();
    }
    const body = content(Number(match[1]), options.big);
    active++;
    maxActive = Math.max(maxActive, active);
    let done = false;
    const end = (): void => {
      if (done) return;
      done = true;
      active--;
    };
    response.on('close', end);
    response.writeHead(200, {
      'content-length': body.length,
      'content-type': 'application/octet-stream',
    });
    // The pause comes after most of the body: past core's write buffer for big files.
    const half = body.length - 4096;
    response.write(body.subarray(0, half));
    setTimeout(() => {
      served++;
      response.end(body.subarray(half));
    }, options.pauseMs ?? 0);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: (i) => `${origin}/f/${i}`,
    get maxActive() {
      return maxActive;
    },
    get served() {
      return served;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const ENTRY = fileURLToPath(new URL('../src/test-support/fleet-worker.mjs', import.meta.url));

/** A worker process running the built packages. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly owner: string;
  /** Resolves with the exit code or signal. */
  readonly exited: Promise<number | string | null>;
  stop(): Promise<void>;
}

export async function spawnWorker(env: Record<string, string>): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [ENTRY], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  );
  const owner = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /ready (\S+)\n/.exec(text);
      if (match) resolve(match[1]!);
    });
    void exited.then((how) => reject(new Error(`worker exited before it was ready (${how})`)));
  });
  return {
    child,
    owner,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Every file under `dir` whose name ends with `.dl-part`. */
export async function tempFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.dl-part'))
    .map((e) => join(e.parentPath, e.name));
}
