import { DownloadError, ErrorCodes, type Logger, resolveSecret } from '@dl/core';
import { raceSignal } from '../race-signal.js';
import { parseAuthChallenges, type AuthChallenge } from './auth-challenge.js';
import type { HttpAuth } from './http-auth.js';
import { registryTokenProvider } from './registry-token-provider.js';
import type { TokenFetch, TokenProvider, TokenScope } from './token-provider.js';

/** The credential one request carries, so a 401 can say which one failed. */
export interface SentCredential {
  readonly header: string;
  readonly entry: number;
  readonly scope?: TokenScope;
  readonly token?: string;
}

type Entry =
  | { readonly origins?: ReadonlySet<string>; readonly header: string }
  | { readonly origins?: ReadonlySet<string>; readonly provider: TokenProvider };

interface CachedToken {
  readonly token: string;
  readonly expiresAt: number;
}

/**
 * The session's credentials: which auth entry covers a URL, the token cache
 * (one token per provider scope) and single-flight refreshes, so that a
 * hundred downloads that see the same 401 cause one token request.
 */
export class AuthManager {
  readonly #entries: readonly Entry[];
  readonly #fetch: TokenFetch;
  readonly #signal: AbortSignal;
  readonly #log: Logger;
  readonly #tokens = new Map<string, CachedToken>();
  readonly #inflight = new Map<string, Promise<string>>();
  readonly #lastChallenge = new Map<string, AuthChallenge>();
  readonly #static = new Set<string>();

  private constructor(
    entries: readonly Entry[],
    fetch: TokenFetch,
    signal: AbortSignal,
    log: Logger,
  ) {
    this.#entries = entries;
    this.#fetch = fetch;
    this.#signal = signal;
    this.#log = log;
  }

  /** Resolves every secret reference of the auth options. */
  static async create(
    auth: HttpAuth | readonly HttpAuth[] | undefined,
    fetch: TokenFetch,
    signal: AbortSignal,
    log: Logger,
  ): Promise<AuthManager> {
    const list: readonly HttpAuth[] =
      auth === undefined ? [] : Array.isArray(auth) ? auth : [auth as HttpAuth];
    const secrets: string[] = [];
    const entries = await Promise.all(
      list.map(async (item, index): Promise<Entry> => {
        const origins =
          item.origins === undefined
            ? undefined
            : new Set(item.origins.map((o) => normalizeOrigin(o, index)));
        const scoped = origins === undefined ? {} : { origins };
        switch (item.type) {
          case 'basic': {
            const user = await resolveSecret(item.username, `auth[${index}].username`);
            const pass = await resolveSecret(item.password, `auth[${index}].password`);
            const token = Buffer.from(`${user}:${pass}`).toString('base64');
            secrets.push(pass, token);
            return { ...scoped, header: `Basic ${token}` };
          }
          case 'bearer': {
            const token = await resolveSecret(item.token, `auth[${index}].token`);
            secrets.push(token);
            return { ...scoped, header: `Bearer ${token}` };
          }
          case 'token':
            return { ...scoped, provider: item.provider };
          case 'registry':
            return {
              ...scoped,
              provider: registryTokenProvider({
                ...(item.username === undefined ? {} : { username: item.username }),
                ...(item.password === undefined ? {} : { password: item.password }),
              }),
            };
          default:
            throw new DownloadError(`auth[${index}] has an unknown type`, {
              code: ErrorCodes.InvalidRequest,
            });
        }
      }),
    );
    const manager = new AuthManager(entries, fetch, signal, log);
    for (const s of secrets) manager.#static.add(s);
    return manager;
  }

