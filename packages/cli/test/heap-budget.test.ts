import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatedContent, startHttpFixture, type HttpFixture } from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SEMI_SPACE_BYTES } from '../src/get/heap-budget.js';
import { runDl } from './run-dl.js';

// Loaded into the dl process with --import: notes the young generation's
// size after every garbage collection and writes the largest seen at exit.
const WATCHER = `
import { writeFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
let largest = 0;
let collections = 0;
const look = () => {
  collections++;
  for (const space of getHeapSpaceStatistics())
    if (space.space_name === 'new_space') largest = Math.max(largest, space.space_size);
};
new PerformanceObserver(look).observe({ entryTypes: ['gc'] });
process.on('exit', () => writeFileSync(process.env.HEAP_REPORT, JSON.stringify({ largest, collections })));
`;

describe('dl get memory', () => {
  let web: HttpFixture;
  let dir: string;

  beforeAll(async () => {
    web = await startHttpFixture();
    dir = await mkdtemp(join(tmpdir(), 'dl-cli-heap-'));
  });
  afterAll(async () => {
    await web?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps V8 young generation at its cap through a long manifest', async () => {
    const body = generatedContent('/one', 1024);
    web.put('/one', body);
    const sha256 = createHash('sha256').update(body).digest('hex');
    // Enough lines that an unbounded young generation grows past the cap (it reaches 32 MiB).
    const lines = Array.from({ length: 3000 }, (_, i) =>
      JSON.stringify({ url: web.url('/one'), path: `f/${i}`, size: 1024, digests: { sha256 } }),
    );
    await writeFile(join(dir, 'many.jsonl'), `${lines.join('\n')}\n`);
    await writeFile(join(dir, 'watch.mjs'), WATCHER);
    const report = join(dir, 'heap.json');
    const run = await runDl(['get', '-i', 'many.jsonl', '-o', 'out', '--quiet'], {
      cwd: dir,
      env: { NODE_OPTIONS: `--import ${join(dir, 'watch.mjs')}`, HEAP_REPORT: report },
      timeoutMs: 120_000,
    });
    expect(run.stderr).toContain('3000 files ok');
    expect(run.code).toBe(0);
    const { largest, collections } = JSON.parse(await readFile(report, 'utf8')) as {
      largest: number;
      collections: number;
    };
    // Both semi-spaces: at most twice the cap, and the run did collect (else nothing was measured).
    expect(collections).toBeGreaterThan(20);
    expect(largest).toBeLessThanOrEqual(2 * MAX_SEMI_SPACE_BYTES);
  }, 150_000);
});
