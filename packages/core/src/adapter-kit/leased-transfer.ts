import type { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import type { OpenRequest } from '../contracts/open-request.js';
import type { RemoteMetadata, RemoteResource } from '../contracts/remote-resource.js';
import { abortError, type DownloadError } from '../errors/download-error.js';
import type { ConnectionPool, Lease } from '../pool/connection-pool.js';

/** Where a URL is served from, as a {@link ConnectionPool} counts and shares connections. */
export interface LeaseTarget {
  /** The pool's host: the per-host limit counts connections per this value. */
  readonly poolHost: string;
  /** Connections are reusable between targets with the same key (same user, TLS mode). */
  readonly poolKey: string;
}

/**
 * What {@link openLeased} needs from an adapter whose connections carry one
 * transfer at a time. Usually the adapter's session itself: it is made once
 * per factory, so nothing here is allocated per download.
 */
export interface LeasedTransferDriver<C, T extends LeaseTarget> {
  /** The session's pool; `openLeased` leases from it with the target as the pool's spec. */
  readonly pool: ConnectionPool<C, T>;
  /** Reads the URL (host, credentials, path); throws a `DownloadError` for one it cannot serve. */
  target(url: URL): T;
  /** Maps a failure of the protocol client to a `DownloadError` (redacting the target's secrets). */
  toError(error: unknown, target: T, url: URL): DownloadError;
  /**
   * The connection's emitter whose `'close'` means the connection was lost
   * while the transfer runs (ssh2's). Optional: without it, a lost
   * connection surfaces through the protocol's own callbacks.
   */
  closeEvents?(connection: C): EventEmitter | undefined;
  /**
   * Starts the protocol's part of one download on a leased connection. It
   * ends by calling `transfer.open` (then ending or failing the body), or
   * `transfer.fail`; a synchronous throw counts as `fail(error, false)`.
   */
  run(transfer: LeasedTransfer<C, T>): void;
}

function noop(): void {}

/**
 * One download on one leased connection: the bookkeeping every pooled
 * adapter repeats, so that its `run` holds only protocol steps. It
 * guarantees that the lease is given back exactly once (released when the
 * transfer ended cleanly and the caller said so, discarded, which destroys
 * the connection, otherwise), that an abort of the request's signal or a
 * reader that stops early ends the transfer and drops the connection at
 * once (nothing of a cancelled transfer keeps running on a connection
 * another download could get), and that `open` settles exactly once.
 */
export class LeasedTransfer<C, T extends LeaseTarget> {
  /** The leased connection, this transfer's alone until it settles. */
  readonly connection: C;
  readonly target: T;
  readonly request: OpenRequest;
  readonly #lease: Lease<C>;
  readonly #driver: LeasedTransferDriver<C, T>;
  readonly #resolve: (resource: RemoteResource) => void;
  readonly #reject: (error: unknown) => void;
  #settled = false;
  #opened = false;
  #body: Readable | undefined;
  #closeEvents: EventEmitter | undefined;
  readonly #onLost = () => this.fail(new Error('Connection lost'), false);
  readonly #onBodyClose = () => this.settle(false);

  /** @internal Made by {@link openLeased}. */
  constructor(
    driver: LeasedTransferDriver<C, T>,
    lease: Lease<C>,
    target: T,
    request: OpenRequest,
    resolve: (resource: RemoteResource) => void,
    reject: (error: unknown) => void,
  ) {
    this.#driver = driver;
    this.#lease = lease;
    this.connection = lease.connection;
    this.target = target;
    this.request = request;
    this.#resolve = resolve;
    this.#reject = reject;
    // The object itself is the abort listener: no closure per transfer.
    request.signal.addEventListener('abort', this, { once: true });
    this.#closeEvents = driver.closeEvents?.(lease.connection);
    this.#closeEvents?.on('close', this.#onLost);
  }

  /** True once the lease was given back (released or discarded). */
  get settled(): boolean {
    return this.#settled;
  }

  /** True once `open` resolved with the metadata and body. */
  get opened(): boolean {
    return this.#opened;
  }

  /** @internal The request's signal aborted. */
  handleEvent(): void {
    this.fail(undefined, false);
  }

  /**
   * Gives the lease back: `keep` returns the connection to the pool (which
   * closes it anyway if it is broken), otherwise it is destroyed. Only the
   * first call counts.
   */
  settle(keep: boolean): void {
    if (this.#settled) return;
    this.#settled = true;
    this.request.signal.removeEventListener('abort', this);
    this.#closeEvents?.removeListener('close', this.#onLost);
    if (keep) this.#lease.release();
    else this.#lease.discard();
  }

  /** The `DownloadError` for a failure: the abort error once the signal aborted, else the driver's mapping. */
  error(error: unknown): DownloadError {
    const { signal, url } = this.request;
    return signal.aborted
      ? abortError(signal.reason, url)
      : this.#driver.toError(error, this.target, url);
  }

  /**
   * The body the core reads: a Readable whose `read` asks the protocol for
   * more. A reader that stops early (destroys it) ends the transfer and
   * drops the connection; errors reach the reader through its iterator, and
   * a body nobody reads cannot crash the process with an unheard `'error'`.
   */
  body(highWaterMark: number, read: () => void): Readable {
    const out = new Readable({ highWaterMark, read });
    out.on('error', noop);
    out.on('close', this.#onBodyClose);
    this.#body = out;
    return out;
  }

  /** Resolves `open` with the metadata and body (the one made by {@link body} unless given). */
  open(metadata: RemoteMetadata, body: AsyncIterable<Uint8Array> | undefined = this.#body): void {
    if (this.#opened) return;
    this.#opened = true;
    this.#resolve({ metadata, body: body! });
  }

  /**
   * Ends the transfer with a failure, mapped by {@link error}: settles
   * (`keep`: the connection is still usable, e.g. after a refusal reply),
   * then fails the body if `open` resolved, else rejects `open`.
   */
  fail(error: unknown, keep: boolean): void {
    const failure = this.error(error);
    this.settle(keep);
    if (this.#opened) {
      this.#body?.destroy(failure);
    } else {
      this.#body?.destroy();
      this.#reject(failure);
    }
  }
}

/**
 * Opens one download on a pooled connection: leases a connection for the
 * URL's target (waiting for a free one within the per-host limit, and
 * honouring the signal while waiting), then hands a {@link LeasedTransfer}
 * to the driver's `run`. The whole of an adapter's `open` for protocols
 * whose connections carry one transfer at a time (FTP, SFTP, SMB, …).
 */
export async function openLeased<C, T extends LeaseTarget>(
  driver: LeasedTransferDriver<C, T>,
  request: OpenRequest,
): Promise<RemoteResource> {
  const { signal, url } = request;
  if (signal.aborted) throw abortError(signal.reason, url);
  const target = driver.target(url);
  const lease = await driver.pool.acquire(target.poolHost, target.poolKey, target, signal);
  return new Promise<RemoteResource>((resolve, reject) => {
    const transfer = new LeasedTransfer(driver, lease, target, request, resolve, reject);
    if (signal.aborted) {
      transfer.fail(undefined, false);
      return;
    }
    try {
      driver.run(transfer);
    } catch (error) {
      transfer.fail(error, false);
    }
  });
}
