import type { ConnectionGate } from '@dl/core';
import type { TLSSocket } from 'node:tls';
import { Agent, Client, Pool, ProxyAgent, type buildConnector, type Dispatcher } from 'undici';
import type { ResolvedProxies, ResolvedProxy } from './proxy-options.js';
import type { ResolvedTls } from './tls-options.js';
import type { TlsAlerts } from './tls-alerts.js';

/** What the session's dispatchers are built from. */
export interface DispatcherSettings {
  /** Hard cap on connections per origin (the factory's per-host limit). */
  readonly connections: number;
  readonly tls: ResolvedTls;
  readonly proxies: ResolvedProxies | undefined;
  readonly connectTimeout: number;
  readonly keepAliveTimeout: number;
  /** The longest a server's `Keep-Alive: timeout=` hint may keep a socket idle; undici's default when absent. */
  readonly keepAliveMaxTimeout?: number;
  readonly allowH2: boolean;
  /** Streams one HTTP/2 connection carries at once (direct connections only). */
  readonly streams: number;
  /** Records client-certificate refusals on direct connections. */
  readonly alerts: TlsAlerts;
  /**
   * The factory's connection gate: every direct socket holds a lease of its
   * origin from before it is opened until its 'close'. Waits for a lease
   * end when `signal` (the session's) aborts.
   */
  readonly gate?: { readonly gate: ConnectionGate; readonly signal: AbortSignal };
}

/** Picks the dispatcher for a URL: direct, or through the proxy for its scheme. */
export interface DispatcherRouter {
  readonly for: (url: URL) => Dispatcher;
  /** Dispatchers the session created (and so closes). */
  readonly owned: readonly Dispatcher[];
  /**
   * Whether the connection that serves a request for `url` should close
   * after it (`reset`): a direct connection while the gate says this process
   * holds more than its fair share of the origin. A true answer counts.
   * Never for an HTTP/2 origin: its streams cannot close their connection.
   */
  readonly retire: (url: URL) => boolean;
  /**
   * Streams one direct connection to `origin` (`protocol//host:port`)
   * carries: `streams` once the last connection made to it negotiated
   * HTTP/2, else undefined (one request per connection).
   */
  readonly transfersPerConnection: (origin: string) => number | undefined;
}

/**
 * The session's undici dispatchers: one Agent for direct connections and one
 * ProxyAgent per distinct proxy, each with at most `connections` sockets (or
 * tunnels) per origin, kept alive between requests, never pipelined. With
 * `allowH2`, a direct connection that negotiates HTTP/2 carries up to
 * `streams` requests at once; one that falls back to HTTP/1.1 carries one.
 */
export function createDispatchers(settings: DispatcherSettings): DispatcherRouter {
  const { connections } = settings;
  const pool = {
    connections,
    pipelining: 1,
    keepAliveTimeout: settings.keepAliveTimeout,
    ...(settings.keepAliveMaxTimeout === undefined
      ? {}
      : { keepAliveMaxTimeout: settings.keepAliveMaxTimeout }),
    allowH2: settings.allowH2,
  };
  const multiplexed = new Map<string, number>();
  const tls = { ...tlsConnect(settings.tls), timeout: settings.connectTimeout };
  const connector = settings.alerts.connector({
    ...tls,
    allowH2: settings.allowH2,
    maxCachedSessions: 100,
  });
  const direct = new Agent({
    ...pool,
    connect: settings.gate === undefined ? connector : gated(connector, settings.gate),
    ...(settings.allowH2
      ? {
          // undici's `maxConcurrentStreams`: what is assumed of the server until its SETTINGS arrive.
          maxConcurrentStreams: settings.streams,
          factory: (origin: string | URL, options: object) =>
            new Pool(origin, {
              ...options,
              factory: (o: string | URL, clientOptions: object) =>
                multiplexingClient(o, clientOptions, settings.streams, multiplexed),
            }),
        }
      : {}),
  });
  const retireOf = settings.gate?.gate.retire?.bind(settings.gate.gate);
  const retireDirect = (url: URL): boolean => {
    if (retireOf === undefined) return false;
    const origin = gateOrigin(url.protocol, url.hostname, url.port);
    return !multiplexed.has(origin) && retireOf(origin);
  };
  const transfersPerConnection = (origin: string) => multiplexed.get(origin);
  const proxies = settings.proxies;
  if (!proxies)
    return { for: () => direct, owned: [direct], retire: retireDirect, transfersPerConnection };

  const byUrl = new Map<string, ProxyAgent>();
  const proxyAgent = (proxy: ResolvedProxy): ProxyAgent => {
    const key = `${proxy.url.href} ${proxy.authorization ?? ''}`;
    let agent = byUrl.get(key);
    if (!agent) {
      agent = new ProxyAgent({
        ...pool,
        uri: proxy.url.href,
        ...(proxy.authorization ? { token: proxy.authorization } : {}),
        // http targets go to the proxy in absolute form; https ones through CONNECT.
        proxyTunnel: false,
        requestTls: tls,
        proxyTls: {
          ...(settings.tls.ca ? { ca: settings.tls.ca } : {}),
          rejectUnauthorized: settings.tls.rejectUnauthorized,
          timeout: settings.connectTimeout,
        },
        factory: (origin: string | URL, options: object) =>
          new Pool(origin, { ...options, connections }),
      });
      byUrl.set(key, agent);
    }
    return agent;
  };
  const httpAgent = proxies.http ? proxyAgent(proxies.http) : undefined;
  const httpsAgent = proxies.https ? proxyAgent(proxies.https) : undefined;
  const route = (url: URL): Dispatcher => {
    const agent = url.protocol === 'https:' ? httpsAgent : httpAgent;
    return agent === undefined || proxies.bypass(url) ? direct : agent;
  };
  return {
    for: route,
    owned: [direct, ...byUrl.values()],
    retire: (url) => route(url) === direct && retireDirect(url),
    transfersPerConnection: (origin) => {
      // A proxied origin is never multiplexed; only direct connections are recorded.
      const url = new URL(origin);
      return route(url) === direct ? multiplexed.get(origin) : undefined;
    },
  };
}

