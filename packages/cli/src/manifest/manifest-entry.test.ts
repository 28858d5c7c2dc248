import { describe, expect, it } from 'vitest';
import { parseManifestLine } from './manifest-entry.js';

const supports = (url: URL) => ['http:', 'https:', 'file:'].includes(url.protocol);
const hex = 'AB'.repeat(32);

describe('parseManifestLine', () => {
  it('reads JSON lines and bare URLs; digests are lowercased; unknown keys are ignored', () => {
    const parsed = parseManifestLine(
      JSON.stringify({
        url: 'https://h/x',
        path: 'a/x',
        size: 3,
        digests: { sha256: hex },
        note: 1,
      }),
      supports,
    );
    expect(parsed).toMatchObject({
      kind: 'entry',
      entry: { path: 'a/x', size: 3, digests: { sha256: hex.toLowerCase() } },
    });
    expect(parseManifestLine('  https://h/y  ', supports)).toMatchObject({ kind: 'entry' });
    expect(parseManifestLine('   ', supports)).toEqual({ kind: 'blank' });
    expect(parseManifestLine('# comment', supports)).toEqual({ kind: 'blank' });
  });

  it.each([
    ['{"url": ', /invalid JSON/],
    ['[1]', /must be an object/],
    ['{"path": "x"}', /no "url"/],
    ['{"url": 5}', /non-empty string/],
    ['{"url": "relative/x"}', /not an absolute URL/],
    ['{"url": "gopher://h/x"}', /unknown scheme "gopher:"/],
    ['{"url": "https://h/x", "size": -1}', /"size" must be/],
    ['{"url": "https://h/x", "size": 1.5}', /"size" must be/],
    ['{"url": "https://h/x", "digests": {"sha256": "zz"}}', /64 hex/],
    ['{"url": "https://h/x", "digests": {"crc32": "00"}}', /unknown digest algorithm "crc32"/],
    ['{"url": "https://h/x", "digests": "abc"}', /must be an object/],
    ['{"url": "https://h/x", "path": 3}', /"path" must be a string/],
    ['two words', /not JSON and not a single URL/],
  ])('rejects %s', (line, reason) => {
    const parsed = parseManifestLine(line, supports);
    expect(parsed.kind).toBe('bad');
    expect(parsed.kind === 'bad' && parsed.reason).toMatch(reason);
  });

  it('never puts credentials into a reason', () => {
    const parsed = parseManifestLine('{"url": "gopher://user:hunter22@h/x"}', supports);
    expect(JSON.stringify(parsed)).not.toContain('hunter22');
  });
});
