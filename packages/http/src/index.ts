export { http } from './http-adapter.js';
export type { HttpAdapterOptions, HttpTimeouts } from './http-adapter-options.js';
export type { HttpSession } from './http-session.js';
export type { HttpRedirectOptions } from './redirects.js';
export type { HttpTlsOptions, PemInput } from './tls-options.js';
export type { HttpProxyOptions } from './proxy-options.js';
export type { SecretInput, SecretRef } from '@dl/core';
export type {
  HttpAuth,
  AuthOrigins,
  BasicAuth,
  BearerAuth,
  TokenAuth,
  RegistryAuth,
} from './auth/http-auth.js';
export type {
  AccessToken,
  TokenFetch,
  TokenProvider,
  TokenRequest,
  TokenScope,
  TokenScopeRequest,
} from './auth/token-provider.js';
export { parseAuthChallenges, type AuthChallenge } from './auth/auth-challenge.js';
export {
  registryTokenProvider,
  type RegistryTokenOptions,
} from './auth/registry-token-provider.js';
export { parseRetryAfter } from './retry-after.js';
export { parseDigestHeaders } from './digest-header.js';
