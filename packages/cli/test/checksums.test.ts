import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { generatedContent } from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonOutput, runDl } from './run-dl.js';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const sha512 = (data: Uint8Array) => createHash('sha512').update(data).digest('hex');

/** Every file under `dir`, relative, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

describe('dl get --checksums', () => {
  let dir: string;
  let site: string;
  let server: Server;
  let base: string;
  const files = new Map<string, Uint8Array>();
  /** The list's lines: GNU text, GNU binary, BSD (sha256 and sha512) in turn. */
  const listed: string[] = [];
  let wrongLine = 0;
  let traversalLine = 0;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dl-cli-sums-'));
    site = join(dir, 'site');
    await mkdir(join(site, 'release', 'sub'), { recursive: true });
    // Something the traversal line would reach, were it followed.
    await writeFile(join(site, 'evil'), 'evil');
    for (let i = 0; i < 100; i++) {
      const name = i % 10 === 0 ? `sub/f${i}.bin` : `f${i}.bin`;
      const data = generatedContent(name, 200 + i * 37);
      files.set(name, data);
      await writeFile(join(site, 'release', name), data);
      const digest = i === 42 ? sha256(generatedContent('other', 10)) : sha256(data);
      const format = i % 4;
      listed.push(
        format === 0
          ? `${digest}  ${name}`
          : format === 1
            ? `${digest} *${name}`
            : format === 2
              ? `SHA256 (${name}) = ${digest}`
              : `SHA512 (${name}) = ${sha512(data)}`,
      );
      if (i === 42) wrongLine = listed.length;
      if (i === 60) {
        listed.push(`${sha256(Buffer.from('evil'))}  ../evil`);
        traversalLine = listed.length;
      }
    }
    await writeFile(join(site, 'release', 'SHA256SUMS'), listed.join('\n') + '\n');
    const signed = [
      '-----BEGIN PGP SIGNED MESSAGE-----',
      'Hash: SHA512',
      '',
      `${sha256(files.get('f1.bin')!)}  f1.bin`,
      `SHA256 (f2.bin) = ${sha256(files.get('f2.bin')!)}`,
      '-----BEGIN PGP SIGNATURE-----',
      '',
      'iHUEARYKAB0WIQQ=',
      '-----END PGP SIGNATURE-----',
      '',
    ].join('\n');
    await writeFile(join(site, 'release', 'SHA256SUMS.asc'), signed);

    server = createServer((request, response) => {
      const path = normalize(decodeURIComponent(new URL(request.url!, 'http://x').pathname));
      readFile(join(site, path)).then(
        (data) => response.end(data),
        () => {
          response.statusCode = 404;
          response.end();
        },
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/release/`;
  });
  afterAll(async () => {
    server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('downloads the 99 valid files of 100, naming the wrong line and the traversal line', async () => {
    const out = join(dir, 'work', 'out');
    await mkdir(join(dir, 'work'), { recursive: true });
    const run = await runDl(
      ['get', '--checksums', `${base}SHA256SUMS`, '--from', base, '-o', 'out', '--json'],
      { cwd: join(dir, 'work') },
    );
    expect(run.code, run.stderr).toBe(1);
    const { records, summary } = parseJsonOutput(run.stdout);
    expect(summary).toMatchObject({ ok: 99, downloaded: 99, failed: 1, invalid: 1, verified: 99 });
    const failed = records
      .filter((record) => record.ok === false)
      .sort((a, b) => (a.line as number) - (b.line as number));
    expect(failed).toEqual([
      expect.objectContaining({
        line: wrongLine,
        url: `${base}f42.bin`,
        path: join(out, 'f42.bin'),
        error: expect.objectContaining({ code: 'digest-mismatch' }),
      }),
      expect.objectContaining({
        line: traversalLine,
        url: null,
        error: expect.objectContaining({
          code: 'invalid-request',
          message: expect.stringContaining('"../evil" contains ".."'),
        }),
      }),
    ]);
    // Every file on disk re-hashed; nothing else in out, nothing beside it.
    const expected = [...files.keys()].filter((name) => name !== 'f42.bin').sort();
    expect(await filesUnder(out)).toEqual(expected);
    for (const name of expected) {
      expect(sha256(await readFile(join(out, name)))).toBe(sha256(files.get(name)!));
    }
    expect(await readdir(join(dir, 'work'))).toEqual(['out']);
    expect((await readdir(dir)).sort()).toEqual(['site', 'work']);
    expect(run.stderr).toMatch(/1 failed/);

    // Without --from a remote list's own folder is the base; valid files are skipped.
    const again = await runDl(['get', '--checksums', `${base}SHA256SUMS`, '-o', 'out', '--json'], {
      cwd: join(dir, 'work'),
    });
    expect(again.code).toBe(1);
    expect(parseJsonOutput(again.stdout).summary).toMatchObject({
      ok: 99,
      skipped: 99,
      downloaded: 0,
      failed: 1,
      invalid: 1,
    });
  });

  it('checks a local folder against a local list without downloading', async () => {
    const local = join(dir, 'local');
    await mkdir(join(local, 'sub'), { recursive: true });
    for (const [name, data] of files) await writeFile(join(local, name), data);
    await writeFile(join(local, 'SHA256SUMS'), listed.join('\n'));
    await writeFile(join(local, 'f7.bin'), 'changed');
    await unlink(join(local, 'f8.bin'));
    const run = await runDl(['get', '--checksums', 'SHA256SUMS', '--json'], { cwd: local });
    expect(run.code).toBe(1);
    const { records, summary } = parseJsonOutput(run.stdout);
    expect(summary).toMatchObject({ ok: 97, skipped: 97, downloaded: 0, failed: 3, invalid: 1 });
    const byLine = new Map(records.map((record) => [record.line, record]));
    expect(byLine.get(8)).toMatchObject({
      path: join(local, 'f7.bin'),
      ok: false,
      error: { code: 'digest-mismatch', message: expect.stringContaining('(line 8)') },
    });
    expect(byLine.get(9)).toMatchObject({ ok: false, error: { code: 'not-found' } });
    expect(byLine.get(wrongLine)).toMatchObject({ ok: false, error: { code: 'digest-mismatch' } });
    expect(byLine.get(traversalLine)).toMatchObject({ error: { code: 'invalid-request' } });
    expect(byLine.get(1)).toMatchObject({
      ok: true,
      skipped: true,
      digests: { sha256: sha256(files.get('sub/f0.bin')!) },
    });
    // Nothing was written or removed.
    expect(await readFile(join(local, 'f7.bin'), 'utf8')).toBe('changed');
    expect((await filesUnder(local)).length).toBe(100);
  });

  it('reads the signed text of a PGP clear-signed list and warns that the signature is not verified', async () => {
    const out = join(dir, 'signed');
    const run = await runDl(['get', '--checksums', `${base}SHA256SUMS.asc`, '-o', out, '--json'], {
      cwd: dir,
    });
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines[0]).toEqual({
      warning: {
        code: 'signature-not-verified',
        message: expect.stringContaining('signature was NOT verified'),
        list: `${base}SHA256SUMS.asc`,
      },
    });
    expect(parseJsonOutput(run.stdout).summary).toMatchObject({ ok: 2, downloaded: 2 });
    expect(await filesUnder(out)).toEqual(['f1.bin', 'f2.bin']);
    const plain = await runDl(['get', '--checksums', `${base}SHA256SUMS.asc`, '-o', out], {
      cwd: dir,
    });
    expect(plain.stderr).toMatch(/^dl: warning: .*signature was NOT verified/m);
  });

  it('refuses bad usage and an unreadable list (exit 2), and --strict stops before downloading', async () => {
    const noList = await runDl(['get', '--from', base], { cwd: dir });
    expect(noList.code).toBe(2);
    const missing = await runDl(['get', '--checksums', 'nope.txt'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--checksums .*nope\.txt/);
    const strict = await runDl(
      ['get', '--checksums', `${base}SHA256SUMS`, '-o', 'strict', '--strict', '--json'],
      { cwd: dir },
    );
    expect(strict.code).toBe(2);
    expect(parseJsonOutput(strict.stdout).records).toEqual([
      expect.objectContaining({ line: traversalLine }),
    ]);
    expect((await readdir(dir)).includes('strict')).toBe(false);
  });
});
