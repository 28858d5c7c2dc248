import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
    expect(output).toMatch(/\d active · 1 failed/);
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
});
