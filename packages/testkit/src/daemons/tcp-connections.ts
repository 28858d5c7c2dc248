import { readFileSync } from 'node:fs';

const ESTABLISHED = '01';
const LISTEN = '0A';

function socketsOnLocalPort(port: number, state: string, maxPort = port): number {
  let count = 0;
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
      if (localPort >= port && localPort <= maxPort) count++;
    }
  }
  return count;
}

/**
 * Established TCP connections whose local (server-side) port is `port`: what
 * a daemon listening there sees. Read from `/proc/net/tcp{,6}` (Linux), so it
 * is cheap enough to poll every few milliseconds.
 */
export function establishedConnections(port: number): number {
  return socketsOnLocalPort(port, ESTABLISHED);
}

/** Established TCP connections whose local port is in `min..max` (a daemon's passive data ports). */
export function establishedConnectionsInRange(min: number, max: number): number {
  return socketsOnLocalPort(min, ESTABLISHED, max);
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

/**
 * Samples the established connections to `port` every `intervalMs` and keeps
 * the maximum: how a test proves a daemon never saw more than N connections.
 *
 * @param intervalMs - Pause between samples. @default 5
 */
export function watchConnections(port: number, intervalMs = 5): ConnectionWatch {
  let max = 0;
  let samples = 0;
  const sample = () => {
    samples++;
    max = Math.max(max, establishedConnections(port));
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    get max() {
      return max;
    },
    get samples() {
      return samples;
    },
    stop() {
      clearInterval(timer);
      sample();
      return max;
    },
  };
}
