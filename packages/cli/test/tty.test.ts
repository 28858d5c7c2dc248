import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatedContent, startHttpFixture, type HttpFixture } from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DL_BIN } from './run-dl.js';

/**
 * Runs `dl` under a pseudo-terminal with util-linux `script`, so stdout and
 * stderr are TTYs exactly as in an interactive shell.
 */
function runInPty(args: readonly string[], cwd: string, env: Record<string, string | undefined>) {
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const command = [process.execPath, DL_BIN, ...args].map(quote).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd,
    env: { ...process.env, COLUMNS: '120', LINES: '30', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (output += text));
  return new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

/**
 * Runs `dl` in a detached tmux pane of `columns` columns and returns what the
 * pane shows, as a person would see it: tmux interprets the escape codes, so
 * a line the terminal did not wrap is cut at the pane's edge. Lines tmux
 * wrapped are joined again (`capture-pane -J`) so a wrapped line reads whole.
 * The pane stays open (a `sleep`) until it is captured; `kill-server` ends it.
 */
async function runInTmux(args: readonly string[], cwd: string, columns: number) {
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const socket = join(cwd, `tmux-${process.pid}.sock`);
  const tmux = (...rest: string[]) =>
    new Promise<string>((resolve, reject) =>
      execFile('tmux', ['-S', socket, '-f', '/dev/null', ...rest], { timeout: 60_000 }, (e, out) =>
        e ? reject(e) : resolve(out),
      ),
    );
  const command = [process.execPath, DL_BIN, ...args].map(quote).join(' ');
  const script = `cd ${quote(cwd)}; ${command}; echo "dl-exit=$?"; tmux -S ${quote(socket)} wait-for -S dl-done; sleep 60`;
  await tmux('new-session', '-d', '-x', String(columns), '-y', '60', '-e', 'NO_COLOR=1', script);
  try {
    await tmux('wait-for', 'dl-done');
    const screen = await tmux('capture-pane', '-p', '-J', '-S', '-', '-E', '-');
    return { code: Number(/dl-exit=(\d+)/.exec(screen)?.[1]), screen };
  } finally {
    await tmux('kill-server').catch(() => {});
  }
}

const ESC = String.fromCharCode(27);
const COLOUR = new RegExp(`${ESC}\\[3\\dm`);

describe('dl get on a terminal', () => {
  let web: HttpFixture;
  let dir: string;

  beforeAll(async () => {
    web = await startHttpFixture();
    dir = await mkdtemp(join(tmpdir(), 'dl-cli-tty-'));
    const lines: string[] = [];
    for (let i = 0; i < 4; i++) {
      const path = `/t/${i}.bin`;
      web.put(path, generatedContent(path, 300_000));
      lines.push(JSON.stringify({ url: web.url(path), path: `${i}.bin` }));
    }
    lines.push('{"broken');
    await writeFile(join(dir, 'list.jsonl'), lines.join('\n'));
  });
  afterAll(async () => {
    await web?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function slowDown() {
    // Each transfer pauses mid-body, so the display has frames to draw.
    for (let i = 0; i < 4; i++) web.fault(`/t/${i}.bin`, { stallAfter: 100_000, stallMs: 600 });
  }

  it('shows the live progress display, the failures above it and the summary', async () => {
    expect(existsSync('/usr/bin/script') || existsSync('/bin/script')).toBe(true);
    slowDown();
    const { code, output } = await runInPty(['get', '-i', 'list.jsonl', '-o', 'out'], dir, {
      NO_COLOR: '1',
    });
    expect(code).toBe(1);
    expect(output).toMatch(/\d\/5 files · [\d.]+ (B|KiB|MiB)/);
    expect(output).toMatch(/ETA /);
    expect(output).toMatch(/\d active · 1 bad line/);
    expect(output).toMatch(/[█░]{8,}/);
    expect(output).toMatch(/5\/5 files/);
    expect(output).toMatch(/bad +line 5: invalid JSON/);
    expect(output).toMatch(/dl: 4 files ok \(4 downloaded\) · 1 bad line/);
    // Cursor control: the display redraws one line in place.
    expect(output).toContain(`${ESC}[1G`);
    expect(output).not.toMatch(COLOUR);
  });

  it('uses colour on a colour terminal unless NO_COLOR is set', async () => {
    slowDown();
    const { output } = await runInPty(['get', '-i', 'list.jsonl', '-o', 'out2'], dir, {
      NO_COLOR: undefined,
      TERM: 'xterm-256color',
      FORCE_COLOR: undefined,
      // Node takes CI=true (as CI runs us) for a terminal without colours.
      CI: undefined,
    });
    expect(output).toMatch(COLOUR);
  });

  it('wraps failure lines and ends with a frame that agrees with the summary', async () => {
    expect(existsSync('/usr/bin/tmux') || existsSync('/bin/tmux')).toBe(true);
    const root = await mkdtemp(join(dir, 'wrap-'));
    const lines: string[] = [];
    // Two good files, one of them already valid at its destination (skipped).
    for (const name of ['good-1.bin', 'good-2.bin']) {
      const path = `/w/${name}`;
      const data = generatedContent(path, 200_000);
      web.put(path, data);
      web.fault(path, { stallAfter: 100_000, stallMs: 400 });
      const sha256 = createHash('sha256').update(data).digest('hex');
      lines.push(JSON.stringify({ url: web.url(path), path: name, digests: { sha256 } }));
    }
    await mkdir(join(root, 'out'));
    await writeFile(join(root, 'out', 'good-2.bin'), web.get('/w/good-2.bin')!);
    // A digest mismatch on a long path: its failure lines are wider than the terminal.
    const longPath = `/w/${'a-rather-long-folder-name/'.repeat(4)}mismatch.bin`;
    const bad = generatedContent(longPath, 150_000);
    web.put(longPath, bad);
    const actual = createHash('sha256').update(bad).digest('hex');
    const expected = 'e'.repeat(64);
    lines.push(JSON.stringify({ url: web.url(longPath), digests: { sha256: expected } }));
    // A 404, and two bad lines.
    lines.push(JSON.stringify({ url: web.url('/w/missing.bin'), path: 'missing.bin' }));
    lines.push('{"broken', JSON.stringify({ url: web.url('/w/x'), path: '../x' }));
    await writeFile(join(root, 'list.jsonl'), lines.join('\n'));

    const { code, screen } = await runInTmux(
      ['get', '-i', 'list.jsonl', '-o', 'out', '--retries', '0'],
      root,
      110,
    );
    expect(code).toBe(1);
    const rows = screen.split('\n');
    // The failure is shown whole: its destination, the actual digest and the URL.
    const destination = join(root, 'out', longPath.slice(1));
    expect(rows.some((row) => row.includes(destination))).toBe(true);
    expect(screen).toContain(`expected ${expected}, got ${actual}`);
    expect(screen).toContain(`from ${web.url(longPath)}`);

    // The last frame (just above the summary) tells what the summary tells.
    const at = rows.findIndex((row) => row.startsWith('dl: '));
    const summary = rows[at]!;
    const frame = rows[at - 1]!;
    expect(summary).toMatch(
      /^dl: 2 files ok \(1 downloaded, 1 already valid\) · 2 failed · 2 bad lines · /,
    );
    expect(frame).toMatch(/ 6\/6 files · /);
    expect(frame).toMatch(/ · 0 active · 2 failed · 2 bad lines$/);
    const [, bytes, rate] = /· ([\d.]+ \w+) in [\d.ms ]+ \(([\d.]+ \w+\/s)\)/.exec(summary)!;
    expect(frame).toContain(` files · ${bytes} · ${rate} · `);
  });
});