  /** Secrets to scrub from any text: resolved passwords, static tokens and the tokens cached now. */
  secrets(): string[] {
    return [...this.#static, ...[...this.#tokens.values()].map((t) => t.token)];
  }

  /** Remembers a registry-style challenge so later requests can fetch a token first. */
  noteChallenge(url: URL, header: string | string[] | undefined): AuthChallenge | undefined {
    const challenge =
      parseAuthChallenges(header).find((c) => c.scheme === 'bearer') ??
      parseAuthChallenges(header)[0];
    if (challenge) this.#lastChallenge.set(url.origin, challenge);
    return challenge;
  }

  /** The `Authorization` to send to `url`, fetching a token first when the provider wants one. */
  /** Whether any credential or token provider is configured at all. */
  get configured(): boolean {
    return this.#entries.length > 0;
  }

  async authorize(
    url: URL,
    initialOrigin: string,
    signal: AbortSignal,
  ): Promise<SentCredential | undefined> {
    const index = this.#entryIndex(url, initialOrigin);
    const entry = index === undefined ? undefined : this.#entries[index];
    if (index === undefined || entry === undefined) return undefined;
    if ('header' in entry) return { header: entry.header, entry: index };
    const lastChallenge = this.#lastChallenge.get(url.origin);
    const scope = scopeOf(entry.provider, url, undefined, lastChallenge);
    if (!scope) return undefined;
    const token = await raceSignal(this.#token(entry.provider, url, scope, undefined), signal);
    return { header: `Bearer ${token}`, entry: index, scope, token };
  }

  /**
   * After a 401: gets a new token when a provider covers the URL. Resolves
   * true when the request should be sent again with a fresh `authorize`.
   */
  async refresh(
    url: URL,
    initialOrigin: string,
    challenge: AuthChallenge | undefined,
    sent: SentCredential | undefined,
    signal: AbortSignal,
  ): Promise<boolean> {
    const index = this.#entryIndex(url, initialOrigin);
    const entry = index === undefined ? undefined : this.#entries[index];
    if (index === undefined || entry === undefined || 'header' in entry) return false;
    const scope = scopeOf(entry.provider, url, challenge, this.#lastChallenge.get(url.origin));
    if (!scope) return false;
    const cached = this.#tokens.get(scope.key);
    const rejected = sent?.scope?.key === scope.key ? sent.token : undefined;
    if (cached && cached.token !== rejected && cached.expiresAt > Date.now()) return true;
    if (rejected !== undefined && this.#tokens.get(scope.key)?.token === rejected)
      this.#tokens.delete(scope.key);
    await raceSignal(this.#token(entry.provider, url, scope, rejected), signal);
    return true;
  }

  #entryIndex(url: URL, initialOrigin: string): number | undefined {
    const index = this.#entries.findIndex((entry) =>
      entry.origins === undefined ? url.origin === initialOrigin : entry.origins.has(url.origin),
    );
    return index < 0 ? undefined : index;
  }

  /** The cached token of a scope, or one fetch shared by every caller that needs it now. */
  #token(
    provider: TokenProvider,
    url: URL,
    scope: TokenScope,
    rejected: string | undefined,
  ): Promise<string> {
    const cached = this.#tokens.get(scope.key);
    if (cached && cached.token !== rejected && cached.expiresAt > Date.now())
      return Promise.resolve(cached.token);
    const pending = this.#inflight.get(scope.key);
    if (pending) return pending;
    this.#log.debug('http: fetching a token', {
      origin: url.origin,
      refresh: rejected !== undefined,
    });
    const fetching = (async () => {
      try {
        const grant = await provider.getToken({
          url,
          scope,
          signal: this.#signal,
          fetch: this.#fetch,
          ...(rejected === undefined ? {} : { rejected }),
        });
        const token = typeof grant === 'string' ? grant : grant.token;
        const lifetime = typeof grant === 'string' ? undefined : grant.expiresInMs;
        const margin = lifetime === undefined ? 0 : Math.min(10_000, lifetime / 4);
        this.#tokens.set(scope.key, {
          token,
          expiresAt:
            lifetime === undefined ? Number.POSITIVE_INFINITY : Date.now() + lifetime - margin,
        });
        return token;
      } catch (error) {
        if (DownloadError.isInstance(error)) throw error;
        throw new DownloadError('The token provider failed', {
          code: ErrorCodes.AuthFailed,
          cause: error,
          url,
        });
      } finally {
        this.#inflight.delete(scope.key);
      }
    })();
    this.#inflight.set(scope.key, fetching);
    return fetching;
  }
}

function scopeOf(
  provider: TokenProvider,
  url: URL,
  challenge: AuthChallenge | undefined,
  lastChallenge: AuthChallenge | undefined,
): TokenScope | undefined {
  if (!provider.scope) return { key: url.origin, ...(challenge ? { challenge } : {}) };
  return provider.scope({
    url,
    ...(challenge ? { challenge } : {}),
    ...(lastChallenge ? { lastChallenge } : {}),
  });
}

function normalizeOrigin(origin: string, index: number): string {
  try {
    return new URL(origin).origin;
  } catch {
    throw new DownloadError(`auth[${index}].origins has an invalid origin`, {
      code: ErrorCodes.InvalidRequest,
    });
  }
}
