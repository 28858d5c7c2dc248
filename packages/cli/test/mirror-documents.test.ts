import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(await readFile(join(dir, 'meta/b.bin'))).toEqual(Buffer.from(b));
    expect(hits('/files.meta4')).toBe(1);
  });
});
