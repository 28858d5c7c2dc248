import type { SecretInput, SecretRef } from '@dl/core';
import type { TokenProvider } from './token-provider.js';

/**
 * Which origins an auth entry is sent to. Without `origins`, an entry is sent
 * to the origin of each request's own URL and dropped when a redirect leaves
 * it; with `origins`, only to those (including after redirects).
 */
export interface AuthOrigins {
  /** Origins (`https://host[:port]`) the credentials belong to. @default the origin of each request's URL */
  readonly origins?: readonly string[];
}

/** `Authorization: Basic`, sent with every request to the origin. */
export interface BasicAuth extends AuthOrigins {
  readonly type: 'basic';
  readonly username: string | SecretRef;
  readonly password: SecretInput;
}

/** A static `Authorization: Bearer` token. A 401 is final. */
export interface BearerAuth extends AuthOrigins {
  readonly type: 'bearer';
  readonly token: SecretInput;
}

/** Bearer tokens from a provider, cached in the session and refreshed once on a 401. */
export interface TokenAuth extends AuthOrigins {
  readonly type: 'token';
  readonly provider: TokenProvider;
}

/**
 * The OCI / Docker registry token flow: a 401 with
 * `WWW-Authenticate: Bearer realm=…,service=…,scope=…` is answered by
 * fetching a token from the realm (with these credentials, or anonymously),
 * cached per scope. Plain data: the same as
 * `{ type: 'token', provider: registryTokenProvider({ username, password }) }`.
 */
export interface RegistryAuth extends AuthOrigins {
  readonly type: 'registry';
  /** Registry user name. @default anonymous */
  readonly username?: string | SecretRef;
  /** Registry password or personal access token. @default anonymous */
  readonly password?: SecretInput;
}

/** One way of authenticating to an origin. */
export type HttpAuth = BasicAuth | BearerAuth | TokenAuth | RegistryAuth;
