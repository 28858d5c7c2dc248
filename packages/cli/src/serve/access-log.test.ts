import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { accessLogLine } from './access-log.js';

const request = (url: string) =>
  ({
    url,
    method: 'GET',
    httpVersion: '1.1',
    socket: { remoteAddress: '127.0.0.1' },
  }) as unknown as IncomingMessage;
const record = { status: 200, bytes: 5, source: 'upstream', durationMs: 1.4 };
const when = new Date(Date.UTC(2026, 10, 24, 7, 5, 9));

describe('accessLogLine', () => {
  it('writes a plain path as it is', () => {
    expect(accessLogLine(request('/repo/a-1_b.rpm'), record, when)).toBe(
      '127.0.0.1 - - [24/Nov/2026:07:05:09 +0000] "GET /repo/a-1_b.rpm HTTP/1.1" 200 5 upstream 1ms\n',
    );
  });

  it('redacts secret query values and escapes quotes and control characters', () => {
    const line = accessLogLine(request('/a.bin?token=abc&x=1'), record, when);
    expect(line).toContain('"GET /a.bin?token=REDACTED&x=1 HTTP/1.1"');
    expect(accessLogLine(request('/a"b\x01c\\d'), record, when)).toContain(
      '"GET /a\\x22b\\x01c\\x5cd HTTP/1.1"',
    );
  });
});
