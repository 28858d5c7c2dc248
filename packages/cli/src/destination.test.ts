import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { destinationsUnder, resolveDestination } from './destination.js';

const out = resolve('/srv/out');
const url = new URL('https://h/repo/p%20q/x.rpm');

describe('resolveDestination', () => {
  it('joins a relative path, or the decoded URL path, with the output folder', () => {
    expect(resolveDestination(out, 'a/b.bin', url)).toEqual({
      ok: true,
      path: join(out, 'a/b.bin'),
    });
    expect(resolveDestination(out, undefined, url)).toEqual({
      ok: true,
      path: join(out, 'repo/p q/x.rpm'),
    });
    expect(resolveDestination(out, './a/./b', url)).toEqual({ ok: true, path: join(out, 'a/b') });
  });

  it.each([
    ['../x', /contains "\.\."/],
    ['a/../../x', /contains "\.\."/],
    ['a\\..\\..\\x', /contains "\.\."/],
    ['/etc/passwd', /is absolute/],
    ['C:\\x', /is absolute/],
    ['a\0b', /NUL byte/],
    ['.', /names no file/],
    ['', /names no file/],
  ])('refuses %j', (path, reason) => {
    const result = resolveDestination(out, path, url);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(reason);
  });

  it('refuses URL paths that name no file or decode to traversal', () => {
    expect(resolveDestination(out, undefined, new URL('https://h/')).ok).toBe(false);
    expect(resolveDestination(out, undefined, new URL('https://h/dir/')).ok).toBe(false);
    const sneaky = resolveDestination(out, undefined, new URL('sftp://h/a/%2E%2e%2fx'));
    expect(sneaky.ok).toBe(false);
    expect(resolveDestination(out, undefined, new URL('https://h/a%00b')).ok).toBe(false);
  });
});

describe('destinationsUnder', () => {
  it('gives what resolveDestination gives, plain paths and others alike', () => {
    const under = destinationsUnder(out);
    for (const path of [
      'a',
      'a/b/c.rpm',
      '...',
      'a/.hidden/..x',
      'a..b/c',
      'a//b',
      'a/',
      './a',
      'a/./b',
      'a\\b',
      'C:x',
      '../x',
      '/x',
      'a/b/..',
      '',
      undefined,
    ]) {
      const full = under(path, url);
      const expected = resolveDestination(out, path, url);
      expect(typeof full === 'string' ? { ok: true, path: full } : full).toEqual(expected);
      if (expected.ok) expect(expected.path).toBe(join(out, path ?? 'repo/p q/x.rpm'));
    }
    for (const pathname of ['/a/b', '/a%2Fb', '//a//b', '/a/b/', '/', '/%E2%82%AC']) {
      const at = new URL(`https://h${pathname}`);
      const full = under(undefined, at);
      const expected = resolveDestination(out, undefined, at);
      expect(typeof full === 'string' ? { ok: true, path: full } : full).toEqual(expected);
    }
  });
});
