import { buildConnector } from 'undici';
import { CLIENT_CERT_REFUSED } from './network-errors.js';

/** Remembered alerts beyond which the oldest are forgotten. */
const MAX_REMEMBERED = 256;

/**
 * Remembers the TLS alerts by which servers refused our client certificate.
 * With TLS 1.3 the refusal arrives after the handshake, and undici then
 * reports only "other side closed"; this lets the error say what happened.
 */
export class TlsAlerts {
  readonly #byLocalPort = new Map<number, Error>();

  /** A connector that records refusals on the sockets it makes. */
  connector(options: buildConnector.BuildOptions): buildConnector.connector {
    const base = buildConnector(options);
    return (opts, callback) =>
      base(opts, (...args) => {
        const socket = args[1];
        if (socket) {
          socket.on('error', (error: Error & { code?: string }) => {
            if (
              error.code === undefined ||
              !CLIENT_CERT_REFUSED.has(error.code) ||
              socket.localPort === undefined
            )
              return;
            this.#byLocalPort.set(socket.localPort, error);
            if (this.#byLocalPort.size > MAX_REMEMBERED) {
              const oldest = this.#byLocalPort.keys().next().value;
              if (oldest !== undefined) this.#byLocalPort.delete(oldest);
            }
          });
        }
        callback(...args);
      });
  }

  /** The recorded alert behind an undici socket error, if there was one (forgotten once read). */
  explain(error: unknown): unknown {
    const info =
      (error as { code?: unknown; socket?: { localPort?: unknown } } | null) ?? undefined;
    if (info?.code !== 'UND_ERR_SOCKET' || typeof info.socket?.localPort !== 'number') return error;
    const alert = this.#byLocalPort.get(info.socket.localPort);
    if (alert === undefined) return error;
    this.#byLocalPort.delete(info.socket.localPort);
    return alert;
  }
}
