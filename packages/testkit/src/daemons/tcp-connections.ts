import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { descriptorTargets } from './process-tree.js';

const ESTABLISHED = '01';
const LISTEN = '0A';

/** Inodes of the sockets in `state` whose local port is in `port..maxPort`. */
function socketInodes(port: number, state: string, maxPort = port): string[] {
  const inodes: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (local === undefined || fields[3] !== state) continue;
      const localPort = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
      if (localPort >= port && localPort <= maxPort) inodes.push(fields[9] ?? '');
    }
  }
  return inodes;
}

function socketsOnLocalPort(port: number, state: string, maxPort = port): number {
  return socketInodes(port, state, maxPort).length;
}

/** Inodes of the sockets the processes hold open. */
function socketsOf(pids: readonly number[]): Set<string> {
  const inodes = new Set<string>();
  for (const target of descriptorTargets(pids)) {
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match?.[1] !== undefined) inodes.add(match[1]);
  }
  return inodes;
}

/**
 * Established TCP connections whose local (server-side) port is `port`: what
 * a daemon listening there sees. Read from `/proc/net/tcp{,6}` (Linux), so it
 * is cheap enough to poll every few milliseconds.
 */
export function establishedConnections(port: number): number {
  return socketsOnLocalPort(port, ESTABLISHED);
}

/**
 * Established TCP connections whose local port is in `min..max` (a daemon's
 * passive data ports) and that one of `pids` holds: ranges of daemons
 * running at once may overlap, the sockets may not.
 */
export function establishedConnectionsInRange(
  min: number,
  max: number,
  pids: readonly number[],
): number {
  const candidates = socketInodes(min, ESTABLISHED, max);
  if (candidates.length === 0) return 0;
  const owned = socketsOf(pids);
  return candidates.filter((inode) => owned.has(inode)).length;
}

/** True when process `pid` itself holds a socket listening on TCP `port`. */
export function listensOn(pid: number, port: number): boolean {
  const inodes = socketInodes(port, LISTEN);
  if (inodes.length === 0) return false;
  const owned = socketsOf([pid]);
  return inodes.some((inode) => owned.has(inode));
}

/** True when something listens on TCP `port`. */
export function isListening(port: number): boolean {
  return socketsOnLocalPort(port, LISTEN) > 0;
}

/** A running maximum of {@link establishedConnections}, sampled until stopped. */
export interface ConnectionWatch {
  /** The most connections seen at once so far. */
  readonly max: number;
  /** Samples taken so far. */
  readonly samples: number;
  /** Stops sampling (takes one last sample) and returns the maximum. */
  stop(): number;
}

// Runs in a worker thread: sampling costs milliseconds per call (the kernel
// formats every socket for /proc/net/tcp; ss forks), which on the main
// thread would slow down the very transfers being watched. `ss` filters in
// the kernel (inet_diag), so its cost does not grow with TIME_WAIT sockets.
const SAMPLER = `
const { workerData } = require('node:worker_threads');
const { execFileSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const state = new Int32Array(workerData.shared);
const port = workerData.port;
let useSs = true;
function fromProc() {
  let count = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = readFileSync(table, 'utf8'); } catch { continue; }
    for (const line of text.split('\\n')) {
      const fields = line.trim().split(/\\s+/);
      const local = fields[1];
      if (local === undefined || fields[3] !== '01') continue;
      if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) count++;
    }
  }
  return count;
}
function sample() {
  if (useSs) {
    try {
      const out = execFileSync('ss', ['-Htn', 'state', 'established', '( sport = :' + port + ' )'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      return out.split('\\n').filter((line) => line.trim() !== '').length;
    } catch { useSs = false; }
  }
  return fromProc();
}
while (Atomics.load(state, 2) === 0) {
  const n = sample();
  if (n > Atomics.load(state, 0)) Atomics.store(state, 0, n);
  Atomics.add(state, 1, 1);
  Atomics.wait(state, 2, 0, workerData.intervalMs);
}
`;

/**
 * Samples the established connections to `port` (server side, with `ss`, or
 * `/proc/net/tcp` where ss is missing) every `intervalMs` in a worker thread
 * and keeps the maximum: how a test proves a daemon never saw more than N
 * connections.
 *
 * @param intervalMs - Pause between samples. @default 5
 */
export function watchConnections(port: number, intervalMs = 5): ConnectionWatch {
  const shared = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT);
  const state = new Int32Array(shared);
  Atomics.store(state, 0, establishedConnections(port));
  const worker = new Worker(SAMPLER, { eval: true, workerData: { shared, port, intervalMs } });
  worker.unref();
  worker.on('error', () => {});
  let stopped = false;
  return {
    get max() {
      return Atomics.load(state, 0);
    },
    get samples() {
      return Atomics.load(state, 1);
    },
    stop() {
      if (!stopped) {
        stopped = true;
        Atomics.store(state, 2, 1);
        Atomics.notify(state, 2);
        void worker.terminate();
        const last = establishedConnections(port);
        if (last > Atomics.load(state, 0)) Atomics.store(state, 0, last);
      }
      return Atomics.load(state, 0);
    },
  };
}
