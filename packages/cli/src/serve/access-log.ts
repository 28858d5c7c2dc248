import type { IncomingMessage } from 'node:http';
import { redactText } from '@dl/core';

/** A request target with nothing to redact or escape: no query, userinfo, quote or control character. */
const PLAIN_TARGET = /^[\w\-./~%+,;!*]*$/;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** What one answered request looked like. */
export interface AccessRecord {
  readonly status: number | undefined;
  readonly bytes: number;
  /** `upstream`, `shared`, `cache`, or `catalog` for a path the catalog lacks. */
  readonly source: string;
  readonly durationMs: number;
  /** The error code when the request failed. */
  readonly code?: string;
}

/**
 * One access log line: the Common Log Format, then where the bytes came
 * from, the time taken, and the error code of a failure. Query strings are
 * redacted like every URL we print; control characters are escaped so a
 * request cannot forge log lines.
 */
export function accessLogLine(
  request: IncomingMessage,
  record: AccessRecord,
  now = new Date(),
): string {
  const d = now;
  const pad = (n: number) => String(n).padStart(2, '0');
  const date = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
  const url = request.url ?? '/';
  const target = PLAIN_TARGET.test(url)
    ? url
    : escape(redactText(`http://x${url}`).slice('http://x'.length));
  const line = `${escape(request.method ?? '-')} ${target} HTTP/${request.httpVersion}`;
  const status = record.status === undefined ? '-' : String(record.status);
  const failure = record.code === undefined ? '' : ` ${record.code}`;
  return `${request.socket.remoteAddress ?? '-'} - - [${date}] "${line}" ${status} ${record.bytes} ${record.source} ${Math.round(record.durationMs)}ms${failure}\n`;
}

function escape(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    out +=
      code < 0x20 || code === 0x7f || char === '"' || char === '\\'
        ? `\\x${code.toString(16).padStart(2, '0')}`
        : char;
  }
  return out;
}
