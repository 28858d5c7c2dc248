import { setMaxListeners } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import {
  DownloadError,
  ErrorCodes,
  redactText,
  type AdapterSession,
  type Logger,
  type SessionContext,
  resolveSecret,
} from '@dl/core';
import type { Dispatcher } from 'undici';
import { AuthManager } from './auth/auth-manager.js';
import type { TokenFetch } from './auth/token-provider.js';
import { createDispatchers, GATE_BUSY, localGate, type DispatcherRouter } from './dispatchers.js';
import { HttpExchange } from './http-exchange.js';
import type { HttpAdapterOptions, HttpTimeouts } from './http-adapter-options.js';
import { resolveProxies } from './proxy-options.js';
import type { HttpRedirectOptions } from './redirects.js';
import { resolveTls } from './tls-options.js';
import { TlsAlerts } from './tls-alerts.js';

/** Defaults of {@link HttpTimeouts}. */
export const DEFAULT_TIMEOUTS = { connect: 10_000, headers: 30_000, idle: 30_000 } as const;
/** Default of `maxConcurrentStreams`: undici's, and what a Node HTTP/2 server allows. */
export const DEFAULT_H2_STREAMS = 100;
/** Largest token-service response read into memory. */
const MAX_TOKEN_BODY = 1024 * 1024;

/**
 * The http adapter's shared resources for one factory: undici dispatchers
 * (a hard cap of `maxConnectionsPerHost` sockets per origin, keep-alive),
 * resolved credentials and the token cache.
 */
export class HttpSession implements AdapterSession {
  readonly userAgent: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeouts: Required<Omit<HttpTimeouts, 'total'>> & Pick<HttpTimeouts, 'total'>;
  readonly redirects: HttpRedirectOptions | undefined;
  readonly decode: boolean;
  readonly log: Logger;
  readonly auth: AuthManager;
  /** Aborted when the session is destroyed (or its factory's signal aborts). */
  readonly signal: AbortSignal;
  /** Client-certificate refusals seen on this session's connections. */
  readonly alerts: TlsAlerts;
  readonly #router: DispatcherRouter | undefined;
  readonly #injected: Dispatcher | undefined;
  readonly #secrets: Set<string>;
  readonly #destroyed: AbortController;
  #closing: Promise<void> | undefined;

  private constructor(init: {
    options: HttpAdapterOptions;
    context: SessionContext;
    headers: Record<string, string>;
    router: DispatcherRouter | undefined;
    auth: AuthManager;
    secrets: Set<string>;
    destroyed: AbortController;
    alerts: TlsAlerts;
  }) {
    const { options, context } = init;
    this.userAgent = [context.userAgent, options.userAgent].filter(Boolean).join(' ');
    this.headers = init.headers;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.redirects = options.redirects;
    this.decode = options.decode === true;
    this.log = context.log;
    this.auth = init.auth;
    this.#router = init.router;
    this.#injected = options.dispatcher;
    this.#secrets = init.secrets;
    this.#destroyed = init.destroyed;
    this.signal = init.destroyed.signal;
    this.alerts = init.alerts;
  }

