/** Options of {@link startHttpFixture}. */
export interface HttpFixtureOptions {
  /** Address to listen on (loopback only: tests must not reach other addresses). @default '127.0.0.1' */
  readonly host?: '127.0.0.1' | '::1' | 'localhost';
  /** How long an idle keep-alive connection stays open, in milliseconds. @default 5000 */
  readonly keepAliveTimeoutMs?: number;
  /** How many requests `requests()` remembers (the oldest are dropped first). @default 1000 */
  readonly requestLogSize?: number;
  /** Bytes written per body write (smaller makes stalls and resets more precise). @default 65536 */
  readonly chunkSize?: number;
}

/** How a file put into the HTTP fixture is served. */
export interface HttpFileOptions {
  /** Extra or replacing response headers (lowercase names), e.g. `content-type`, `content-encoding`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Send an `ETag` (strong, from the content's sha256), or this one, or none (`false`). @default true */
  readonly etag?: boolean | string;
  /** Send `Last-Modified`: the time of `put`, this date, or none (`false`). @default true */
  readonly lastModified?: boolean | Date;
}
