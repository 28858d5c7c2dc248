import type { Dispatcher } from 'undici';
import type { HttpAuth } from './auth/http-auth.js';
import type { HttpProxyOptions } from './proxy-options.js';
import type { HttpRedirectOptions } from './redirects.js';
import type { SecretRef } from '@dl/core';
import type { HttpTlsOptions } from './tls-options.js';

/** Timeouts in milliseconds. There is no total timeout unless asked: large files must not die of being large. */
export interface HttpTimeouts {
  /** Establishing a connection, TLS handshake (and proxy tunnel) included. @default 10000 */
  readonly connect?: number;
  /** From sending a request to receiving the complete response headers. @default 30000 */
  readonly headers?: number;
  /** Longest silence between two body chunks. 0 disables it. @default 30000 */
  readonly idle?: number;
  /** One whole attempt, body included. Opt-in. @default none */
  readonly total?: number;
}

/**
 * Options of the {@link http} adapter. Everything is plain data except
 * `dispatcher` and token providers, so a configuration can be written as
 * JSON (see `toJSON()`) and rebuilt in another process. Credentials may be
 * given by reference (`{ env: 'NAME' }`, `{ file: 'path' }`), read when the
 * session is created.
 */
export interface HttpAdapterOptions {
  /**
   * Headers sent with every request (a request's own headers win). Values
   * may be references. `Authorization` and `Cookie` are dropped when a
   * redirect changes origin.
   * @default {}
   */
  readonly headers?: Readonly<Record<string, string | SecretRef>>;
  /** Appended to the factory's `dl/<version> …` `User-Agent`. @default '' */
  readonly userAgent?: string;
  /** Credentials, each sent only to the origins it covers; the first entry that covers an origin is used. @default none */
  readonly auth?: HttpAuth | readonly HttpAuth[];
  /** TLS settings for https origins. @default Node's CAs, certificates verified */
  readonly tls?: HttpTlsOptions;
  /** A forward proxy. @default none (and the environment is ignored) */
  readonly proxy?: HttpProxyOptions;
  /** Connect, header, idle and (opt-in) total timeouts. @default { connect: 10000, headers: 30000, idle: 30000 } */
  readonly timeouts?: HttpTimeouts;
  /** Redirect policy. @default { max: 10, allowDowngrade: false } */
  readonly redirects?: HttpRedirectOptions;
  /**
   * Ask for compressed transfer and decode `gzip`, `deflate` and `br`
   * bodies, so validation sees the decoded bytes. Off by default so a `.gz`
   * served with `Content-Encoding: gzip` stays byte-exact; when on, a
   * resumed attempt restarts from zero.
   * @default false
   */
  readonly decode?: boolean;
  /**
   * Negotiate HTTP/2 (ALPN `h2`, else `http/1.1`) with https servers that
   * offer it. The per-host limit keeps counting connections: once a
   * connection to a host negotiated HTTP/2, it carries up to
   * `maxConcurrentStreams` transfers at once, so up to per-host ×
   * `maxConcurrentStreams` transfers run to that host over at most per-host
   * connections. An HTTP/1.1-only server still gets one request per
   * connection. Direct connections only: through a proxy, one request per
   * connection.
   * @default false
   */
  readonly allowH2?: boolean;
  /**
   * With `allowH2`: streams (transfers) one HTTP/2 connection carries at
   * once. Keep it at or below the server's `SETTINGS_MAX_CONCURRENT_STREAMS`
   * (100 for most servers): streams beyond it wait at the connection, their
   * header timeout running.
   * @default 100
   */
  readonly maxConcurrentStreams?: number;
  /**
   * How long an idle connection is kept for reuse. Lowered to the factory's
   * `maxIdleMs` when that is set (a fleet-wide budget on Redis), which also
   * caps a server's longer `Keep-Alive: timeout=` hint.
   * @default 4000
   */
  readonly keepAliveTimeout?: number;
  /**
   * An undici dispatcher to send every request through instead of the
   * session's own. The session neither closes it nor enforces the per-host
   * connection cap on it; `tls`, `proxy` and the connect timeout are then the
   * dispatcher's business. Not serialized.
   * @default the session's own Agent
   */
  readonly dispatcher?: Dispatcher;
}
