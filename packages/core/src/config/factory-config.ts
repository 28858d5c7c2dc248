import type { BudgetProvider } from '../contracts/admission-budget.js';
import type { Logger } from '../contracts/logger.js';
import type { OpenInterceptor } from '../contracts/open-function.js';
import type { ProtocolAdapter } from '../contracts/protocol-adapter.js';

/**
 * A factory's configuration as plain data (JSON), for handing it to another
 * process. Adapters and interceptors appear by name with their options;
 * credentials appear only by reference (`{ "env": "NAME" }`,
 * `{ "file": "path" }`) or redacted. Code is never named: the receiving
 * process passes the builders in.
 */
export interface FactoryConfig {
  /** Format version. */
  readonly dl: 1;
  readonly limits: {
    readonly total: number;
    readonly perHost: number;
    /** Bytes per second, all transfers together; absent when uncapped. */
    readonly rate?: number;
    /** Bytes per second per origin; absent when uncapped. */
    readonly ratePerHost?: number;
  };
  readonly retry: {
    readonly maxAttempts: number;
    readonly baseDelayMs: number;
    readonly maxDelayMs: number;
  };
  readonly userAgent?: string;
  /** Each adapter's `name` and `toJSON()` options, in registration order. */
  readonly adapters: readonly { readonly name: string; readonly options: unknown }[];
  /** Each interceptor's `toJSON()` (`{ type, options }`), outermost first. */
  readonly interceptors: readonly { readonly type: string; readonly options: unknown }[];
}

/**
 * What the receiving process passes to rebuild a factory: a builder per
 * adapter name and per interceptor type, e.g. `{ adapters: { http, ftp } }`.
 * Only builders passed here can be used; nothing is loaded by name.
 */
export interface FactoryBuilders {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly adapters: Readonly<Record<string, (options: any) => ProtocolAdapter<any>>>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly interceptors?: Readonly<Record<string, (options: any) => OpenInterceptor>>;
  /** Where the rebuilt factory logs. */
  readonly logger?: Logger;
  /**
   * The rebuilt factory's admission budget (see `DownloaderFactoryOptions.budget`),
   * e.g. a per-host budget shared by a fleet of workers. Code, never part of
   * the configuration: each process passes its own.
   * @default the in-process limiter over the configuration's limits
   */
  readonly budget?: BudgetProvider;
}
