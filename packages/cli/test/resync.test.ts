import { createServer, type Server } from 'node:http';
import {
  appendFile,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generatedContent,
  startSshd,
  startVsftpd,
  type RunningSshd,
  type RunningVsftpd,
} from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonOutput, runDl } from './run-dl.js';

/** A static server with one ETag per file version that honours If-None-Match, and counts. */
interface CountingServer {
  readonly url: string;
  readonly files: Map<string, { data: Buffer; etag: string }>;
  readonly counts: { requests: number; notModified: number; bodyBytes: number };
  close(): Promise<void>;
}

async function startCountingServer(): Promise<CountingServer> {
  const files = new Map<string, { data: Buffer; etag: string }>();
  const counts = { requests: 0, notModified: 0, bodyBytes: 0 };
  const modified = new Date('2024-10-01T10:00:00Z').toUTCString();
  const server: Server = createServer((req, res) => {
    counts.requests++;
    const file = files.get(req.url ?? '');
    if (file === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.setHeader('etag', file.etag);
    res.setHeader('last-modified', modified);
    const inm = req.headers['if-none-match'];
    if (inm !== undefined && inm.split(/\s*,\s*/).includes(file.etag)) {
      counts.notModified++;
      res.writeHead(304).end();
      return;
    }
    counts.bodyBytes += file.data.length;
    res.writeHead(200, { 'content-length': file.data.length }).end(file.data);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    files,
    counts,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const jsonl = (lines: object[]) => `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`;

describe('dl get --resync', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dl-cli-resync-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('HTTP: 500 unchanged files without digests are 304s, no body; a changed one is downloaded', async () => {
    const web = await startCountingServer();
    try {
      const work = join(dir, 'http');
      await mkdir(work);
      const paths = Array.from({ length: 500 }, (_, i) => `d${i % 5}/f${i}.bin`);
      for (const path of paths) {
        web.files.set(`/${path}`, {
          data: Buffer.from(generatedContent(path, 2_000)),
          etag: '"1"',
        });
      }
      await writeFile(
        join(work, 'm.jsonl'),
        jsonl(paths.map((path) => ({ url: `${web.url}/${path}`, path }))),
      );
      const args = ['get', '-i', 'm.jsonl', '-o', 'out', '--resync', '--json'];

      const first = await runDl(args, { cwd: work });
      expect(first.code).toBe(0);
      expect(parseJsonOutput(first.stdout).summary).toMatchObject({
        downloaded: 500,
        unchanged: 0,
      });
      expect(web.counts.bodyBytes).toBe(500 * 2_000);
      const sidecar = await readFile(join(work, 'out/d0/.dl-validators.jsonl'), 'utf8');
      expect(sidecar.trim().split('\n')).toHaveLength(100);

      web.counts.notModified = 0;
      web.counts.bodyBytes = 0;
      const second = await runDl(args, { cwd: work });
      expect(second.code).toBe(0);
      const { records, summary } = parseJsonOutput(second.stdout);
      expect(summary).toMatchObject({ ok: 500, downloaded: 0, unchanged: 500, bytes: 0 });
      expect(records.every((record) => record.ok === true && record.unchanged === true)).toBe(true);
      expect(web.counts.notModified).toBe(500);
      expect(web.counts.bodyBytes).toBe(0);

      // One file changes on the server; a corrupt sidecar line is no validator, not a failure.
      const changed = Buffer.from('the new content');
      web.files.set('/d3/f8.bin', { data: changed, etag: '"2"' });
      await appendFile(join(work, 'out/d1/.dl-validators.jsonl'), '{"name": "f1.bin", "si\n');
      web.counts.notModified = 0;
      web.counts.bodyBytes = 0;
      const third = await runDl([...args.slice(0, -1)], { cwd: work });
      expect(third.code).toBe(0);
      expect(third.stdout).toMatch(/^ok {6}\S+d3\/f8\.bin/m);
      expect(third.stdout).toMatch(/^unchanged \S+d0\/f0\.bin \(not modified\)$/m);
      expect(third.stderr).toMatch(/500 files ok \(1 downloaded, 499 unchanged\)/);
      expect(web.counts.notModified).toBe(499);
      expect(web.counts.bodyBytes).toBe(changed.length);
      expect(await readFile(join(work, 'out/d3/f8.bin'))).toEqual(changed);

      // Without --resync nothing is conditional: everything is downloaded again.
      web.counts.notModified = 0;
      const plain = await runDl(['get', '-i', 'm.jsonl', '-o', 'out', '--json'], { cwd: work });
      expect(parseJsonOutput(plain.stdout).summary).toMatchObject({ downloaded: 500 });
      expect(web.counts.notModified).toBe(0);
    } finally {
      await web.close();
    }
  });

  describe('FTP and SFTP: size and modification time', () => {
    let ftpd: RunningVsftpd;
    let sshd: RunningSshd;
    const names = Array.from({ length: 20 }, (_, i) => `r/f${i}.bin`);
    beforeAll(async () => {
      [ftpd, sshd] = await Promise.all([startVsftpd(), startSshd()]);
      for (const root of [ftpd.root, sshd.root]) {
        await mkdir(join(root, 'r'), { recursive: true });
        for (const name of names) await writeFile(join(root, name), generatedContent(name, 3_000));
      }
    });
    afterAll(async () => {
      await Promise.allSettled([ftpd?.stop(), sshd?.stop()]);
    });

    it('FTP: a second run sends no RETR; a file with a new size is downloaded again', async () => {
      const work = join(dir, 'ftp');
      await mkdir(work);
      await writeFile(
        join(work, 'm.jsonl'),
        jsonl(names.map((name) => ({ url: ftpd.url(name), path: name }))),
      );
      const args = ['get', '-i', 'm.jsonl', '-o', 'out', '--resync', '--json'];
      const first = await runDl(args, { cwd: work });
      expect(parseJsonOutput(first.stdout).summary).toMatchObject({ downloaded: 20 });

      // Server side: the commands vsftpd logged since the first run.
      const mark = ftpd.output().slice(-200);
      const second = await runDl(args, { cwd: work });
      expect(second.code).toBe(0);
      expect(parseJsonOutput(second.stdout).summary).toMatchObject({ unchanged: 20, bytes: 0 });
      const log = ftpd.output();
      const fresh = log.slice(log.lastIndexOf(mark) + mark.length);
      expect(fresh).toMatch(/MDTM/);
      expect(fresh).not.toMatch(/RETR/);

      const changed = generatedContent('changed', 3_001);
      await writeFile(join(ftpd.root, names[5]!), changed);
      const third = await runDl(args, { cwd: work });
      expect(parseJsonOutput(third.stdout).summary).toMatchObject({ downloaded: 1, unchanged: 19 });
      expect(await readFile(join(work, 'out', names[5]!))).toEqual(Buffer.from(changed));
    });

    it('SFTP: a second run reads no byte; a file with a new mtime is downloaded again', async () => {
      const work = join(dir, 'sftp');
      await mkdir(work);
      const url = (name: string) => {
        const u = new URL(sshd.url(name));
        u.username = '';
        return u.href;
      };
      await writeFile(
        join(work, 'm.jsonl'),
        jsonl(names.map((name) => ({ url: url(name), path: name }))),
      );
      const args = [
        'get',
        '-i',
        'm.jsonl',
        '-o',
        'out',
        '--resync',
        '--json',
        '--ssh-key',
        sshd.privateKeyPath,
        '--known-hosts',
        sshd.knownHostsFile,
      ];
      const first = await runDl(args, { cwd: work });
      expect(parseJsonOutput(first.stdout).summary).toMatchObject({ downloaded: 20 });

      // Server side: a read of a file moves its access time (relatime: when older than a day).
      const old = new Date(Math.floor(Date.now() / 1000 - 3 * 86_400) * 1000);
      const served = names.map((name) => join(sshd.root, name));
      for (const path of served) await utimes(path, old, (await stat(path)).mtime);
      const second = await runDl(args, { cwd: work });
      expect(second.code).toBe(0);
      for (const path of served) expect(Math.round((await stat(path)).atimeMs)).toBe(old.getTime());
      const { records, summary } = parseJsonOutput(second.stdout);
      expect(summary).toMatchObject({ unchanged: 20, bytes: 0 });
      expect(records.every((record) => record.unchanged === true)).toBe(true);

      // Same size, new content and mtime: the time tells.
      const changed = generatedContent('changed', 3_000);
      await writeFile(join(sshd.root, names[7]!), changed);
      await utimes(join(sshd.root, names[7]!), new Date(), new Date(Date.now() + 60_000));
      const third = await runDl(args, { cwd: work });
      expect(parseJsonOutput(third.stdout).summary).toMatchObject({ downloaded: 1, unchanged: 19 });
      expect(await readFile(join(work, 'out', names[7]!))).toEqual(Buffer.from(changed));
      // The control: the file read again does show it.
      expect((await stat(served[7]!)).atimeMs).toBeGreaterThan(old.getTime());
      expect(Math.round((await stat(served[6]!)).atimeMs)).toBe(old.getTime());
    });
  });
});
