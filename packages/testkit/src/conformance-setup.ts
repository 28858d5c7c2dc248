import type { DownloaderFactoryOptions, OpenInterceptor, ProtocolAdapter } from '@dl/core';

/**
 * The server side of one conformance run: where the files are, and what the
 * server saw. Made fresh for every test by {@link ConformanceSetup.fixture}.
 */
export interface ConformanceFixture {
  /** The URL the adapter under test downloads `path` from. */
  url(path: string): string;
  /** Makes `data` available at `path` (a path such as `/dir/file.bin`). */
  put(path: string, data: Uint8Array): Promise<void>;
  /**
   * Makes the next transfer of `path` break after about `bytes` body bytes,
   * the way a connection drops. Required when the adapter declares resume.
   */
  cutAfter?(path: string, bytes: number): Promise<void> | void;
  /** The most transfers (or connections) the server saw at once since `resetPeak`. */
  peakConnections(): number;
  /** Starts counting the peak again from what is open now. */
  resetPeak(): void;
  /** Transfers (or requests) the server is serving now; checked to drop to 0 after an abort. Optional. */
  activeTransfers?(): number;
  /**
   * Interceptors the fixture needs around `open` (for a fixture with no
   * server of its own, such as local files, to count transfers or cut them).
   */
  readonly interceptors?: readonly OpenInterceptor[];
  /** Frees everything the fixture holds. */
  stop(): Promise<void>;
}

/** What {@link adapterConformance} runs against. */
export interface ConformanceSetup<F extends ConformanceFixture = ConformanceFixture> {
  /** Prefix of every test name, e.g. `'http'`. */
  readonly name: string;
  /** Starts a fresh fixture (server) for one test. */
  fixture(): Promise<F>;
  /** The adapter under test, talking to `fixture`. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  adapter(fixture: F): ProtocolAdapter<any>;
  /**
   * The builder a receiving process passes to rebuild the adapter from plain
   * data, `rebuildDownloaderFactory(config, { adapters: { [name]: builder } })`:
   * usually the adapter's own factory function (`builder: http`). It gets the
   * adapter's `toJSON()` value back, after a trip through JSON, and `fixture`
   * for what never travels (a test store). The suite checks that
   * `JSON.stringify(factory)`, rebuilt with it, downloads with every option
   * intact, so credentials in {@link adapter} must be references
   * (`{ file: 'path' }`), not inline secrets, which are redacted.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  builder(options: any, fixture: F): ProtocolAdapter<any>;
  /** More factory options (e.g. `logger`); `adapters`, `limits` and `retry` are set by each test. */
  readonly factoryOptions?: Partial<DownloaderFactoryOptions>;
  /** Time limit of each test in milliseconds. @default 30000 */
  readonly timeoutMs?: number;
}

/**
 * The test runner's `it` (vitest, jest and node:test's `it` all fit): a name,
 * an async body, and an optional time limit.
 */
export type ConformanceIt = (name: string, fn: () => Promise<void>, timeout?: number) => unknown;