/**
 * How long a socket of {@link localGate} still counts after its close: the
 * server sees the close a moment after this process does.
 */
const LOCAL_CLOSE_GRACE_MS = 300;

/**
 * An in-process {@link ConnectionGate}: at most `limit` sockets per origin,
 * each counted until {@link LOCAL_CLOSE_GRACE_MS} after its close. undici's
 * pool caps its clients, not their sockets: a client whose HTTP/2 session
 * got GOAWAY opens its next socket while the server still holds the last.
 */
export function localGate(limit: number): ConnectionGate {
  const open = new Map<string, number>();
  const waiting = new Map<string, (() => void)[]>();
  const release = (origin: string) => {
    const next = waiting.get(origin)?.shift();
    if (waiting.get(origin)?.length === 0) waiting.delete(origin);
    if (next) return next();
    const left = (open.get(origin) ?? 1) - 1;
    if (left === 0) open.delete(origin);
    else open.set(origin, left);
  };
  const lease = (origin: string) => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      setTimeout(() => release(origin), LOCAL_CLOSE_GRACE_MS).unref();
    };
  };
  return {
    acquire(origin, signal) {
      const count = open.get(origin) ?? 0;
      if (count < limit) {
        open.set(origin, count + 1);
        return Promise.resolve(lease(origin));
      }
      return new Promise((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const queue = waiting.get(origin) ?? [];
        waiting.set(origin, queue);
        const onAbort = () => {
          const index = queue.indexOf(grant);
          if (index >= 0) queue.splice(index, 1);
          if (queue.length === 0 && waiting.get(origin) === queue) waiting.delete(origin);
          reject(signal?.reason);
        };
        // The slot of a release passes straight to the next in line.
        const grant = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(lease(origin));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        queue.push(grant);
      });
    },
  };
}

/** Origins remembered as multiplexed; the oldest is forgotten beyond this many. */
const MAX_MULTIPLEXED_ORIGINS = 1024;

/**
 * A pool's client that multiplexes once its connection negotiated HTTP/2:
 * undici runs at most `pipelining` requests on a connection, HTTP/2 or not,
 * so it stays 1 (never HTTP/1.1 pipelining) until ALPN says `h2`. Each
 * connect records the answer in `multiplexed` for the factory's admission.
 */
function multiplexingClient(
  origin: string | URL,
  options: object,
  streams: number,
  multiplexed: Map<string, number>,
): Client {
  const connect = (options as { connect: buildConnector.connector }).connect;
  const client: Client = new Client(origin, {
    ...options,
    connect: (opts, callback) =>
      connect(opts, (...args) => {
        const socket = args[1] as TLSSocket | null;
        if (socket) {
          const key = gateOrigin(opts.protocol, opts.hostname, opts.port);
          multiplexed.delete(key);
          if (socket.alpnProtocol === 'h2') {
            client.pipelining = streams;
            multiplexed.set(key, streams);
            if (multiplexed.size > MAX_MULTIPLEXED_ORIGINS)
              multiplexed.delete(multiplexed.keys().next().value!);
          } else {
            client.pipelining = 1;
          }
        }
        callback(...args);
      }),
  });
  return client;
}

function tlsConnect(tls: ResolvedTls): Record<string, unknown> {
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(tls.ca ? { ca: tls.ca } : {}),
    ...(tls.cert ? { cert: tls.cert } : {}),
    ...(tls.key ? { key: tls.key } : {}),
    ...(tls.passphrase ? { passphrase: tls.passphrase } : {}),
    ...(tls.servername ? { servername: tls.servername } : {}),
  };
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

/**
 * How long a connect waits for its lease before it gives up with
 * {@link GATE_BUSY}: undici binds a request to the connection it opens, so a
 * request must not wait there while another of this process's connections
 * may free up first (the session sends it again, and undici drops a client
 * whose connect failed).
 */
const GATE_WAIT_MS = 250;

/** The code of the error a connect that got no lease in {@link GATE_WAIT_MS} fails with. */
export const GATE_BUSY = 'DL_GATE_BUSY';

/** The origin a direct connection's lease counts against: `protocol//host:port`, the port always given. */
function gateOrigin(protocol: string, hostname: string, port: string): string {
  const p = port || DEFAULT_PORTS[protocol] || '';
  return `${protocol}//${hostname}${p ? `:${p}` : ''}`;
}

/**
 * `connector`, taking a lease of `gate` for the socket's origin before it
 * connects; the lease is given back on the socket's 'close', or at once
 * when the connect fails. undici runs its connect timeout from the call to
 * `connector`, so the wait for a lease does not count against it.
 */
function gated(
  connector: buildConnector.connector,
  { gate, signal }: { readonly gate: ConnectionGate; readonly signal: AbortSignal },
): buildConnector.connector {
  return (opts, callback) => {
    const origin = gateOrigin(opts.protocol, opts.hostname, opts.port);
    const wait = AbortSignal.any([signal, AbortSignal.timeout(GATE_WAIT_MS)]);
    gate.acquire(origin, wait).then(
      (release) => {
        connector(opts, (...args) => {
          const socket = args[1];
          if (socket) socket.once('close', release);
          else release();
          callback(...args);
        });
      },
      (error: unknown) => {
        if (signal.aborted) return callback(error as Error, null);
        callback(Object.assign(new Error('No connection lease yet'), { code: GATE_BUSY }), null);
      },
    );
  };
}
