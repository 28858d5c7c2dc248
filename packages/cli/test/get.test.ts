import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HOST_TAG, TEMP_SUFFIX } from '@dl/core';
import { generatedContent, startHttpFixture, type HttpFixture } from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DL_BIN, parseJsonOutput, runDl } from './run-dl.js';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('dl get', () => {
  let web: HttpFixture;
  let dir: string;
  const files = new Map<string, Uint8Array>();

  beforeAll(async () => {
    web = await startHttpFixture();
    dir = await mkdtemp(join(tmpdir(), 'dl-cli-get-'));
    for (const [path, size] of [
      ['/pkgs/a.bin', 1000],
      ['/pkgs/b.bin', 70_000],
      ['/pkgs/c.bin', 0],
      ['/pkgs/sub/d.bin', 5000],
    ] as const) {
      const data = generatedContent(path, size);
      files.set(path, data);
      web.put(path, data);
    }
    await mkdir(join(dir, 'local'));
    await writeFile(join(dir, 'local', 'l.bin'), generatedContent('/local/l.bin', 3000));
  });
  afterAll(async () => {
    await web?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const line = (path: string, dest: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      url: web.url(path),
      path: dest,
      size: files.get(path)!.length,
      digests: { sha256: sha256(files.get(path)!) },
      ...extra,
    });

  async function fresh(name: string): Promise<string> {
    const out = join(dir, name);
    await rm(out, { recursive: true, force: true });
    return out;
  }

  it('downloads file: and http: lines with digests, prints JSON records and a summary, exits 0', async () => {
    const out = await fresh('out-mixed');
    const local = generatedContent('/local/l.bin', 3000);
    const manifest = [
      line('/pkgs/a.bin', 'a.bin'),
      line('/pkgs/b.bin', 'deep/b.bin'),
      line('/pkgs/c.bin', 'empty.bin'),
      // No path: the URL's path is used.
      JSON.stringify({
        url: web.url('/pkgs/sub/d.bin'),
        digests: { sha256: sha256(files.get('/pkgs/sub/d.bin')!) },
      }),
      JSON.stringify({
        url: pathToFileURL(join(dir, 'local', 'l.bin')).href,
        path: 'local.bin',
        digests: { sha256: sha256(local) },
      }),
      '',
      '# a comment',
      web.url('/pkgs/a.bin'),
    ].join('\n');
    await writeFile(join(dir, 'mixed.jsonl'), manifest);
    const run = await runDl(['get', '-i', 'mixed.jsonl', '-o', out, '--json'], { cwd: dir });
    // stdout is JSON only; stderr has the human summary, as without --json.
    expect(run.stderr).toMatch(
      /^dl: 6 files ok \(6 downloaded\) · [^\n]+ in [^\n]+\n {4}5 of 6 files validated against digests\n$/,
    );
    expect(run.code).toBe(0);
    const { records, summary } = parseJsonOutput(run.stdout);
    expect(records).toHaveLength(6);
    for (const record of records) {
      expect(Object.keys(record).slice(0, 6)).toEqual([
        'url',
        'path',
        'size',
        'digests',
        'ok',
        'error',
      ]);
      expect(record).toMatchObject({ ok: true, error: null });
    }
    expect(summary).toMatchObject({ ok: 6, downloaded: 6, failed: 0, invalid: 0, verified: 5 });
    expect(await readFile(join(out, 'deep/b.bin'))).toEqual(Buffer.from(files.get('/pkgs/b.bin')!));
    expect(await readFile(join(out, 'pkgs/sub/d.bin'))).toEqual(
      Buffer.from(files.get('/pkgs/sub/d.bin')!),
    );
    expect(await readFile(join(out, 'pkgs/a.bin'))).toEqual(Buffer.from(files.get('/pkgs/a.bin')!));
    // -q keeps "only failures and the summary": with --json the failures are on stdout.
    const quiet = await runDl(['get', '-i', 'mixed.jsonl', '-o', out, '--json', '-q'], {
      cwd: dir,
    });
    expect(quiet.stderr).toMatch(/^dl: 6 files ok \(1 downloaded, 5 already valid\) · /);
    expect(parseJsonOutput(quiet.stdout).summary).toMatchObject({ ok: 6, skipped: 5 });
    expect((await readFile(join(out, 'empty.bin'))).length).toBe(0);
    expect(await readFile(join(out, 'local.bin'))).toEqual(Buffer.from(local));
    const b = records.find((r) => r.path === join(out, 'deep/b.bin'))!;
    expect(b).toMatchObject({
      url: web.url('/pkgs/b.bin'),
      size: 70_000,
      digests: { sha256: sha256(files.get('/pkgs/b.bin')!) },
      line: 2,
    });
  });

  it('reports bad lines with their numbers, downloads the rest and exits 1', async () => {
    const out = await fresh('out-bad');
    const manifest = [
      line('/pkgs/a.bin', 'a.bin'),
      '{"url": "http://127.0.0.1:1/x", "path": ',
      JSON.stringify({ path: 'no-url.bin' }),
      JSON.stringify({ url: 'gopher://example.invalid/x' }),
      JSON.stringify({ url: web.url('/pkgs/b.bin'), digests: { sha256: 'xyz' } }),
      JSON.stringify({ url: web.url('/pkgs/b.bin'), size: -1 }),
      'not a url',
      line('/pkgs/b.bin', 'b.bin'),
      line('/pkgs/b.bin', './b.bin'),
    ].join('\n');
    await writeFile(join(dir, 'bad.jsonl'), manifest);
    const run = await runDl(['get', '-i', 'bad.jsonl', '-o', out, '--json'], { cwd: dir });
    expect(run.code).toBe(1);
    const { records, summary } = parseJsonOutput(run.stdout);
    const bad = records.filter((r) => !r.ok);
    expect(bad.map((r) => r.line).sort()).toEqual([2, 3, 4, 5, 6, 7, 9]);
    const reason = (n: number) =>
      (bad.find((r) => r.line === n)!.error as { message: string }).message;
    expect(reason(2)).toMatch(/invalid JSON/);
    expect(reason(3)).toMatch(/no "url"/);
    expect(reason(4)).toMatch(/unknown scheme "gopher:"/);
    expect(reason(5)).toMatch(/sha256 digest must be 64 hex/);
    expect(reason(6)).toMatch(/"size" must be/);
    expect(reason(7)).toMatch(/not JSON and not a single URL/);
    expect(reason(9)).toMatch(/b\.bin is already the destination of line 8/);
    for (const r of bad) expect(r.error).toMatchObject({ code: 'invalid-request' });
    expect(summary).toMatchObject({ ok: 2, failed: 0, invalid: 7 });
    expect(existsSync(join(out, 'a.bin')) && existsSync(join(out, 'b.bin'))).toBe(true);

    // Without --json the line numbers are in the human output too.
    const plain = await runDl(['get', '-i', 'bad.jsonl', '-o', await fresh('out-bad2')], {
      cwd: dir,
    });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/line 4: .*unknown scheme "gopher:"/);
    expect(plain.stderr).toMatch(/7 bad lines/);
  });

  it('with --strict reports every bad line and downloads nothing (exit 2)', async () => {
    const out = await fresh('out-strict');
    const before = web.stats().totalRequests;
    const manifest = [line('/pkgs/a.bin', 'a.bin'), '{oops', line('/pkgs/b.bin', '../b.bin')].join(
      '\n',
    );
    await writeFile(join(dir, 'strict.jsonl'), manifest);
    const run = await runDl(['get', '-i', 'strict.jsonl', '-o', out, '--strict'], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/bad +line 2: invalid JSON/);
    expect(run.stderr).toMatch(/bad +line 3: path "\.\.\/b\.bin" contains "\.\."/);
    expect(run.stderr).toMatch(/nothing was downloaded/);
    expect(existsSync(out)).toBe(false);
    expect(web.stats().totalRequests).toBe(before);
  });

  it('rejects paths that would leave -o: "..", absolute, NUL', async () => {
    const out = await fresh('out-traversal');
    const manifest = [
      line('/pkgs/a.bin', '../escape.bin'),
      line('/pkgs/a.bin', 'x/../../escape.bin'),
      line('/pkgs/a.bin', '/tmp/escape.bin'),
      line('/pkgs/a.bin', 'nul\u0000.bin'),
      line('/pkgs/a.bin', '.'),
      line('/pkgs/a.bin', 'fine/ok.bin'),
    ].join('\n');
    await writeFile(join(dir, 'traversal.jsonl'), manifest);
    const run = await runDl(['get', '-i', 'traversal.jsonl', '-o', out, '--json'], { cwd: dir });
    expect(run.code).toBe(1);
    const { records } = parseJsonOutput(run.stdout);
    const messages = Object.fromEntries(
      records.filter((r) => !r.ok).map((r) => [r.line, (r.error as { message: string }).message]),
    );
    expect(messages[1]).toMatch(/contains "\.\."/);
    expect(messages[2]).toMatch(/contains "\.\."/);
    expect(messages[3]).toMatch(/is absolute/);
    expect(messages[4]).toMatch(/NUL byte/);
    expect(messages[5]).toMatch(/names no file/);
    expect(existsSync(join(dir, 'escape.bin'))).toBe(false);
    expect(existsSync('/tmp/escape.bin')).toBe(false);
    expect(await readdir(out, { recursive: true })).toEqual(['fine', join('fine', 'ok.bin')]);
  });

  it('removes the temps a killed earlier run of this machine left for what it writes, and only those', async () => {
    const out = await fresh('out-stale');
    await mkdir(join(out, 'pkgs'), { recursive: true });
    // A process that is gone, as a `kill -9`'d dl is.
    const dead = Number(
      spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout,
    );
    const foreign = HOST_TAG === '0badc0de' ? '0badc0df' : '0badc0de';
    const stale = `.a.bin.${HOST_TAG}-${dead}.k1${TEMP_SUFFIX}`;
    const kept = [
      `.a.bin.${HOST_TAG}-${process.pid}.k2${TEMP_SUFFIX}`,
      `.a.bin.${foreign}-${dead}.k3${TEMP_SUFFIX}`,
    ];
    for (const name of [stale, ...kept]) await writeFile(join(out, 'pkgs', name), 'partial');
    // A manifest line keeps the URL's path under -o (a URL on the command line is
    // saved under its file name alone), so the temps sit beside out/pkgs/a.bin.
    const run = await runDl(['get', '-i', '-', '-o', out, '--json'], {
      cwd: dir,
      stdin: `${web.url('/pkgs/a.bin')}\n`,
    });
    expect(run.code, run.stderr).toBe(0);
    expect((await readdir(join(out, 'pkgs'))).sort()).toEqual(['a.bin', ...kept].sort());
  });

  it('skips files already valid at their destination without a request', async () => {
    const out = await fresh('out-skip');
    const manifest = [line('/pkgs/a.bin', 'a.bin'), line('/pkgs/b.bin', 'b.bin')].join('\n');
    await writeFile(join(dir, 'skip.jsonl'), manifest);
    expect((await runDl(['get', '-i', 'skip.jsonl', '-o', out], { cwd: dir })).code).toBe(0);
    // A wrong copy of b is replaced; a is left alone.
    await writeFile(join(out, 'b.bin'), Buffer.alloc(70_000));
    web.clearRequests();
    const run = await runDl(['get', '-i', 'skip.jsonl', '-o', out, '--json'], { cwd: dir });
    expect(run.code).toBe(0);
    const { records, summary } = parseJsonOutput(run.stdout);
    expect(records.find((r) => r.line === 1)).toMatchObject({
      ok: true,
      skipped: true,
      size: 1000,
    });
    expect(records.find((r) => r.line === 2)).toMatchObject({ ok: true, size: 70_000 });
    expect(records.find((r) => r.line === 2)!.skipped).toBeUndefined();
    expect(summary).toMatchObject({ ok: 2, skipped: 1, downloaded: 1, verified: 2 });
    expect(web.requests().map((r) => r.path)).toEqual(['/pkgs/b.bin']);
    expect(await readFile(join(out, 'b.bin'))).toEqual(Buffer.from(files.get('/pkgs/b.bin')!));

    const plain = await runDl(['get', '-i', 'skip.jsonl', '-o', out], { cwd: dir });
    expect(plain.stdout).toMatch(/skipped .*a\.bin \(already valid\)/);
    expect(plain.stderr).toMatch(/2 files ok \(0 downloaded, 2 already valid\)/);
  });

  it('reads the manifest from stdin, bare URL lines included', async () => {
    const out = await fresh('out-stdin');
    const stdin = `${web.url('/pkgs/a.bin')}\r\n${line('/pkgs/b.bin', 'b.bin')}\n`;
    const run = await runDl(['get', '-i', '-', '-o', out, '--json'], { cwd: dir, stdin });
    expect(run.code).toBe(0);
    expect(parseJsonOutput(run.stdout).summary).toMatchObject({ ok: 2 });
    expect(existsSync(join(out, 'pkgs/a.bin'))).toBe(true);
    const strict = await runDl(
      ['get', '-i', '-', '-o', await fresh('out-stdin2'), '--strict', '--json'],
      { cwd: dir, stdin },
    );
    expect(strict.code).toBe(0);
    expect(parseJsonOutput(strict.stdout).summary).toMatchObject({ ok: 2 });
  });

  it('checks --sha256 of a single URL, and fails (exit 1) on a mismatch without leaving a file', async () => {
    const out = await fresh('out-sha');
    const data = files.get('/pkgs/a.bin')!;
    const good = await runDl(['get', web.url('/pkgs/a.bin'), '--sha256', sha256(data), '-o', out], {
      cwd: dir,
    });
    expect(good.code).toBe(0);
    expect(good.stderr).toMatch(/every file validated/);
    const badOut = await fresh('out-sha-bad');
    const bad = await runDl(
      ['get', web.url('/pkgs/a.bin'), '--sha256', '0'.repeat(64), '-o', badOut],
      { cwd: dir },
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/digest-mismatch/);
    expect(existsSync(join(badOut, 'a.bin'))).toBe(false);
    expect(await readdir(badOut, { recursive: true }).catch(() => [])).not.toContainEqual(
      expect.stringMatching(/\.dl-part$/),
    );
  });

  it('writes a URL given on the command line to its file name, as curl -O and wget do', async () => {
    const out = await fresh('out-name');
    const nested = generatedContent('/pkgs/sub/a%20b.bin', 300);
    // The fixture keys files by their path as it arrives, percent-encoded.
    web.put('/pkgs/sub/a%20b.bin', nested);
    const run = await runDl(
      ['get', web.url('/pkgs/a.bin'), web.url('/pkgs/sub/a%20b.bin'), '-o', out, '--json'],
      { cwd: dir },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(out, 'a.bin'))).toEqual(Buffer.from(files.get('/pkgs/a.bin')!));
    expect(await readFile(join(out, 'a b.bin'))).toEqual(Buffer.from(nested));
    expect(existsSync(join(out, 'pkgs'))).toBe(false);
    // A manifest line without "path" keeps the URL's path.
    const listed = await fresh('out-name-manifest');
    await writeFile(join(dir, 'one.jsonl'), web.url('/pkgs/a.bin'));
    expect((await runDl(['get', '-i', 'one.jsonl', '-o', listed], { cwd: dir })).code).toBe(0);
    expect(existsSync(join(listed, 'pkgs', 'a.bin'))).toBe(true);
  });

  it('writes a single URL to -O FILE, relative to the working folder', async () => {
    const cwd = await fresh('out-file');
    await mkdir(join(cwd, 'sub'), { recursive: true });
    const data = files.get('/pkgs/b.bin')!;
    const run = await runDl(
      ['get', web.url('/pkgs/b.bin'), '-O', 'sub/renamed.bin', '--sha256', sha256(data)],
      {
        cwd,
      },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(cwd, 'sub', 'renamed.bin'))).toEqual(Buffer.from(data));
    expect(await readdir(cwd, { recursive: true })).toEqual(['sub', join('sub', 'renamed.bin')]);
  });

  it('refuses command-line URLs it cannot name a file after, and -O with more than one URL (exit 2)', async () => {
    const cwd = await fresh('out-name-usage');
    await mkdir(cwd);
    const a = web.url('/pkgs/a.bin');
    const otherA = web.url('/pkgs/sub/a.bin');
    for (const [args, message] of [
      [[web.url('/pkgs/')], /names no file.*-O FILE/],
      [[web.url('/')], /names no file/],
      [[a, otherA], new RegExp(`same file .*a\\.bin: ${escape(a)} and ${escape(otherA)}`)],
      [[web.url('/pkgs/a%00.bin')], /NUL/],
      [[web.url('/pkgs/x%2Fy.bin')], /contains a slash/],
      [[a, otherA, '-O', 'x.bin'], /-O.*exactly one URL/],
      [['-i', 'list.jsonl', '-O', 'x.bin'], /-O.*exactly one URL/],
      [[a, '-O', 'x.bin', '-o', 'somewhere'], /-O.*-o/],
      [[a, '-O', 'folder/'], /-O.*names a folder/],
    ] as const) {
      const run = await runDl(['get', ...args], { cwd });
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(message);
    }
    expect(await readdir(cwd)).toEqual([]);
  });

  it('reports failed downloads (404) and exits 1', async () => {
    const run = await runDl(
      ['get', web.url('/missing.bin'), '-o', await fresh('out-404'), '--retries', '0'],
      { cwd: dir },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/not-found/);
    expect(run.stderr).toMatch(/1 failed/);
  });

  it('fails a file the disk takes only part of (a short write), and never renames it into place', async () => {
    const out = await fresh('out-short');
    const manifest = [
      line('/pkgs/a.bin', 'a.bin'), // 1,000 bytes: fits under the limit
      line('/pkgs/sub/d.bin', 'd.bin'), // 5,000 bytes: the small-file path
      line('/pkgs/b.bin', 'b.bin'), // 70,000 bytes: the buffered path
    ].join('\n');
    await writeFile(join(dir, 'short.jsonl'), manifest);
    // A file size limit of 2 KiB: write() then writes less than asked and reports no error.
    const child = spawn(
      'bash',
      [
        '-c',
        'ulimit -f 2 && exec "$0" "$@"',
        process.execPath,
        DL_BIN,
        'get',
        '-i',
        'short.jsonl',
        '-o',
        out,
        '--json',
      ],
      { cwd: dir, env: { ...process.env, NO_COLOR: '1' } },
    );
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    const [code] = (await once(child, 'close')) as [number | null];
    expect(code).toBe(1);
    const { records } = parseJsonOutput(stdout);
    const failed = records.filter((r) => !r.ok).map((r) => r.path);
    expect(failed.sort()).toEqual([join(out, 'b.bin'), join(out, 'd.bin')]);
    for (const r of records.filter((r) => !r.ok)) {
      expect(r.error).toMatchObject({ code: 'write-failed' });
    }
    expect(await readdir(out)).toEqual(['a.bin']);
    expect(await readFile(join(out, 'a.bin'))).toEqual(Buffer.from(files.get('/pkgs/a.bin')!));
  });
});

