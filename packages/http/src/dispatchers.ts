import type { ConnectionGate } from '@dl/core';
import { Agent, Pool, ProxyAgent, type buildConnector, type Dispatcher } from 'undici';
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
   */
  readonly retire: (url: URL) => boolean;
}

/**
 * The session's undici dispatchers: one Agent for direct connections and one
 * ProxyAgent per distinct proxy, each with at most `connections` sockets (or
 * tunnels) per origin, kept alive between requests, never pipelined.
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
    ...(settings.allowH2 ? { maxConcurrentStreams: connections } : {}),
  };
  const tls = { ...tlsConnect(settings.tls), timeout: settings.connectTimeout };
  const connector = settings.alerts.connector({
    ...tls,
    allowH2: settings.allowH2,
    maxCachedSessions: 100,
  });
  const direct = new Agent({
    ...pool,
    connect: settings.gate === undefined ? connector : gated(connector, settings.gate),
  });
  const retireOf = settings.gate?.gate.retire?.bind(settings.gate.gate);
  const retireDirect = (url: URL): boolean =>
    retireOf?.(gateOrigin(url.protocol, url.hostname, url.port)) ?? false;
  const proxies = settings.proxies;
  if (!proxies) return { for: () => direct, owned: [direct], retire: retireDirect };

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
  };
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
