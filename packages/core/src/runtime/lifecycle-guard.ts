import { setMaxListeners } from 'node:events';
import type { OpenRequest } from '../contracts/open-request.js';
import type { ProtocolAdapter } from '../contracts/protocol-adapter.js';
import type { RemoteResource } from '../contracts/remote-resource.js';
import type { AdapterSession, Session, SessionContext } from '../contracts/session.js';
import { abortError, DownloadError, toDownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { discardBody, guardedBody } from './guarded-body.js';
import { fanOutAborts, listenAbort, unlistenAbort } from '../util/abort-fanout.js';

/**
 * Wraps one adapter so a third party gets a correct lifecycle for free:
 * the session is created once (again only after a failed attempt), closed
 * once, calls after close are rejected, and every open and body read honours
 * its signal even if the adapter forgets to.
 *
 * A session whose creation fails with `invalid-request` (its configuration
 * is wrong: a credential reference to an unset environment variable or an
 * unreadable file, a bad option) is not tried again: every later open fails
 * at once with that same error, so a batch does not resolve the same missing
 * secret once per download. Other failures (a timeout, a refused
 * connection) let the next open try again.
 */
export class LifecycleGuard implements Session {
  readonly adapter: string;
  #session: Promise<AdapterSession> | undefined;
  /** A configuration error from `createSession`: final for this guard. */
  #broken: DownloadError | undefined;
  #settled: AdapterSession | undefined;
  #closing: Promise<void> | undefined;
  #inFlight = 0;
  #idle: (() => void) | undefined;
  readonly #destroyer = new AbortController();

  constructor(
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    readonly protocol: ProtocolAdapter<any>,
    private readonly context: Omit<SessionContext, 'signal'>,
  ) {
    this.adapter = protocol.name;
    // Lives as long as the factory: each open's listeners on it go into one set.
    fanOutAborts(this.#destroyer.signal);
    setMaxListeners(0, this.#destroyer.signal);
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** The adapter's session, created on first use. */
  session(): Promise<AdapterSession> {
    if (this.closed) return Promise.reject(closedError(this.adapter));
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    this.#session ??= Promise.resolve()
      .then(() => this.protocol.createSession({ ...this.context, signal: this.#destroyer.signal }))
      .then((session: AdapterSession) => (this.#settled = session))
      .catch((error: unknown) => {
        this.#session = undefined;
        const failure = toDownloadError(error);
        if (failure.code === ErrorCodes.InvalidRequest) this.#broken = failure;
        throw failure;
      });
    return this.#session;
  }

  /** How many connections the adapter can use to `origin`, when it limits that below the factory's limit. */
  maxTransfers(origin: string): number | undefined {
    return this.#settled?.maxTransfers?.(origin);
  }

  /** How many transfers one connection to `origin` carries: the session's answer, else the capability. */
  transfersPerConnection(origin: string): number {
    const perConnection =
      this.#settled?.transfersPerConnection?.(origin) ??
      this.protocol.capabilities.transfersPerConnection;
    return Math.max(1, Math.floor(perConnection) || 1);
  }

  /**
   * Opens through the adapter; the open counts as in flight until its body
   * is over (read to the end, failed, given back or destroyed) or its
   * attempt ends (see {@link OpenRequest.lifetime}), which gives back a body
   * still open. Without a lifetime, an abort of its signal ends it instead.
   */
  async open(request: OpenRequest): Promise<RemoteResource> {
    if (this.closed) throw closedError(this.adapter);
    const { signal, lifetime } = request;
    if (signal.aborted) throw abortError(signal.reason, request.url);
    const destroyed = this.#destroyer.signal;
    this.#inFlight++;
    let counted = true;
    const settle = () => {
      if (!counted) return;
      counted = false;
      if (lifetime === undefined) unlistenAbort(signal, settle);
      if (--this.#inFlight === 0) this.#idle?.();
    };
    if (lifetime === undefined) listenAbort(signal, settle);
    try {
      const session = this.#settled ?? (await this.session());
      const signals = [signal, destroyed];
      const resource = await raceAbort(this.protocol.open(session, request), signals);
      const body = guardedBody(resource.body, signals, settle);
      lifetime?.onEnd(() => {
        if (counted) discardBody(body);
      });
      return {
        ...resource,
        onSettled: resource.onSettled?.bind(resource),
        body,
      };
    } catch (error) {
      settle();
      throw toDownloadError(error, request.url);
    }
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#inFlight > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
      await this.#release((s) => s.close());
    })();
    return this.#closing;
  }

  destroy(): Promise<void> {
    this.#destroyer.abort(closedError(this.adapter));
    const wasClosing = this.#closing;
    this.#closing = this.#release((s) => (s.destroy ?? s.close).call(s)).then(() =>
      wasClosing?.catch(() => {}),
    );
    this.#idle?.();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #released = false;
  async #release(how: (s: AdapterSession) => Promise<void> | void): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    const pending = this.#session;
    if (pending === undefined) return;
    const session = await pending.catch(() => undefined);
    if (session) await how(session);
  }
}

function closedError(adapter: string): DownloadError {
  return new DownloadError(`The ${adapter} session is closed`, { code: ErrorCodes.Closed });
}

/** Rejects as soon as a signal aborts; a resource that arrives later is freed. */
function raceAbort(
  pending: Promise<RemoteResource>,
  signals: readonly AbortSignal[],
): Promise<RemoteResource> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = () => {
      done = true;
      for (const s of signals) unlistenAbort(s, onAbort);
    };
    const onAbort = function (this: AbortSignal) {
      if (done) return;
      finish();
      reject(abortError(this.reason));
    };
    for (const s of signals) {
      if (s.aborted) return onAbort.call(s);
      listenAbort(s, onAbort);
    }
    pending.then(
      (resource) => {
        if (done) return discardBody(resource.body);
        finish();
        resolve(resource);
      },
      (error: unknown) => {
        if (done) return;
        finish();
        reject(error);
      },
    );
  });
}