describe('dl usage', () => {
  it('prints help for every command and the version', async () => {
    const cwd = tmpdir();
    const top = await runDl(['--help'], { cwd });
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Usage: dl/);
    expect(top.stdout).toMatch(/get \[options\] \[url\.\.\.\]/);
    const get = await runDl(['get', '--help'], { cwd });
    expect(get.code).toBe(0);
    for (const flag of [
      '--input',
      '--output',
      '--total',
      '--per-host',
      '--retries',
      '--sha256',
      '--json',
      '--strict',
      '--ca-bundle',
      '--proxy',
    ]) {
      expect(get.stdout).toContain(flag);
    }
    const serve = await runDl(['serve', '--help'], { cwd });
    expect(serve.code).toBe(0);
    for (const flag of ['--catalog', '--port', '--host', '--cache', '--grace']) {
      expect(serve.stdout).toContain(flag);
    }
    expect((await runDl(['help', 'get'], { cwd })).stdout).toContain('--input');
    const version = await runDl(['--version'], { cwd });
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('exits 2 on bad usage with a message', async () => {
    const cwd = tmpdir();
    for (const [args, message] of [
      [['get'], /nothing to download/],
      [['get', '-j', 'zero', 'http://127.0.0.1:1/x'], /whole number/],
      [['get', 'not a url'], /not an absolute URL/],
      [
        ['get', '-i', 'no-such-manifest.jsonl'],
        /no-such-manifest\.jsonl: the manifest cannot be read \(ENOENT: no such file or directory\)/,
      ],
      [
        ['get', 'http://127.0.0.1:1/x', '--bearer-token-file', 'no-such-token'],
        /--bearer-token-file no-such-token: the file cannot be read \(ENOENT: no such file or directory\)/,
      ],
      [['get', 'http://127.0.0.1:1/x', '--sha256', 'abc'], /64 hex/],
      [
        ['get', 'http://127.0.0.1:1/x', '-H', 'Authorization: Bearer secret-token'],
        /not accepted on the command line/,
      ],
      [
        [
          'get',
          'http://127.0.0.1:1/x',
          '--http-user',
          'u',
          '--http-password-env',
          'DL_TEST_UNSET_VAR',
        ],
        /DL_TEST_UNSET_VAR is not set/,
      ],
      [['frobnicate'], /unknown command/],
    ] as const) {
      const run = await runDl(args, { cwd });
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toContain('secret-token');
    }
  });
});
