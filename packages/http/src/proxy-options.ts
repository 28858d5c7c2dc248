import {
  DownloadError,
  ErrorCodes,
  redactUrl,
  resolveSecret,
  serializeSecret,
  type SecretInput,
  type SecretRef,
} from '@dl/core';
import { parseNoProxy, type NoProxyMatcher } from './no-proxy.js';

/**
 * A forward proxy. https targets are tunnelled with `CONNECT`; http targets
 * are sent to the proxy in absolute form. Proxy credentials go to the proxy
 * only (as `Proxy-Authorization`), never to an origin.
 */
export interface HttpProxyOptions {
  /** Proxy for http targets, and for https targets unless `httpsUrl` is set. @default none */
  readonly url?: string;
  /** Proxy for https targets. @default `url` */
  readonly httpsUrl?: string;
  /** Proxy user name. Userinfo in a proxy URL is used when this is unset. @default none */
  readonly username?: string | SecretRef;
  /** Proxy password. @default none */
  readonly password?: SecretInput;
  /** Hosts reached directly: a `NO_PROXY`-style list (`example.com, .internal, 10.0.0.1:8080, *`). @default none */
  readonly noProxy?: string | readonly string[];
  /**
   * Take `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY` (or their lowercase
   * forms) from the environment for whatever is not set above. Never
   * implicit: the environment is ignored unless this is true.
   * @default false
   */
  readonly fromEnvironment?: boolean;
}

/** One proxy, ready to use. */
export interface ResolvedProxy {
  readonly url: URL;
  /** The `Proxy-Authorization` value, when there are credentials. */
  readonly authorization?: string;
}

/** The proxies to use, by target scheme, and the exclusions. */
export interface ResolvedProxies {
  readonly http?: ResolvedProxy;
  readonly https?: ResolvedProxy;
  readonly bypass: NoProxyMatcher;
  /** Secrets to scrub from text. */
  readonly secrets: readonly string[];
}

/** Resolves credentials and, when asked, the environment. */
export async function resolveProxies(
  options: HttpProxyOptions | undefined,
): Promise<ResolvedProxies | undefined> {
  if (!options) return undefined;
  const env = options.fromEnvironment ? process.env : {};
  const httpUrl = options.url ?? env.http_proxy ?? env.HTTP_PROXY;
  const httpsUrl = options.httpsUrl ?? options.url ?? env.https_proxy ?? env.HTTPS_PROXY ?? httpUrl;
  const noProxy = options.noProxy ?? env.no_proxy ?? env.NO_PROXY;
  if (!httpUrl && !httpsUrl) return undefined;
  const username =
    options.username === undefined
      ? undefined
      : await resolveSecret(options.username, 'proxy username');
  const password =
    options.password === undefined
      ? undefined
      : await resolveSecret(options.password, 'proxy password');
  const secrets: string[] = [];
  const build = (raw: string | undefined): ResolvedProxy | undefined => {
    if (!raw) return undefined;
    const url = parseProxyUrl(raw);
    const user = username ?? (url.username ? decodeURIComponent(url.username) : undefined);
    const pass = password ?? (url.password ? decodeURIComponent(url.password) : undefined);
    url.username = '';
    url.password = '';
    if (user === undefined && pass === undefined) return { url };
    if (pass) secrets.push(pass);
    const token = Buffer.from(`${user ?? ''}:${pass ?? ''}`).toString('base64');
    secrets.push(token);
    return { url, authorization: `Basic ${token}` };
  };
  const http = build(httpUrl);
  const https = build(httpsUrl);
  return {
    ...(http ? { http } : {}),
    ...(https ? { https } : {}),
    bypass: parseNoProxy(noProxy),
    secrets,
  };
}

/** The proxy options as plain data: URLs without userinfo, inline secrets redacted. */
export function serializeProxy(options: HttpProxyOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (options.url !== undefined) out.url = redactUrl(options.url);
  if (options.httpsUrl !== undefined) out.httpsUrl = redactUrl(options.httpsUrl);
  if (options.username !== undefined) out.username = options.username;
  if (options.password !== undefined) out.password = serializeSecret(options.password);
  if (options.noProxy !== undefined) out.noProxy = options.noProxy;
  if (options.fromEnvironment !== undefined) out.fromEnvironment = options.fromEnvironment;
  return out;
}

function parseProxyUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new DownloadError('The proxy URL is not a valid URL', {
      code: ErrorCodes.InvalidRequest,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DownloadError(`Proxy scheme ${url.protocol} is not supported (http: or https:)`, {
      code: ErrorCodes.InvalidRequest,
    });
  }
  return url;
}
