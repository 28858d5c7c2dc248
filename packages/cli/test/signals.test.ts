import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEMP_SUFFIX } from '@dl/core';
import { generatedContent, startHttpFixture, waitFor, type HttpFixture } from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDl } from './run-dl.js';

const FILES = 6;
const SIZE = 1024 * 1024;

describe('dl get stopped by a signal', () => {
  let web: HttpFixture;
  let dir: string;

  beforeAll(async () => {
    web = await startHttpFixture();
    dir = await mkdtemp(join(tmpdir(), 'dl-cli-signal-'));
    const lines: string[] = [];
    for (let i = 0; i < FILES; i++) {
      const path = `/big/${i}.bin`;
      web.put(path, generatedContent(path, SIZE));
      lines.push(JSON.stringify({ url: web.url(path), path: `${i}.bin`, size: SIZE }));
    }
    await writeFile(join(dir, 'big.jsonl'), lines.join('\n'));
  });
  afterAll(async () => {
    await web?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Starts a run whose transfers stall mid-body, waits until temp files exist, sends `signal`. */
  async function interrupt(signal: NodeJS.Signals, out: string) {
    for (let i = 0; i < FILES; i++) {
      // Past the sink's 256 KiB write buffer, so temp files are on disk when the signal comes.
      web.fault(`/big/${i}.bin`, { stallAfter: 600_000, stallMs: 60_000, times: Infinity });
    }
    const dl = startDl(['get', '-i', 'big.jsonl', '-o', out, '-j', '4'], { cwd: dir });
    const temps = async () =>
      (await readdir(out, { recursive: true }).catch(() => [] as string[])).filter((f) =>
        f.endsWith(TEMP_SUFFIX),
      );
    await waitFor(async () => (await temps()).length >= 4, { timeoutMs: 20_000 });
    dl.child.kill(signal);
    const run = await dl.done;
    web.clearFaults();
    return { run, left: await temps(), files: await readdir(out, { recursive: true }) };
  }

  it('SIGINT aborts the transfers, removes every temp file, prints the summary and exits 130', async () => {
    const { run, left, files } = await interrupt('SIGINT', join(dir, 'out-int'));
    expect(run.code).toBe(130);
    expect(left).toEqual([]);
    expect(files.filter((f) => f.endsWith('.bin'))).toEqual([]);
    expect(run.stderr).toMatch(/dl: 0 files ok/);
    expect(run.stderr).toMatch(/stopped by SIGINT/);
    await waitFor(() => web.stats().connections === 0, { timeoutMs: 5000 });
  });

  it('SIGTERM does the same and exits 143; a second run then completes', async () => {
    const out = join(dir, 'out-term');
    const { run, left } = await interrupt('SIGTERM', out);
    expect(run.code).toBe(143);
    expect(left).toEqual([]);
    expect(run.stderr).toMatch(/stopped by SIGTERM/);
    const again = await startDl(['get', '-i', 'big.jsonl', '-o', out, '--json'], { cwd: dir }).done;
    expect(again.code).toBe(0);
    expect((await readdir(out)).sort()).toEqual(
      [...Array(FILES).keys()].map((i) => `${i}.bin`).sort(),
    );
  });
});
