import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { FaultPlan, seededRandom } from './fault-plan.js';
import type {
  FaultChannel,
  FaultKind,
  FaultProxyOptions,
  FaultSchedule,
} from './fault-proxy-options.js';
import { FaultyLink, type LinkHooks } from './faulty-link.js';
import { PassiveRewriter } from './passive-rewriter.js';

/** What a fault proxy counted since it started. */
export interface FaultProxyStats {
  /** Connections accepted on the proxy's port. */
  readonly connections: number;
  /** FTP data connections accepted on per-transfer ports. */
  readonly dataConnections: number;
  /** Connections (both channels) open now, counted until both of their sockets closed. */
  readonly open: number;
  /** Per-transfer data ports listening now (opened for a passive reply, not yet connected). */
  readonly dataPorts: number;
  /** Faults injected, all kinds. */
  readonly faults: number;
  /** Faults injected by kind. */
  readonly faultsByKind: Readonly<Record<FaultKind, number>>;
  /** Bytes forwarded from the server to clients. */
  readonly bytesToClient: number;
  /** Bytes forwarded from clients to the server. */
  readonly bytesToServer: number;
}

/**
 * A TCP proxy on loopback between clients and one real server that injects
 * faults into each connection (see {@link FaultKind}), by a seeded random
 * schedule and by explicit rules. Made by {@link startFaultProxy}.
 */
export interface FaultProxy {
  /** The address it listens on. */
  readonly host: string;
  /** The port it listens on: point clients at `host:port` instead of the server. */
  readonly port: number;
  /** What it counted so far. */
  stats(): FaultProxyStats;
  /** Replaces the faults of connections accepted from now on (open ones keep theirs). */
  setFaults(schedule: FaultSchedule): void;
  /** Closes every listener and destroys every connection (stalls included); resolves when closed. Idempotent. */
  stop(): Promise<void>;
}

const DATA_PORT_WAIT_MS = 30_000;

/**
 * Starts a {@link FaultProxy} on loopback, port 0, forwarding to
 * `options.target`. With `ftp: true` it also rewrites the server's passive
 * replies so each data connection goes through a port of its own, where the
 * data faults apply.
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const host = options.host ?? '127.0.0.1';
  const seeds = seededRandom(options.seed ?? 1);
  let schedule: FaultSchedule = {
    ...(options.random === undefined ? {} : { random: options.random }),
    ...(options.dataRandom === undefined ? {} : { dataRandom: options.dataRandom }),
    rules: options.rules ?? [],
  };
  const links = new Set<FaultyLink>();
  /** Listening data ports, each with the function that closes it. */
  const dataPorts = new Map<Server, () => void>();
  const accepted: Record<FaultChannel, number> = { main: 0, data: 0 };
  const counts = {
    faults: 0,
    faultsByKind: { reset: 0, stall: 0, truncate: 0, corrupt: 0 } as Record<FaultKind, number>,
    bytesToClient: 0,
    bytesToServer: 0,
  };
  let stopping = false;

  function planFor(channel: FaultChannel): FaultPlan {
    const index = accepted[channel]++;
    const random = channel === 'data' ? (schedule.dataRandom ?? schedule.random) : schedule.random;
    const seed = Math.floor(seeds() * 2 ** 32);
    return new FaultPlan(schedule.rules ?? [], channel, index, random, seed);
  }

  function link(
    client: Socket,
    target: { host: string; port: number },
    channel: FaultChannel,
    extra: Pick<LinkHooks, 'rewrite' | 'flush'> & { closed?: () => void } = {},
  ): void {
    if (stopping) {
      client.destroy();
      return;
    }
    const faulty = new FaultyLink(client, target, planFor(channel), {
      fault(kind) {
        counts.faults++;
        counts.faultsByKind[kind]++;
      },
      bytes(toClient, toServer) {
        counts.bytesToClient += toClient;
        counts.bytesToServer += toServer;
      },
      closed() {
        links.delete(faulty);
        extra.closed?.();
      },
      ...(extra.rewrite === undefined ? {} : { rewrite: extra.rewrite, flush: extra.flush }),
    });
    links.add(faulty);
  }

  /** A one-connection port forwarding to the server's passive port. */
  async function openDataPort(
    owned: Set<() => void>,
    targetHost: string,
    targetPort: number,
  ): Promise<number> {
    const server = createServer({ allowHalfOpen: true });
    const close = () => {
      clearTimeout(timer);
      dataPorts.delete(server);
      owned.delete(close);
      server.close();
    };
    const timer = setTimeout(close, DATA_PORT_WAIT_MS);
    server.on('connection', (client: Socket) => {
      close();
      link(client, { host: targetHost, port: targetPort }, 'data');
    });
    server.on('error', close);
    dataPorts.set(server, close);
    owned.add(close);
    await listen(server, host);
    return (server.address() as AddressInfo).port;
  }

  const main = createServer({ allowHalfOpen: true }, (client) => {
    if (options.ftp !== true) {
      link(client, options.target, 'main');
      return;
    }
    // Data ports of this control connection close with it.
    const owned = new Set<() => void>();
    const rewriter = new PassiveRewriter(
      (dataHost, dataPort) => openDataPort(owned, dataHost, dataPort),
      options.target.host,
      host,
    );
    link(client, options.target, 'main', {
      rewrite: (chunk) => rewriter.push(chunk),
      flush: () => rewriter.flush(),
      closed() {
        for (const close of [...owned]) close();
      },
    });
  });
  await listen(main, host);
  const port = (main.address() as AddressInfo).port;
  let stopped: Promise<void> | undefined;

  return {
    host,
    port,
    stats: () => ({
      connections: accepted.main,
      dataConnections: accepted.data,
      open: links.size,
      dataPorts: dataPorts.size,
      faults: counts.faults,
      faultsByKind: { ...counts.faultsByKind },
      bytesToClient: counts.bytesToClient,
      bytesToServer: counts.bytesToServer,
    }),
    setFaults(next) {
      schedule = { ...next, rules: next.rules ?? [] };
    },
    stop() {
      stopped ??= (async () => {
        stopping = true;
        const closing = new Promise<void>((resolve) => main.close(() => resolve()));
        for (const close of [...dataPorts.values()]) close();
        const open = [...links].map(
          (faulty) => new Promise<void>((resolve) => faulty.onClosed(resolve)),
        );
        for (const faulty of links) faulty.destroy();
        await Promise.all([closing, ...open]);
      })();
      return stopped;
    },
  };
}

function listen(server: Server, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
