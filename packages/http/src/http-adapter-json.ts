import { serializeSecret } from '@dl/core';
import type { HttpAuth } from './auth/http-auth.js';
import type { HttpAdapterOptions } from './http-adapter-options.js';
import { serializeProxy } from './proxy-options.js';
import { serializeTls } from './tls-options.js';

const SENSITIVE_HEADER = /authorization|cookie|token|secret|password|api-?key|auth/i;

/**
 * The options as plain data for `toJSON()`: secrets given by reference stay
 * references, inline ones become `{ redacted: true }` (rejected if read
 * back), and the injected dispatcher is left out.
 */
export function serializeOptions(options: HttpAdapterOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (options.headers !== undefined) {
    out.headers = Object.fromEntries(
      Object.entries(options.headers).map(([name, value]) => [
        name,
        typeof value === 'string' && SENSITIVE_HEADER.test(name) ? serializeSecret(value) : value,
      ]),
    );
  }
  if (options.userAgent !== undefined) out.userAgent = options.userAgent;
  if (options.auth !== undefined) {
    const list: readonly HttpAuth[] = Array.isArray(options.auth)
      ? options.auth
      : [options.auth as HttpAuth];
    const entries = list.map(serializeAuth);
    out.auth = Array.isArray(options.auth) ? entries : entries[0];
  }
  if (options.tls !== undefined) out.tls = serializeTls(options.tls);
  if (options.proxy !== undefined) out.proxy = serializeProxy(options.proxy);
  if (options.timeouts !== undefined) out.timeouts = { ...options.timeouts };
  if (options.redirects !== undefined) out.redirects = { ...options.redirects };
  if (options.decode !== undefined) out.decode = options.decode;
  if (options.allowH2 !== undefined) out.allowH2 = options.allowH2;
  if (options.maxConcurrentStreams !== undefined)
    out.maxConcurrentStreams = options.maxConcurrentStreams;
  if (options.keepAliveTimeout !== undefined) out.keepAliveTimeout = options.keepAliveTimeout;
  return out;
}

function serializeAuth(auth: HttpAuth): Record<string, unknown> {
  const origins = auth.origins === undefined ? {} : { origins: [...auth.origins] };
  switch (auth.type) {
    case 'basic':
      return {
        type: 'basic',
        username: auth.username,
        password: serializeSecret(auth.password),
        ...origins,
      };
    case 'bearer':
      return { type: 'bearer', token: serializeSecret(auth.token), ...origins };
    case 'registry':
      return {
        type: 'registry',
        ...(auth.username === undefined ? {} : { username: auth.username }),
        ...(auth.password === undefined ? {} : { password: serializeSecret(auth.password) }),
        ...origins,
      };
    case 'token': {
      const plain = auth.provider.toJSON?.();
      if (plain !== null && typeof plain === 'object' && 'type' in plain)
        return { ...plain, ...origins };
      return { type: 'token', provider: plain ?? 'custom (not serializable)', ...origins };
    }
  }
}
