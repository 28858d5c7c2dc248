import type { OpenRequest } from './open-request.js';
import type { RemoteResource } from './remote-resource.js';

/** Opens one attempt. The adapter's `open`, bound to its session, is the innermost one. */
export type OpenFunction = (request: OpenRequest) => Promise<RemoteResource>;

/**
 * A behaviour composed around `open` (mirror failover, auth refresh, rate
 * limits): it receives the next function and returns a new one, like an
 * undici interceptor. Listed outermost first.
 */
export type OpenInterceptor = (next: OpenFunction) => OpenFunction;

/** Composes interceptors around an open function, the first listed outermost. */
export function composeOpen(
  base: OpenFunction,
  interceptors: readonly OpenInterceptor[],
): OpenFunction {
  return interceptors.reduceRight<OpenFunction>((next, interceptor) => interceptor(next), base);
}
