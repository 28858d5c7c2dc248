import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generatedContent, startHttpFixture, type HttpFixture } from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDl } from './run-dl.js';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('dl get with remote mirror documents', () => {
  let web: HttpFixture;
  let dir: string;
  const a = generatedContent('/pool/a.bin', 20_000);
  const b = generatedContent('/pool/b.bin', 30_000);

  beforeAll(async () => {
    web = await startHttpFixture();
    dir = await mkdtemp(join(tmpdir(), 'dl-cli-mirror-docs-'));
    web.put('/pool/a.bin', a);
    web.put('/pool/b.bin', b);
  });
  afterAll(async () => {
    await web?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const hits = (path: string) => web.requests().filter((r) => r.path === path).length;

  it('--metalink URL: the metalink is fetched once', async () => {
    web.put(
      '/files.meta4',
      Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
<metalink xmlns="urn:ietf:params:xml:ns:metalink">
  <file name="a.bin">
    <size>${a.length}</size>
    <hash type="sha-256">${sha256(a)}</hash>
    <url>${web.url('/pool/a.bin')}</url>
  </file>
  <file name="b.bin">
    <size>${b.length}</size>
    <hash type="sha-256">${sha256(b)}</hash>
    <url>${web.url('/pool/b.bin')}</url>
  </file>
</metalink>
`),
    );
    const run = await runDl(
      ['get', '--metalink', web.url('/files.meta4'), '-o', 'meta', '--json'],
      { cwd: dir },
    );
    expect(run.code, run.stderr).toBe(0);
    // --json still prints the human summary on stderr (documented); nothing else:
    // no warning and no error lines.
    expect(run.stderr).not.toMatch(/warning|error|failed/i);
    expect(run.stderr).toMatch(/^dl: 2 files ok \(2 downloaded\)/);
    expect(await readFile(join(dir, 'meta/b.bin'))).toEqual(Buffer.from(b));
    expect(hits('/files.meta4')).toBe(1);
  });

  const listWithFileEntry = () => {
    web.put(
      '/mirrors.txt',
      Buffer.from(`${pathToFileURL(dir).href}/local/\n${web.url('/pool/')}\n`),
    );
    return ['get', 'a.bin', 'b.bin', '--mirrorlist', web.url('/mirrors.txt'), '-o'];
  };

  it('a file: entry of a remote list is refused with one warning line (plain output)', async () => {
    const run = await runDl([...listWithFileEntry(), 'plain'], { cwd: dir });
    expect(run.code).toBe(0);
    const warnings = run.stderr.split('\n').filter((line) => line.includes('warning'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('file:');
    expect(warnings[0]).toContain(web.url('/mirrors.txt'));
    expect(await readFile(join(dir, 'plain/b.bin'))).toEqual(Buffer.from(b));
  });

  it('a file: entry of a remote list is refused with one {"warning"} line (--json)', async () => {
    const run = await runDl([...listWithFileEntry(), 'json', '--json'], { cwd: dir });
    expect(run.code).toBe(0);
    const lines = run.stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const warnings = lines.filter((line) => 'warning' in line);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.warning).toMatchObject({
      code: 'mirror-entries-refused',
      list: web.url('/mirrors.txt'),
      refused: [{ entry: `${pathToFileURL(dir).href}/local/` }],
    });
    expect(lines.at(-1)).toHaveProperty('summary');
    expect(lines.filter((line) => 'ok' in line)).toHaveLength(2);
  });
});
