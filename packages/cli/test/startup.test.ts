import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { runDl } from './run-dl.js';

// `dl --help` must not pay for the transfer stack: NODE_DEBUG=module logs
// every module the child loads, so an eager import brought back shows here.
test('dl --help loads no protocol library', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'dl-startup-'));
  const run = await runDl(['--help'], { cwd, env: { NODE_DEBUG: 'module' } });
  expect(run.code).toBe(0);
  expect(run.stderr).toContain('commander');
  for (const heavy of ['undici', 'ssh2', 'basic-ftp', 'bullmq', 'ioredis', 'cli-progress']) {
    expect(run.stderr).not.toContain(heavy);
  }
});
