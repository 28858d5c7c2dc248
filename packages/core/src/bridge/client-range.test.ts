import { describe, expect, it } from 'vitest';
import { clientRange } from './client-range.js';

describe('clientRange', () => {
  it('reads one byte range, clamped to a known size', () => {
    expect(clientRange({ range: 'bytes=10-19' }, undefined)).toEqual({
      kind: 'partial',
      start: 10,
      end: 19,
    });
    expect(clientRange({ range: 'bytes=10-' }, undefined)).toEqual({
      kind: 'partial',
      start: 10,
      end: undefined,
    });
    expect(clientRange({ range: 'bytes=10-' }, 100)).toEqual({
      kind: 'partial',
      start: 10,
      end: 99,
    });
    expect(clientRange({ range: 'bytes=90-500' }, 100)).toEqual({
      kind: 'partial',
      start: 90,
      end: 99,
    });
    expect(clientRange({ range: 'bytes=-30' }, 100)).toEqual({
      kind: 'partial',
      start: 70,
      end: 99,
    });
    expect(clientRange({ range: 'bytes=-300' }, 100)).toEqual({
      kind: 'partial',
      start: 0,
      end: 99,
    });
  });

  it('says unsatisfiable only when the size is known', () => {
    expect(clientRange({ range: 'bytes=100-' }, 100)).toEqual({ kind: 'unsatisfiable' });
    expect(clientRange({ range: 'bytes=-0' }, 100)).toEqual({ kind: 'unsatisfiable' });
    expect(clientRange({ range: 'bytes=100-' }, undefined)).toMatchObject({ kind: 'partial' });
  });

  it('serves the whole file for what it cannot honour exactly', () => {
    for (const headers of [
      {},
      { range: 'bytes=0-1,5-6' },
      { range: 'bytes=9-1' },
      { range: 'lines=1-2' },
      { range: 'bytes=-5' },
      { range: 'bytes=0-5', 'if-range': '"e"' },
      { range: 'bytes=99999999999999999999-' },
    ]) {
      expect(clientRange(headers, headers.range === 'bytes=-5' ? undefined : 100)).toEqual({
        kind: 'full',
      });
    }
  });
});
