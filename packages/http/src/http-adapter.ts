import type { ProtocolAdapter } from '@dl/core';
import type { HttpAdapterOptions } from './http-adapter-options.js';
import { serializeOptions } from './http-adapter-json.js';
import { HttpSession } from './http-session.js';
import { openHttp } from './open-http.js';

/**
 * The HTTP/HTTPS adapter, on undici. One session per factory owns the
 * connection pools (at most the factory's per-host limit of sockets per
 * origin, kept alive), the credentials and the token cache.
 *
 * @example
 * ```ts
 * const factory = createDownloaderFactory({
 *   adapters: [http({ auth: { type: 'bearer', token: { env: 'REPO_TOKEN' }, origins: ['https://repo.example'] } })],
 * });
 * ```
 */
export function http(options: HttpAdapterOptions = {}): ProtocolAdapter<HttpSession> {
  return {
    name: 'http',
    schemes: ['http', 'https'],
    // One transfer per connection until a connection negotiates HTTP/2 (the session's transfersPerConnection).
    capabilities: { resume: true, transfersPerConnection: 1, metadataBeforeBody: true },
    createSession: (context) => HttpSession.create(options, context),
    open: (session, request) => openHttp(session, request),
    toJSON: () => serializeOptions(options),
  };
}
