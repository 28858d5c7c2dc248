import { describe, expect, it } from 'vitest';
import { DownloadError, toDownloadError } from './download-error.js';
import { ValidationError } from './validation-error.js';

describe('DownloadError', () => {
  it('is recognised across copies of the package by its brand', () => {
    const foreign = Object.assign(new Error('x'), {
      [Symbol.for('dl.error')]: true,
      code: 'timeout',
    });
    expect(DownloadError.isInstance(foreign)).toBe(true);
    expect(DownloadError.isInstance(new Error('x'))).toBe(false);
    expect(DownloadError.isInstance(null)).toBe(false);
    const v = new ValidationError('bad', {
      check: 'size',
      expected: 1,
      actual: 2,
      code: 'size-mismatch',
    });
    expect(ValidationError.isInstance(v)).toBe(true);
    expect(DownloadError.isInstance(v)).toBe(true);
    expect(ValidationError.isInstance(new DownloadError('x', { code: 'timeout' }))).toBe(false);
  });

  it('never carries secrets in message, url, toJSON or stack, even from its cause', () => {
    const cause = Object.assign(
      new Error(
        'connect failed for https://alice:s3cr3t@repo.example/x (authorization: Bearer tok123)',
      ),
      {
        code: 'ECONNRESET',
      },
    );
    const error = new DownloadError('Failed https://alice:s3cr3t@repo.example/x?token=tok123&a=1', {
      code: 'connection-failed',
      retryable: true,
      url: 'https://alice:s3cr3t@repo.example/x?token=tok123',
      cause,
    });
    const everything = [
      error.message,
      error.url,
      JSON.stringify(error),
      error.stack,
      String((error.cause as Error).stack),
      (error.cause as Error).message,
    ].join('\n');
    expect(everything).not.toContain('s3cr3t');
    expect(everything).not.toContain('tok123');
    expect(everything).not.toContain('alice');
    expect(error.url).toBe('https://repo.example/x?token=REDACTED');
    expect(error.toJSON()).toMatchObject({
      code: 'connection-failed',
      retryable: true,
      cause: { code: 'ECONNRESET' },
    });
  });

  it('classifies Node network errors as retryable', () => {
    expect(toDownloadError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toMatchObject({
      code: 'connection-failed',
      retryable: true,
    });
    expect(toDownloadError(Object.assign(new Error('x'), { code: 'ETIMEDOUT' }))).toMatchObject({
      code: 'timeout',
      retryable: true,
    });
    expect(toDownloadError(new TypeError('boom'))).toMatchObject({
      code: 'internal',
      retryable: false,
    });
  });
});
