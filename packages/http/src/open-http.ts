import {
  DownloadError,
  ErrorCodes,
  ValidationError,
  redactUrl,
  type OpenRequest,
  type RemoteMetadata,
  type RemoteResource,
} from '@dl/core';
import { AttemptControl } from './attempt-control.js';
import type { SentCredential } from './auth/auth-manager.js';
import { parseContentRange, rangeHeader } from './content-range.js';
import type { HttpExchange } from './http-exchange.js';
import type { HttpSession } from './http-session.js';
import { networkError } from './network-errors.js';
import { REDIRECT_STATUSES, followRedirect } from './redirects.js';
import { responseBody } from './response-body.js';
import { contentLength, responseMetadata } from './response-metadata.js';
import { statusError } from './status-errors.js';

/** Request headers that only this adapter decides. */
const RESERVED = new Set([
  'host',
  'range',
  'if-range',
  'accept-encoding',
  'connection',
  'proxy-authorization',
  'te',
  'upgrade',
]);
/** Request headers that belong to the request's origin only. */
const ORIGIN_BOUND = new Set(['authorization', 'cookie']);
const DECODABLE: Record<string, 'gzip' | 'deflate' | 'br'> = {
  gzip: 'gzip',
  'x-gzip': 'gzip',
  deflate: 'deflate',
  br: 'br',
};

/**
 * One attempt: follows redirects, answers a 401 once with a refreshed token,
 * asks for a range when resuming (restarting from zero when the range reply
 * does not fit), maps the final status, and hands back the metadata and the
 * body before reading any of it.
 */
