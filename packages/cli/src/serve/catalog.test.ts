import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog, normalizePath } from './catalog.js';

const supports = (url: URL) => url.protocol === 'https:';

describe('Catalog', () => {
  let dir: string;
  let catalog: Catalog;
  const bad: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dl-catalog-'));
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      lines.push(
        JSON.stringify({ path: `repo/d${i % 50}/p${i}.rpm`, url: `https://h/p${i}.rpm`, size: i }),
      );
    }
    lines.push(JSON.stringify({ path: '/repo/d1/p1.rpm', url: 'https://h/duplicate.rpm' }));
    lines.push('', '# comment', '{"path": "x", "url": "ftp://h/x"}', '{"url": "https://h/nopath"}');
    lines.push(JSON.stringify({ path: 'a/../b', url: 'https://h/b' }));
    // Longer than the first read of a lookup (4 KiB), and much longer.
    lines.push(JSON.stringify({ path: 'long/a', url: `https://h/a?${'q'.repeat(5000)}` }));
    lines.push(JSON.stringify({ path: 'long/b', url: `https://h/b?${'r'.repeat(300_000)}` }));
    await writeFile(join(dir, 'catalog.jsonl'), `${lines.join('\r\n')}\r\n`);
    catalog = await Catalog.load(join(dir, 'catalog.jsonl'), {
      supports,
      onBadLine: (line, reason) => bad.push(`${line}: ${reason}`),
    });
  });
  afterAll(async () => {
    await catalog?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('indexes every good line and reports the bad ones with their numbers', () => {
    expect(catalog.size).toBe(20_003);
    expect(bad).toEqual([
      '20004: unknown scheme "ftp:" in ftp://h/x',
      '20005: a catalog line needs a "path"',
      '20006: path "a/../b" is not a file path (empty, "..", or a NUL byte)',
    ]);
  });

  it('finds entries by normalized path; the first of duplicates wins; misses are undefined', async () => {
    for (const i of [0, 1, 7, 12_345, 19_999]) {
      const entry = await catalog.lookup(`/repo/d${i % 50}/p${i}.rpm`);
      expect(entry).toMatchObject({ path: `repo/d${i % 50}/p${i}.rpm`, size: i });
      expect(entry!.url.href).toBe(`https://h/p${i}.rpm`);
    }
    expect((await catalog.lookup('repo//d1/./p1.rpm'))!.url.href).toBe('https://h/p1.rpm');
    expect(await catalog.lookup('/repo/d1/p20000.rpm')).toBeUndefined();
    expect(await catalog.lookup('/repo/../x')).toBeUndefined();
    expect(await catalog.lookup('/')).toBeUndefined();
  });

  it('reads lines longer than a first read, before and after shorter ones', async () => {
    for (const [path, char, length] of [
      ['long/a', 'q', 5000],
      ['repo/d7/p7.rpm', '', 0],
      ['long/b', 'r', 300_000],
      ['long/a', 'q', 5000],
      ['repo/d8/p8.rpm', '', 0],
    ] as const) {
      const entry = await catalog.lookup(path);
      expect(entry?.path).toBe(path);
      expect(entry!.url.search.length).toBe(length === 0 ? 0 : length + 1);
      if (length > 0) expect(entry!.url.search.endsWith(char)).toBe(true);
    }
  });

  it('normalizes paths', () => {
    expect(normalizePath('/a//./b/')).toBe('a/b');
    expect(normalizePath('/a/b.c')).toBe('a/b.c');
    expect(normalizePath('a/b')).toBe('a/b');
    expect(normalizePath('/.well-known/x')).toBe('.well-known/x');
    expect(normalizePath('/a/..b')).toBe('a/..b');
    expect(normalizePath('a/../b')).toBeUndefined();
    expect(normalizePath('a\0b')).toBeUndefined();
    expect(normalizePath('/')).toBeUndefined();
  });
});