  /** Reads every referenced secret and file, then builds the dispatchers. */
  static async create(options: HttpAdapterOptions, context: SessionContext): Promise<HttpSession> {
    const streams = h2Streams(options.maxConcurrentStreams);
    const secrets = new Set<string>();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      headers[name.toLowerCase()] = await resolveSecret(value, `header ${name}`);
      if (typeof value !== 'string' || SENSITIVE_HEADER.test(name))
        secrets.add(headers[name.toLowerCase()] ?? '');
    }
    const tls = await resolveTls(options.tls);
    if (tls.passphrase) secrets.add(tls.passphrase);
    if (!tls.rejectUnauthorized)
      context.log.warn('http: TLS certificate verification is turned off');
    const proxies = await resolveProxies(options.proxy);
    for (const s of proxies?.secrets ?? []) secrets.add(s);
    const destroyed = new AbortController();
    // Every attempt in flight listens to it: hundreds are normal, not a leak.
    setMaxListeners(0, destroyed.signal);
    // Token services are reached through this same session (its TLS, proxy and limits).
    const self: { session?: HttpSession } = {};
    const fetch: TokenFetch = async (url, init) => {
      if (!self.session) throw new Error('unreachable: token fetch before the session exists');
      return self.session.fetchSmall(url, init.headers ?? {}, init.signal);
    };
    // Everything that can fail is resolved before anything that needs closing is made.
    const auth = await AuthManager.create(options.auth, fetch, destroyed.signal, context.log);
    const alerts = new TlsAlerts();
    const connections = Math.max(1, Math.floor(context.maxConnectionsPerHost));
    const router = options.dispatcher
      ? undefined
      : createDispatchers({
          connections,
          tls,
          proxies,
          connectTimeout: options.timeouts?.connect ?? DEFAULT_TIMEOUTS.connect,
          // The factory's maxIdleMs caps both our own figure and the server's Keep-Alive hint.
          keepAliveTimeout: Math.max(
            1,
            Math.min(options.keepAliveTimeout ?? 4_000, context.maxIdleMs ?? Infinity),
          ),
          ...(context.maxIdleMs === undefined
            ? {}
            : { keepAliveMaxTimeout: Math.max(1, context.maxIdleMs) }),
          allowH2: options.allowH2 === true,
          streams,
          alerts,
          ...(context.connectionGate === undefined
            ? options.allowH2 === true
              ? { gate: { gate: localGate(connections), signal: destroyed.signal } }
              : {}
            : { gate: { gate: context.connectionGate, signal: destroyed.signal } }),
        });
    const onContextAbort = () => destroyed.abort(context.signal.reason);
    if (context.signal.aborted) onContextAbort();
    else context.signal.addEventListener('abort', onContextAbort, { once: true });
    self.session = new HttpSession({
      options,
      context,
      headers,
      router,
      auth,
      secrets,
      destroyed,
      alerts,
    });
    return self.session;
  }

  /** Streams one connection to `origin` carries, once it is known to speak HTTP/2. */
  transfersPerConnection(origin: string): number | undefined {
    return this.#router?.transfersPerConnection(origin);
  }

  /** Whether destroying this session ends its requests (it owns its dispatchers). */
  get ownsDispatchers(): boolean {
    return this.#injected === undefined;
  }

  /** The dispatcher for a URL (the injected one, direct, or through a proxy). */
  dispatcher(url: URL): Dispatcher {
    if (this.#injected) return this.#injected;
    if (!this.#router)
      throw new DownloadError('The http session has no dispatcher', { code: ErrorCodes.Internal });
    return this.#router.for(url);
  }

  /**
   * One GET, as undici returns it (status, headers, body not yet read).
   * Sent again while its connect got no connection lease yet (fleet).
   */
  request(
    url: URL,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    return this.#whileGateBusy(this.#requestOnce, url, headers, signal);
  }

  #requestOnce(
    url: URL,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<Dispatcher.ResponseData> {
    return this.dispatcher(url).request({ ...this.#getOptions(url, headers), signal });
  }

  /**
   * One GET sent with `dispatch()`, resolved at the response headers with
   * its body not yet read (see {@link HttpExchange}). Sent again while its
   * connect got no connection lease yet (fleet).
   */
  exchange(url: URL, headers: Record<string, string>, signal: AbortSignal): Promise<HttpExchange> {
    return this.#whileGateBusy(this.#exchangeOnce, url, headers, signal);
  }

  #exchangeOnce(
    url: URL,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<HttpExchange> {
    const exchange = new HttpExchange(signal);
    this.dispatcher(url).dispatch(this.#getOptions(url, headers), exchange);
    return exchange.started;
  }

  /** Sends with `send` again while its connect got no connection lease yet (fleet). */
  async #whileGateBusy<T>(
    send: (url: URL, headers: Record<string, string>, signal: AbortSignal) => Promise<T>,
    url: URL,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<T> {
    for (;;) {
      try {
        return await send.call(this, url, headers, signal);
      } catch (error) {
        if ((error as { code?: unknown } | null)?.code !== GATE_BUSY || signal.aborted) throw error;
      }
    }
  }

  /** The GET both ways of sending share. */
  #getOptions(url: URL, headers: Record<string, string>): Dispatcher.DispatchOptions {
    const options: Dispatcher.DispatchOptions = {
      origin: url.origin,
      path: url.pathname + url.search,
      method: 'GET',
      headers,
      headersTimeout: this.timeouts.headers,
      bodyTimeout: this.timeouts.idle,
    };
    // Over this process's fair share of the host's fleet-wide connections: this one closes after.
    if (this.#router?.retire(url) === true) options.reset = true;
    return options;
  }

  /** A small GET whose body is read whole (token services); no redirects. */
  async fetchSmall(
    url: URL,
    headers: Readonly<Record<string, string>>,
    signal: AbortSignal,
  ): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const response = await this.request(url, { 'user-agent': this.userAgent, ...headers }, signal);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_TOKEN_BODY) {
        response.body.destroy();
        throw new DownloadError('The token response is too large', {
          code: ErrorCodes.ProtocolError,
          url,
        });
      }
      chunks.push(chunk);
    }
    return {
      status: response.statusCode,
      headers: flatten(response.headers),
      body: Buffer.concat(chunks).toString('utf8'),
    };
  }

  /** Text with every secret this session knows removed. */
  scrub(text: string): string {
    return redactText(text, [...this.#secrets, ...this.auth.secrets()]);
  }

  /** Graceful: waits for requests in flight, then closes every connection. */
  close(): Promise<void> {
    // A dispatcher already destroyed rejects close(); there is nothing left to wait for then.
    this.#closing ??= Promise.all(
      (this.#router?.owned ?? []).map((d) => d.close().catch(() => {})),
    ).then(() => undefined);
    return this.#closing;
  }

  /** Abrupt: ends every request and connection now. */
  async destroy(): Promise<void> {
    this.#destroyed.abort(
      new DownloadError('The http session was destroyed', { code: ErrorCodes.Closed }),
    );
    await Promise.all((this.#router?.owned ?? []).map((d) => d.destroy()));
  }
}

function h2Streams(value: number | undefined): number {
  if (value === undefined) return DEFAULT_H2_STREAMS;
  if (!Number.isInteger(value) || value < 1)
    throw new DownloadError('http: maxConcurrentStreams must be a positive integer', {
      code: ErrorCodes.InvalidRequest,
    });
  return value;
}

const SENSITIVE_HEADER = /authorization|cookie|token|secret|password|api-?key|auth/i;

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