export async function openHttp(
  session: HttpSession,
  request: OpenRequest,
): Promise<RemoteResource> {
  const control = new AttemptControl(
    request.signal,
    session.signal,
    session.timeouts.total,
    session.ownsDispatchers,
  );
  const requested = request.url;
  let url = requested;
  // Copied only when something must be taken out: most URLs carry neither.
  if (requested.username !== '' || requested.password !== '' || requested.hash !== '') {
    url = new URL(requested.href);
    url.username = '';
    url.password = '';
    url.hash = '';
  }
  const initialOrigin = url.origin;
  const userinfo = userinfoAuthorization(requested);
  const scrub = (error: DownloadError) => scrubbed(error, session, userinfo);
  try {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new DownloadError(`The http adapter does not serve ${url.protocol}`, {
        code: ErrorCodes.UnsupportedScheme,
        url,
      });
    }
    let visited: Set<string> | undefined;
    let crossOrigin = false;
    let refreshed = false;
    let ranged = !session.decode && (request.offset > 0 || request.end !== undefined);
    for (;;) {
      const headers = requestHeaders(session, request, crossOrigin, ranged);
      const conditional = !ranged && conditionalHeaders(headers, request);
      let sent: SentCredential | undefined;
      if (headers.authorization === undefined) {
        if (userinfo !== undefined && !crossOrigin) headers.authorization = userinfo.header;
        else if (session.auth.configured) {
          sent = await session.auth.authorize(url, initialOrigin, control.signal);
          if (sent) headers.authorization = sent.header;
        }
      }
      const response = await session.exchange(url, headers, control.signal);
      const status = response.statusCode;
      const location = header(response.headers.location);

      if (REDIRECT_STATUSES.has(status) && location !== undefined) {
        await discard(response);
        const from = url;
        visited ??= new Set([url.href]);
        url = followRedirect(url, location, visited, session.redirects);
        crossOrigin = url.origin !== initialOrigin;
        session.log.debug('http: redirect', { status, from: redactUrl(from), to: redactUrl(url) });
        continue;
      }
      if (status === 401) {
        const challenge = session.auth.noteChallenge(url, response.headers['www-authenticate']);
        await discard(response);
        if (
          !refreshed &&
          (await session.auth.refresh(url, initialOrigin, challenge, sent, control.signal))
        ) {
          refreshed = true;
          continue;
        }
        throw statusError(status, undefined, url);
      }
      if (status === 304 && conditional) {
        await discard(response);
        control.dispose();
        const metadata = responseMetadata(response.headers, {
          url,
          status,
          offset: 0,
          size: undefined,
          length: 0,
          decoded: false,
        });
        return { metadata: { ...metadata, notModified: true }, body: NOTHING };
      }
      if (status === 416 && ranged) {
        await discard(response);
        session.log.debug('http: range not satisfiable, restarting from byte 0', {
          url: redactUrl(url),
        });
        ranged = false;
        continue;
      }
      if (status < 200 || status >= 300) {
        await discard(response);
        throw statusError(status, header(response.headers['retry-after']), url);
      }

      let offset = 0;
      let size: number | undefined;
      let skip = 0;
      let take: number | undefined;
      const coding = session.decode ? encodingOf(response.headers) : undefined;
      const announced = contentLength(response.headers);
      if (status === 206) {
        const range = parseContentRange(header(response.headers['content-range']));
        const fits =
          ranged && range !== undefined && rangeFits(range, request, header(response.headers.etag));
        if (!fits) {
          response.abort(UNWANTED);
          if (!ranged) {
            throw new DownloadError('The server sent a partial response that was not asked for', {
              code: ErrorCodes.ProtocolError,
              retryable: true,
              url,
            });
          }
          session.log.debug('http: the range reply does not fit, restarting from byte 0', {
            url: redactUrl(url),
          });
          ranged = false;
          continue;
        }
        offset = range.first;
        size = range.complete;
      } else {
        size = coding ? undefined : announced;
        const partial = request.download.range;
        if (partial !== undefined && coding === undefined) {
          // A partial read the server answered whole: cut the range out here rather than fail.
          skip = partial.start;
          take = partial.end === undefined ? undefined : partial.end - partial.start + 1;
          if (announced !== undefined && skip > 0 && skip >= announced) {
            response.abort(UNWANTED);
            throw new DownloadError(
              `The range starts beyond the end of the resource (${announced} bytes)`,
              {
                code: ErrorCodes.RemoteRejected,
                url,
                details: { size: announced, start: skip },
              },
            );
          }
          offset = skip;
        }
      }

      const rest = announced === undefined ? undefined : announced - skip;
      const length = coding ? undefined : take === undefined ? rest : Math.min(take, rest ?? take);
      const metadata = responseMetadata(response.headers, {
        url,
        status,
        offset,
        size,
        length,
        decoded: coding !== undefined,
      });
      checkExpectedSize(metadata, request, url, response);
      return {
        metadata,
        body: responseBody(response, {
          length: announced,
          skip,
          take,
          decode: coding,
          url,
          callerSignal: request.signal,
          control,
          scrub,
        }),
      };
    }
  } catch (error) {
    control.dispose();
    throw scrub(networkError(session.alerts.explain(error), url, request.signal, control.cause));
  }
}

function requestHeaders(
  session: HttpSession,
  request: OpenRequest,
  crossOrigin: boolean,
  ranged: boolean,
): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': session.userAgent };
  // Names are checked while copying rather than deleted after: `delete` turns
  // the object into a slow dictionary for undici to walk.
  for (const name in session.headers) {
    if (allowed(name, crossOrigin)) headers[name] = session.headers[name]!;
  }
  for (const name in request.headers) {
    const lower = name.toLowerCase();
    if (allowed(lower, crossOrigin)) headers[lower] = request.headers[name]!;
  }
  headers['accept-encoding'] = session.decode ? 'gzip, deflate, br' : 'identity';
  if (ranged) {
    headers.range = rangeHeader(request.offset, request.end);
    const validator = request.offset > 0 ? ifRangeValidator(request.resumeFrom) : undefined;
    if (validator !== undefined) headers['if-range'] = validator;
  }
  return headers;
}

/**
 * `If-None-Match` (the stored ETag) and `If-Modified-Since` (the stored
 * Last-Modified) for an open that carries `ifChanged`; true when one was set,
 * so that a 304 means "unchanged". Servers that know ETags ignore the date.
 */
