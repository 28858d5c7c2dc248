import type { Logger, OpenRequest, RemoteResource, SessionContext } from '@dl/core';

// Helpers for an adapter's own unit tests, which call `createSession` and
// `open` directly, as the factory would.

/** A logger that keeps every line (message and fields) as text, to check for secrets. */
export interface CapturingLogger extends Logger {
  readonly lines: string[];
}

/** A {@link CapturingLogger}: `lines` holds `level message fields` for every call. */
export function capturingLogger(): CapturingLogger {
  const lines: string[] = [];
  const write = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    lines.push(`${level} ${message} ${fields === undefined ? '' : JSON.stringify(fields)}`);
  };
  return {
    lines,
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
  };
}

/** A session context as the factory would pass it. */
export function sessionContext(overrides: Partial<SessionContext> = {}): SessionContext {
  return {
    maxConnectionsPerHost: 8,
    maxConnections: 16,
    userAgent: 'dl/0.0.0-test',
    signal: new AbortController().signal,
    log: capturingLogger(),
    ...overrides,
  };
}

/** An open request for `url` as the core would make for a first attempt. */
export function openRequest(url: string, overrides: Partial<OpenRequest> = {}): OpenRequest {
  return {
    url: new URL(url),
    offset: 0,
    headers: {},
    signal: new AbortController().signal,
    attempt: 1,
    maxAttempts: 1,
    download: { url },
    ...overrides,
  };
}

/** Reads a whole body. */
export async function readAll(body: RemoteResource['body']): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The rejection of a promise that must reject. */
export async function rejectionOf(
  promise: Promise<unknown>,
): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection, got a result');
}
