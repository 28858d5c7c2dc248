import type { ConformanceFixture } from './conformance-setup.js';
import type { MemoryStore } from './memory-store.js';

/** A {@link ConformanceFixture} over a {@link MemoryStore}, with the store at hand. */
export interface MemoryConformanceFixture extends ConformanceFixture {
  readonly store: MemoryStore;
}

/**
 * The conformance fixture of the memory adapter: files go to `host` of
 * `store`, cuts are `cutAfter` faults, and the peak is the store's count of
 * transfers open at once to that host.
 *
 * @param host - The host files are put under. @default 'conformance'
 * @param scheme - The scheme the adapter under test serves. @default 'mem'
 */
export function memoryConformanceFixture(
  store: MemoryStore,
  host = 'conformance',
  scheme = 'mem',
): MemoryConformanceFixture {
  const url = (path: string) => `${scheme}://${host}${path.startsWith('/') ? path : `/${path}`}`;
  return {
    store,
    url,
    async put(path, data) {
      store.put(url(path), data);
    },
    cutAfter(path, bytes) {
      store.fault(url(path), { cutAfter: bytes });
    },
    peakConnections: () => store.peak(host),
    resetPeak: () => store.resetPeak(host),
    activeTransfers: () => store.active(host),
    async stop() {
      store.clearFaults();
    },
  };
}
