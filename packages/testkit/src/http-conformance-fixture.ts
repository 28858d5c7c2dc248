import type { ConformanceFixture } from './conformance-setup.js';
import { startHttpFixture, type HttpFixture } from './http-fixture.js';
import type { HttpFixtureOptions } from './http-fixture-options.js';

/** A {@link ConformanceFixture} over an {@link HttpFixture}, with the server at hand. */
export interface HttpConformanceFixture extends ConformanceFixture {
  readonly http: HttpFixture;
}

/**
 * Starts an HTTP fixture and presents it to the conformance suite: cuts are
 * `resetAfter` faults, and the peak is the server's count of TCP connections
 * open at once.
 *
 * @example
 * ```ts
 * adapterConformance(it, { name: 'http', fixture: () => httpConformanceFixture(), adapter: () => http() });
 * ```
 */
export async function httpConformanceFixture(
  options: HttpFixtureOptions = {},
): Promise<HttpConformanceFixture> {
  const http = await startHttpFixture(options);
  return {
    http,
    url: (path) => http.url(path),
    async put(path, data) {
      http.put(path, data);
    },
    cutAfter(path, bytes) {
      http.fault(path, { resetAfter: bytes });
    },
    peakConnections: () => http.stats().peakConnections,
    resetPeak: () => http.resetPeak(),
    activeTransfers: () => http.stats().requests,
    stop: () => http.stop(),
  };
}