function conditionalHeaders(headers: Record<string, string>, request: OpenRequest): boolean {
  const since = request.ifChanged;
  if (since === undefined || request.offset > 0) return false;
  if (since.etag !== undefined) headers['if-none-match'] = since.etag;
  if (since.lastModified !== undefined) headers['if-modified-since'] = since.lastModified;
  return since.etag !== undefined || since.lastModified !== undefined;
}

/** The body of a 304: none. */
const NOTHING: AsyncIterable<Uint8Array> = {
  [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ done: true, value: undefined }) }),
};

function allowed(name: string, crossOrigin: boolean): boolean {
  return !RESERVED.has(name) && !(crossOrigin && ORIGIN_BOUND.has(name));
}

/** A strong ETag, else Last-Modified: what `If-Range` may carry (RFC 9110 §13.1.5). */
function ifRangeValidator(resumeFrom: RemoteMetadata | undefined): string | undefined {
  if (resumeFrom?.etag !== undefined && !resumeFrom.etag.startsWith('W/')) return resumeFrom.etag;
  return resumeFrom?.lastModified;
}

/** A 206 continues the earlier bytes only if it starts where asked, and the resource is the same one. */
function rangeFits(
  range: { first: number; last: number; complete?: number },
  request: OpenRequest,
  etag: string | undefined,
): boolean {
  if (range.first !== request.offset) return false;
  if (request.end !== undefined && range.last > request.end) return false;
  const before = request.resumeFrom;
  if (before?.size !== undefined && range.complete !== undefined && before.size !== range.complete)
    return false;
  if (before?.etag !== undefined && etag !== undefined && before.etag !== etag) return false;
  return true;
}

/** Fails before the body is read when the remote's size contradicts the expected one. */
function checkExpectedSize(
  metadata: RemoteMetadata,
  request: OpenRequest,
  url: URL,
  exchange: HttpExchange,
): void {
  const expected = request.download.size;
  if (expected === undefined || request.download.range !== undefined || metadata.size === undefined)
    return;
  if (metadata.size === expected) return;
  exchange.abort(UNWANTED);
  throw new ValidationError(
    `The server announces ${metadata.size} bytes, ${expected} were expected`,
    {
      code: ErrorCodes.SizeMismatch,
      check: 'size',
      expected,
      actual: metadata.size,
      url,
    },
  );
}

function encodingOf(headers: HttpExchange['headers']): 'gzip' | 'deflate' | 'br' | undefined {
  const coding = header(headers['content-encoding'])?.trim().toLowerCase();
  return coding === undefined ? undefined : DECODABLE[coding];
}

/** Reads (a little of) a body we do not want, so its connection can be reused, or closes it. */
function discard(exchange: HttpExchange): Promise<void> {
  return exchange.dump(64 * 1024);
}

/** Why a response's body was let go of unread. */
const UNWANTED = new Error('The response was not wanted');

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function userinfoAuthorization(url: URL): { header: string; secrets: string[] } | undefined {
  if (url.username === '' && url.password === '') return undefined;
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  const token = Buffer.from(`${user}:${pass}`).toString('base64');
  return { header: `Basic ${token}`, secrets: [pass, token] };
}

/** The error with every known secret removed from its message and cause. */
function scrubbed(
  error: DownloadError,
  session: HttpSession,
  userinfo: { secrets: string[] } | undefined,
): DownloadError {
  const clean = (text: string) => {
    let out = session.scrub(text);
    for (const s of userinfo?.secrets ?? []) if (s.length >= 3) out = out.split(s).join('REDACTED');
    return out;
  };
  if (clean(error.message) !== error.message) {
    Object.defineProperty(error, 'message', {
      value: clean(error.message),
      configurable: true,
      writable: true,
    });
  }
  if (error.stack !== undefined && clean(error.stack) !== error.stack)
    error.stack = clean(error.stack);
  const cause = error.cause as { message?: unknown; stack?: unknown } | undefined;
  if (cause && typeof cause === 'object') {
    if (typeof cause.message === 'string') cause.message = clean(cause.message);
    if (typeof cause.stack === 'string') cause.stack = clean(cause.stack);
  }
  return error;
}
