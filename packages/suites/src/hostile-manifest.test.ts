import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generatedContent,
  startHttpFixture,
  startSshd,
  startVsftpd,
  type HttpFixture,
  type RunningSshd,
  type RunningVsftpd,
} from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines, runDl } from './support/run-dl.js';
import { writeServed } from './support/served-files.js';
import { filesUnder, sha256 } from './support/tree.js';

/** Must never be printed, whatever line it hides in. */
const SECRET = 'Hunter2-manifest-s3cret';
const SIZE = 10_000;

/** A manifest line and what dl must say about it (undefined: downloaded). */
interface Line {
  readonly text: string;
  readonly problem?: RegExp;
}

describe('hostile manifests given to dl get', () => {
  let web: HttpFixture;
  let ftpd: RunningVsftpd;
  let sshd: RunningSshd;
  let dir: string;
  const data = generatedContent('/good.bin', SIZE);
  const digest = sha256(data);

  beforeAll(async () => {
    [web, ftpd, sshd] = await Promise.all([startHttpFixture(), startVsftpd(), startSshd()]);
    web.put('/good.bin', data);
    await writeServed(ftpd.root, 'good.bin', data);
    await writeServed(sshd.root, 'good.bin', data);
    dir = await mkdtemp(join(tmpdir(), 'dl-hostile-manifest-'));
    await writeFile(join(dir, 'known_hosts'), `${sshd.knownHostsLine}\n`);
  });

  afterAll(async () => {
    await Promise.all([web?.stop(), ftpd?.stop(), sshd?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function manifest(): Line[] {
    const good = web.url('/good.bin');
    const withSecret = `http://user:${SECRET}@127.0.0.1:${web.port}/good.bin`;
    const ok = (path: string, url = good): Line => ({
      text: JSON.stringify({ url, path, size: SIZE, digests: { sha256: digest } }),
    });
    const bad = (fields: Record<string, unknown>, problem: RegExp): Line => ({
      text: JSON.stringify(fields),
      problem,
    });
    return [
      ok('first.bin'),
      { text: `{"url": "${withSecret}", "path": "broken.bin"`, problem: /JSON/i },
      { text: `{"url": "${withSecret}" "path": "x"}`, problem: /JSON/i },
      { text: '[1, 2, 3]', problem: /object/i },
      { text: 'not a url at all', problem: /not JSON|URL/i },
      bad({ path: 'no-url.bin' }, /no "url"/),
      bad({ url: 42 }, /"url"/),
      bad({ url: 'relative/file.bin', path: 'relative.bin' }, /absolute URL/),
      bad({ url: `gopher://user:${SECRET}@127.0.0.1/x`, path: 'g.bin' }, /scheme "gopher:"/),
      bad({ url: good, path: 'h1.bin', digests: { sha256: 'z'.repeat(64) } }, /sha256.*hex/),
      bad({ url: good, path: 'h2.bin', digests: { sha256: 'abc123' } }, /64 hex/),
      bad({ url: good, path: 'h3.bin', digests: { sha257: digest } }, /algorithm "sha257"/),
      bad({ url: good, path: 'h4.bin', digests: 'deadbeef' }, /"digests"/),
      bad({ url: good, path: 'neg.bin', size: -5 }, /"size"/),
      bad({ url: good, path: 'frac.bin', size: 1.5 }, /"size"/),
      bad({ url: good, path: '../escape.bin' }, /\.\./),
      bad({ url: good, path: 'a/../../escape2.bin' }, /\.\./),
      bad({ url: good, path: '/etc/dl-absolute.bin' }, /absolute/),
      bad({ url: good, path: 'nul\u0000byte.bin' }, /NUL/),
      ok('second.bin', `ftp://127.0.0.1:${ftpd.port}/good.bin`),
      bad({ url: good, path: 'second.bin' }, /already the destination of line 20/),
      // A 10 MB line: refused without being buffered; the lines after it still count right.
      {
        text: JSON.stringify({ url: good, path: 'huge.bin', pad: 'x'.repeat(10 * 1024 * 1024) }),
        problem: /long/i,
      },
      ok('third.bin', sshd.url('good.bin')),
      ok('fourth.bin', withSecret),
    ];
  }

  /** Every bad line is named with its number and reason; the others are downloaded. */
  async function check(args: readonly string[], out: string) {
    const lines = manifest();
    await writeFile(join(dir, 'manifest.jsonl'), `${lines.map((l) => l.text).join('\n')}\n`);
    const run = await runDl(
      [
        'get',
        '-i',
        'manifest.jsonl',
        '-o',
        out,
        '--known-hosts',
        join(dir, 'known_hosts'),
        '--ssh-key',
        sshd.privateKeyPath,
        '--sftp-user',
        sshd.username,
        ...args,
      ],
      { cwd: dir },
    );
    expect(run.signal).toBeNull();
    expect(run.code, run.stderr).toBe(1);
    expect(`${run.stdout}\n${run.stderr}`).not.toContain(SECRET);
    const good = lines.filter((l) => l.problem === undefined).length;
    const downloaded = (await filesUnder(join(dir, out))).sort();
    expect(downloaded).toEqual(['first.bin', 'fourth.bin', 'second.bin', 'third.bin']);
    for (const name of downloaded) {
      expect(sha256(await readFile(join(dir, out, name)))).toBe(digest);
    }
    // Nothing escaped the output folder.
    expect(await filesUnder(dir)).not.toContain('escape.bin');
    await expect(readFile('/etc/dl-absolute.bin')).rejects.toThrow(/ENOENT/);
    return { run, lines, good };
  }

  it('--json: one record per bad line with its number, invalid-request and what was wrong; the good lines are downloaded', async () => {
    const { run, lines, good } = await check(['--json'], 'out-json');
    const { records, summary } = jsonLines(run.stdout);
    const byLine = new Map(records.map((r) => [r.line, r]));
    lines.forEach((line, index) => {
      const record = byLine.get(index + 1) as
        { ok: boolean; error: { code: string; message: string } | null } | undefined;
      expect(record, `line ${index + 1}`).toBeDefined();
      if (line.problem === undefined) {
        expect(record!.ok, `line ${index + 1}: ${JSON.stringify(record)}`).toBe(true);
      } else {
        expect(record!.ok).toBe(false);
        expect(record!.error!.code).toBe('invalid-request');
        expect(record!.error!.message, `line ${index + 1}`).toMatch(line.problem);
      }
    });
    expect(summary).toMatchObject({ ok: good, invalid: lines.length - good, failed: 0 });
    // The 10 MB line is named, never echoed.
    expect(run.stdout.length).toBeLessThan(64 * 1024);
  });

  it('plain output: each bad line is reported on stderr with its line number', async () => {
    const { run, lines } = await check([], 'out-plain');
    lines.forEach((line, index) => {
      if (line.problem === undefined) return;
      const reported = run.stderr
        .split('\n')
        .filter((l) => new RegExp(`line ${index + 1}\\b`).test(l));
      expect(
        reported.length,
        `line ${index + 1} in:\n${run.stderr.slice(0, 4000)}`,
      ).toBeGreaterThan(0);
      expect(reported.join('\n')).toMatch(line.problem);
    });
    expect(run.stderr.length).toBeLessThan(64 * 1024);
  });

  it('--strict: the same manifest stops before anything is downloaded (exit 2), naming every bad line', async () => {
    await writeFile(
      join(dir, 'manifest.jsonl'),
      `${manifest()
        .map((l) => l.text)
        .join('\n')}\n`,
    );
    const run = await runDl(
      ['get', '-i', 'manifest.jsonl', '-o', 'out-strict', '--strict', '--json'],
      {
        cwd: dir,
      },
    );
    expect(run.code, run.stderr).toBe(2);
    expect(await filesUnder(join(dir, 'out-strict'))).toEqual([]);
    const { records } = jsonLines(run.stdout);
    const bad = manifest()
      .map((l, i) => (l.problem === undefined ? undefined : i + 1))
      .filter((n) => n !== undefined);
    expect(records.map((r) => r.line)).toEqual(bad);
    expect(`${run.stdout}\n${run.stderr}`).not.toContain(SECRET);
  });
});
