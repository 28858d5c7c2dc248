import type { OpenRequest } from './open-request.js';
import type { RemoteResource } from './remote-resource.js';
import type { AdapterSession, SessionContext } from './session.js';

/**
 * What an adapter can do. The core adapts to it so the adapter stays small:
 * it does not resume an adapter that cannot, and it never runs more
 * transfers per host than the adapter's connections can carry.
 */
export interface AdapterCapabilities {
  /** Can open a resource at a byte offset (HTTP Range, FTP REST, SFTP read offset). */
  readonly resume: boolean;
  /**
   * Transfers one connection carries at once: 1 for FTP, SFTP and HTTP/1.1,
   * more for multiplexed protocols. The per-host limit counts connections:
   * the factory admits up to that limit times this many transfers to one
   * host. A session that learns it per origin (HTTP/2 is negotiated per
   * connection) answers `AdapterSession.transfersPerConnection`, which wins.
   */
  readonly transfersPerConnection: number;
  /** Metadata (size, type, validators) is known before the body; the streamer forwards it as headers. */
  readonly metadataBeforeBody: boolean;
}

/**
 * A protocol adapter: the small object a third party writes to teach `@dl` a
 * protocol. Instances are passed to `createDownloaderFactory({ adapters })`;
 * nothing is ever looked up by name.
 *
 * The core wraps every adapter in a lifecycle guard: `createSession` runs
 * once per factory (again only after it failed, and never again after it
 * failed with `invalid-request`: check credential references and options
 * there and reject with that code), `open` is never called after
 * the session closed, and every open is cancelled through its signal. Retry,
 * resume, limits and validation are the core's job, not the adapter's.
 */
export interface ProtocolAdapter<S extends AdapterSession = AdapterSession> {
  /** Short name for errors and logs (`http`, `ftp`). */
  readonly name: string;
  /** URL schemes served, lowercase without the colon (`['http', 'https']`). */
  readonly schemes: readonly string[];
  /** What the adapter can do; see {@link AdapterCapabilities}. */
  readonly capabilities: AdapterCapabilities;
  /**
   * Creates the shared resources for one factory. The session must keep
   * to `context`: never more than `maxConnectionsPerHost` connections to
   * one origin, and, when `maxIdleMs` is set, no connection idle for longer
   * than that (a fleet-wide budget counts idle connections only that long).
   */
  createSession(context: SessionContext): S | Promise<S>;
  /**
   * Opens `request.url` at `request.offset` and resolves once metadata is
   * known. Rejects with a `DownloadError` (with the right `code` and
   * `retryable`) when it cannot. Must stop and free its connection when
   * `request.signal` aborts, whether before or after resolving.
   */
  open(session: S, request: OpenRequest): Promise<RemoteResource>;
  /**
   * The options this adapter was built with, as plain data: exactly the value
   * its builder takes back. `factory.toJSON()` stores it as
   * `{ name, options }`, and `rebuildDownloaderFactory(config, { adapters:
   * { [name]: builder } })` calls `builder(options)` with it, so
   * `builder(JSON.parse(JSON.stringify(adapter.toJSON())))` must make the
   * same adapter again (return `{ ...options }`, not a wrapper such as
   * `{ adapter, options }`). Credentials appear by reference
   * (`{ env: 'NAME' }`, `{ file: 'path' }`) or redacted, never inline.
   *
   * Optional for an adapter that is never handed over; `factory.toJSON()`
   * throws for an adapter without it.
   */
  toJSON?(): unknown;
}
