import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatedContent, startHttpFixture, waitFor, type HttpFixture } from '@dl/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runDl, startDl, type RunningDl } from './run-dl.js';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  error?: string;
}

function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const done = (error?: string) =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body: Buffer.concat(chunks),
          ...(error ? { error } : {}),
        });
      res.on('end', () => done());
      res.on('aborted', () => done('aborted'));
      res.on('error', (e) => done(e.message));
    });
    // A response cut before its headers reached us (a digest mismatch of a small file).
    req.on('error', (e) =>
      resolve({ status: 0, headers: {}, body: Buffer.alloc(0), error: e.message }),
    );
    req.end();
  });
}

describe('dl serve', () => {
  let web: HttpFixture;
  let dir: string;
  let server: RunningDl | undefined;
  const a = generatedContent('/up/a.bin', 100_000);
  const b = generatedContent('/up/b.bin', 2_000_000);

  beforeAll(async () => {
    web = await startHttpFixture();
    dir = await mkdtemp(join(tmpdir(), 'dl-cli-serve-'));
    web.put('/up/a.bin', a);
    web.put('/up/b.bin', b);
    web.put('/up/corrupt.bin', generatedContent('/up/corrupt.bin', 1000));
    await writeFile(
      join(dir, 'catalog.jsonl'),
      [
        JSON.stringify({
          path: 'repo/a.bin',
          url: web.url('/up/a.bin'),
          size: a.length,
          digests: { sha256: sha256(a) },
        }),
        JSON.stringify({ path: '/repo/b.bin', url: web.url('/up/b.bin'), size: b.length }),
        JSON.stringify({ path: 'repo/gone.bin', url: web.url('/up/gone.bin') }),
        JSON.stringify({
          path: 'repo/bad-digest.bin',
          url: web.url('/up/corrupt.bin'),
          digests: { sha256: '0'.repeat(64) },
        }),
        '{"path": "broken", ',
        JSON.stringify({ path: '../escape', url: web.url('/up/a.bin') }),
        JSON.stringify({ url: web.url('/up/a.bin') }),
      ].join('\n'),
    );
  });
  afterEach(async () => {
    if (server !== undefined && server.child.exitCode === null) {
      server.child.kill('SIGKILL');
      await server.done;
    }
    server = undefined;
  });
  afterAll(async () => {
    await web?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function start(extra: string[] = []): Promise<string> {
    server = startDl(
      ['serve', '--catalog', 'catalog.jsonl', '--port', '0', '--retries', '1', ...extra],
      {
        cwd: dir,
        timeoutMs: 60_000,
      },
    );
    const running = server;
    await waitFor(
      () =>
        /listening on (http:\/\/\S+)/.test(running.output().stdout) ||
        running.child.exitCode !== null,
      {
        timeoutMs: 15_000,
      },
    );
    const match = /listening on (http:\/\/\S+)/.exec(running.output().stdout);
    if (!match) throw new Error(`dl serve did not start:\n${running.output().stderr}`);
    return match[1]!;
  }

  it('serves catalog paths on demand, caches validated copies, logs every request', async () => {
    const base = await start(['--cache', 'cache']);
    expect(server!.output().stderr).toMatch(/catalog line 5: invalid JSON/);
    expect(server!.output().stderr).toMatch(/catalog line 6: path "\.\.\/escape"/);
    expect(server!.output().stderr).toMatch(/catalog line 7: a catalog line needs a "path"/);

    const first = await get(`${base}/repo/a.bin`);
    expect(first.status).toBe(200);
    expect(first.body).toEqual(Buffer.from(a));
    expect(first.headers['content-length']).toBe(String(a.length));
    await waitFor(() => existsSync(join(dir, 'cache/repo/a.bin')), { timeoutMs: 5000 });
    expect(await readFile(join(dir, 'cache/repo/a.bin'))).toEqual(Buffer.from(a));

    web.clearRequests();
    const second = await get(`${base}/repo/a.bin`);
    expect(second.body).toEqual(Buffer.from(a));
    expect(web.requests()).toEqual([]);

    const range = await get(`${base}/repo/b.bin`, { range: 'bytes=1000-1999' });
    expect(range.status).toBe(206);
    expect(range.body).toEqual(Buffer.from(b.subarray(1000, 2000)));
    const head = await get(`${base}/repo/b.bin`, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(b.length));

    expect((await get(`${base}/repo/nothing.bin`)).status).toBe(404);
    expect((await get(`${base}/repo/gone.bin`)).status).toBe(404);
    const corrupt = await get(`${base}/repo/bad-digest.bin`);
    expect(corrupt.status === 502 || corrupt.error !== undefined).toBe(true);

    await waitFor(() => server!.output().stdout.split('\n').length >= 9, { timeoutMs: 5000 });
    const log = server!.output().stdout;
    expect(log).toMatch(/"GET \/repo\/a\.bin HTTP\/1\.1" 200 100000 upstream \d+ms/);
    expect(log).toMatch(/"GET \/repo\/a\.bin HTTP\/1\.1" 200 100000 cache \d+ms/);
    expect(log).toMatch(/"GET \/repo\/b\.bin HTTP\/1\.1" 206 1000 /);
    expect(log).toMatch(/"GET \/repo\/nothing\.bin HTTP\/1\.1" 404 \d+ catalog/);
    expect(log).toMatch(/"GET \/repo\/gone\.bin HTTP\/1\.1" 404 0 upstream \d+ms not-found/);
    expect(log).toMatch(
      /"GET \/repo\/bad-digest\.bin HTTP\/1\.1" \d+ \d+ upstream \d+ms digest-mismatch/,
    );
  });

  it('on SIGTERM lets the response in flight finish, then exits 0', async () => {
    const base = await start();
    web.fault('/up/b.bin', { stallAfter: 500_000, stallMs: 800 });
    const pending = get(`${base}/repo/b.bin`);
    await waitFor(() => web.stats().requests > 0, { timeoutMs: 5000 });
    server!.child.kill('SIGTERM');
    const reply = await pending;
    expect(reply.status).toBe(200);
    expect(reply.error).toBeUndefined();
    expect(reply.body.length).toBe(b.length);
    const run = await server!.done;
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/SIGTERM: no new connections; 1 response\(s\) in flight/);
    expect(run.stderr).toMatch(/stopped after 1 request/);
  });

  it('with --strict refuses a catalog with bad lines (exit 2)', async () => {
    const run = await runDl(['serve', '--catalog', 'catalog.jsonl', '--port', '0', '--strict'], {
      cwd: dir,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/3 bad catalog lines; not starting/);
  });
});
