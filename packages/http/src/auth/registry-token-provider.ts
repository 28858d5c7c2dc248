import {
  DownloadError,
  ErrorCodes,
  resolveSecret,
  serializeSecret,
  type SecretInput,
  type SecretRef,
} from '@dl/core';
import type { AuthChallenge } from './auth-challenge.js';
import type { TokenProvider, TokenScopeRequest } from './token-provider.js';

/** Credentials for an OCI / Docker registry's token service. */
export interface RegistryTokenOptions {
  /** User name. @default anonymous */
  readonly username?: string | SecretRef;
  /** Password or access token. @default anonymous */
  readonly password?: SecretInput;
}

/** Lifetime the distribution spec assumes when the token service names none. */
const DEFAULT_LIFETIME_S = 60;
const REPOSITORY_PATH = /^\/v2\/(.+?)\/(?:blobs|manifests|tags|referrers)\//;

/**
 * The OCI / Docker registry token flow as a {@link TokenProvider}: answers
 * `WWW-Authenticate: Bearer realm=…,service=…,scope=…` by asking the realm
 * for a token (Basic credentials when given), one token per scope. Once an
 * origin has sent a challenge, later requests to `/v2/<name>/…` get a
 * `repository:<name>:pull` token before they are sent, saving a 401 each.
 */
export function registryTokenProvider(options: RegistryTokenOptions = {}): TokenProvider {
  let basic: Promise<string | undefined> | undefined;
  const credentials = () =>
    (basic ??= (async () => {
      if (options.username === undefined && options.password === undefined) return undefined;
      const user =
        options.username === undefined
          ? ''
          : await resolveSecret(options.username, 'registry username');
      const pass =
        options.password === undefined
          ? ''
          : await resolveSecret(options.password, 'registry password');
      return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    })());

  return {
    scope(request) {
      const challenge = request.challenge ?? predictChallenge(request);
      if (!challenge || challenge.scheme !== 'bearer' || !challenge.params.realm) return undefined;
      const { realm, service = '', scope = '' } = challenge.params;
      return { key: `${realm}\n${service}\n${scope}`, challenge };
    },

    async getToken({ url, scope, signal, fetch }) {
      const params = scope.challenge?.params ?? {};
      const realm = parseRealm(params.realm, url);
      if (params.service) realm.searchParams.set('service', params.service);
      for (const s of (params.scope ?? '').split(' ').filter(Boolean))
        realm.searchParams.append('scope', s);
      const authorization = await credentials();
      const response = await fetch(realm, {
        signal,
        headers: { accept: 'application/json', ...(authorization ? { authorization } : {}) },
      });
      if (response.status < 200 || response.status >= 300) {
        const transient = response.status === 429 || response.status >= 500;
        throw new DownloadError(`The registry token service answered HTTP ${response.status}`, {
          code: transient ? ErrorCodes.RemoteUnavailable : ErrorCodes.AuthFailed,
          retryable: transient,
          url: realm,
          details: { status: response.status },
        });
      }
      let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
      try {
        body = JSON.parse(response.body) as typeof body;
      } catch {
        body = {};
      }
      const token = typeof body.token === 'string' ? body.token : body.access_token;
      if (typeof token !== 'string' || token === '') {
        throw new DownloadError('The registry token service sent no token', {
          code: ErrorCodes.AuthFailed,
          url: realm,
        });
      }
      const lifetime =
        typeof body.expires_in === 'number' && body.expires_in > 0
          ? body.expires_in
          : DEFAULT_LIFETIME_S;
      return { token, expiresInMs: lifetime * 1000 };
    },

    toJSON() {
      return {
        type: 'registry',
        ...(options.username === undefined ? {} : { username: options.username }),
        ...(options.password === undefined ? {} : { password: serializeSecret(options.password) }),
      };
    },
  };
}

function predictChallenge({ url, lastChallenge }: TokenScopeRequest): AuthChallenge | undefined {
  if (lastChallenge?.scheme !== 'bearer' || !lastChallenge.params.realm) return undefined;
  const name = REPOSITORY_PATH.exec(url.pathname)?.[1];
  if (name === undefined) return undefined;
  const { realm, service } = lastChallenge.params;
  return {
    scheme: 'bearer',
    params: {
      realm,
      ...(service === undefined ? {} : { service }),
      scope: `repository:${name}:pull`,
    },
  };
}

function parseRealm(realm: string | undefined, url: URL): URL {
  let parsed: URL | undefined;
  try {
    parsed = realm === undefined ? undefined : new URL(realm, url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
    throw new DownloadError('The registry challenge names no usable token realm', {
      code: ErrorCodes.AuthFailed,
      url,
    });
  }
  // Credentials must not leave TLS because a challenge said so.
  if (url.protocol === 'https:' && parsed.protocol === 'http:') {
    throw new DownloadError('The registry token realm would downgrade https to http', {
      code: ErrorCodes.AuthFailed,
      url,
    });
  }
  return parsed;
}
