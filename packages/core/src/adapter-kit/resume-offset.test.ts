import { describe, expect, it, vi } from 'vitest';
import type { Logger } from '../contracts/logger.js';
import type { OpenRequest } from '../contracts/open-request.js';
import type { RemoteMetadata } from '../contracts/remote-resource.js';
import { resumeOffset } from './resume-offset.js';

const log = (): Logger & { debug: ReturnType<typeof vi.fn> } =>
  ({ debug: vi.fn(), info() {}, warn() {}, error() {} }) as never;

const request = (offset: number, resumeFrom?: Partial<RemoteMetadata>) =>
  ({ url: new URL('ftp://u:pw@h/f'), offset, resumeFrom }) as unknown as OpenRequest;

describe('resumeOffset', () => {
  it('keeps the offset of an unchanged file, and 0 as 0', () => {
    const last = 'Mon, 01 Jan 2024 00:00:00 GMT';
    expect(
      resumeOffset(request(10, { size: 100, lastModified: last }), 100, last, log(), 'x'),
    ).toBe(10);
    expect(resumeOffset(request(10), undefined, undefined, log(), 'x')).toBe(10);
    expect(resumeOffset(request(0), 5, undefined, log(), 'x')).toBe(0);
  });

  it('restarts at 0 when the file shrank below the offset or changed, and says so', () => {
    const logger = log();
    expect(resumeOffset(request(10), 5, undefined, logger, 'ftp')).toBe(0);
    expect(resumeOffset(request(10, { size: 100 }), 101, undefined, logger, 'ftp')).toBe(0);
    expect(resumeOffset(request(10, { lastModified: 'a' }), 100, 'b', logger, 'ftp')).toBe(0);
    expect(logger.debug).toHaveBeenCalledTimes(3);
    expect(logger.debug).toHaveBeenCalledWith(
      'ftp: the file changed or shrank; restarting from byte 0',
      { url: 'ftp://h/f' },
    );
  });

  it('does not guess from what either side left unknown', () => {
    expect(resumeOffset(request(10, { size: 100 }), undefined, 'b', log(), 'x')).toBe(10);
    expect(resumeOffset(request(10, { lastModified: 'a' }), 100, undefined, log(), 'x')).toBe(10);
  });
});
