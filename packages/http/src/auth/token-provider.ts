import type { AuthChallenge } from './auth-challenge.js';

/** A token and how long it may be used. */
export interface AccessToken {
  readonly token: string;
  /** Lifetime from now; the session refreshes it shortly before. @default until a 401 says otherwise */
  readonly expiresInMs?: number;
}

/**
 * Which requests share one cached token. The session keeps one token per
 * `key` and refreshes each key at most once at a time (single-flight).
 */
export interface TokenScope {
  readonly key: string;
  /** The challenge the token answers, passed back to `getToken`. */
  readonly challenge?: AuthChallenge;
}

/** What a provider is told when the session needs to know a request's scope. */
export interface TokenScopeRequest {
  /** The URL being requested (without credentials). */
  readonly url: URL;
  /** The challenge of the 401 being answered, when there is one. */
  readonly challenge?: AuthChallenge;
  /** The last challenge this origin sent (any request), to ask for a token before the first 401. */
  readonly lastChallenge?: AuthChallenge;
}

/** A small GET through the session's own dispatcher (same TLS and proxy settings). */
export type TokenFetch = (
  url: URL,
  init: { readonly headers?: Readonly<Record<string, string>>; readonly signal: AbortSignal },
) => Promise<{
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}>;

/** What a provider is asked to fetch a token for. */
export interface TokenRequest {
  readonly url: URL;
  readonly scope: TokenScope;
  /** The token the server just rejected, when refreshing after a 401. */
  readonly rejected?: string;
  readonly signal: AbortSignal;
  readonly fetch: TokenFetch;
}

/**
 * Supplies bearer tokens. The session caches them, sends them only to the
 * origins the auth entry covers, and on a 401 asks for a new one once, however
 * many downloads saw the 401 at the same time.
 */
export interface TokenProvider {
  /**
   * Groups requests that share a token. Return `undefined` to send the
   * request without one (the first request to an OCI registry, which then
   * answers with a challenge).
   * @default one token per origin
   */
  scope?(request: TokenScopeRequest): TokenScope | undefined;
  /** Fetches a token. Rejections should be `DownloadError`s (`auth-failed` when the credentials were refused). */
  getToken(request: TokenRequest): Promise<string | AccessToken>;
  /** Plain-data form for the adapter's `toJSON()` (secrets by reference). */
  toJSON?(): unknown;
}
