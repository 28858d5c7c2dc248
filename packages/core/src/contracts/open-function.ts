import type { Logger } from './logger.js';
import type { OpenRequest } from './open-request.js';
import type { RemoteResource } from './remote-resource.js';

/** Opens one attempt. The adapter's `open`, bound to its session, is the innermost one. */
export type OpenFunction = (request: OpenRequest) => Promise<RemoteResource>;

/**
 * A behaviour composed around `open` (mirror failover, auth refresh, rate
 * limits): it receives the next function and returns a new one, like an
 * undici interceptor. Listed outermost first.
 *
 * An interceptor may also serve URLs no adapter serves, by naming their
 * schemes (a mirror set's `mirror://fedora/…`): requests with those schemes
 * are accepted, and the interceptor must rewrite them to real URLs before
 * they reach an adapter. Such URLs count against the total limit only; the
 * interceptor keeps its own per-source limits.
 */
export interface OpenInterceptor {
  (next: OpenFunction, context: InterceptorContext): OpenFunction;
  /** Schemes this interceptor serves itself (lowercase, no colon). @default [] */
  readonly schemes?: readonly string[];
  /** Whether a transfer of one of those schemes can resume from an offset. @default false */
  readonly resume?: boolean;
  /**
   * The interceptor's configuration as plain data, `{ type, options }`, so
   * another process can rebuild it with the builder registered for `type`.
   */
  toJSON?(): { readonly type: string; readonly options: unknown };
}

/** What an interceptor is given besides `next`. */
export interface InterceptorContext {
  /** The factory's logger (never log secrets). */
  readonly log: Logger;
}

/** Composes interceptors around an open function, the first listed outermost. */
export function composeOpen(
  base: OpenFunction,
  interceptors: readonly OpenInterceptor[],
  context: InterceptorContext = { log: silentLogger },
): OpenFunction {
  return interceptors.reduceRight<OpenFunction>(
    (next, interceptor) => interceptor(next, context),
    base,
  );
}

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
