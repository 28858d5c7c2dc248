import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generatedContent, startHttpFixture } from '@dl/testkit';
import { expect, test } from 'vitest';
import { runDl } from './run-dl.js';

const RECORD_LOADS = fileURLToPath(new URL('./record-loads.mjs', import.meta.url));

// NODE_DEBUG=module logs every CommonJS module the child loads and the
// record-loads hook every ES module, so an eager import brought back shows here.
const tracing = { NODE_DEBUG: 'module', NODE_OPTIONS: `--import=${RECORD_LOADS}` };

test('dl --help loads no protocol library nor the core', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'dl-startup-'));
  const run = await runDl(['--help'], { cwd, env: tracing });
  expect(run.code).toBe(0);
  expect(run.stderr).toContain('commander');
  for (const heavy of [
    'undici',
    'ssh2',
    'basic-ftp',
    'bullmq',
    'ioredis',
    'cli-progress',
    'core/dist',
  ]) {
    expect(run.stderr).not.toContain(heavy);
  }
});

test('dl get of an http URL loads neither the other protocols, the queue, the mirror lists nor the live display', async () => {
  const web = await startHttpFixture();
  try {
    web.put('/a.bin', generatedContent('/a.bin', 1000));
    const cwd = mkdtempSync(join(tmpdir(), 'dl-startup-'));
    const run = await runDl(['get', web.url('/a.bin'), '-o', cwd], { cwd, env: tracing });
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('undici');
    expect(run.stderr).toMatch(/loaded file:.*http\/dist\/index\.js/);
    for (const unneeded of [
      'ssh2',
      'basic-ftp',
      'ftp/dist',
      'sftp/dist',
      'bullmq',
      'ioredis',
      'mirrorlist',
      'fast-xml-parser',
      'cli-progress',
      'run-serve',
    ]) {
      expect(run.stderr).not.toContain(unneeded);
    }
  } finally {
    await web.stop();
  }
});

test('dl get of a file: URL loads no network library, not even undici', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'dl-startup-'));
  const source = join(cwd, 'source.bin');
  writeFileSync(source, generatedContent('/source.bin', 1000));
  const out = join(cwd, 'out');
  const run = await runDl(['get', pathToFileURL(source).href, '-o', out], { cwd, env: tracing });
  expect(run.code).toBe(0);
  expect(run.stderr).toMatch(/loaded file:.*core\/dist\/index\.js/);
  for (const unneeded of ['undici', 'http/dist', 'ssh2', 'basic-ftp', 'bullmq', 'cli-progress']) {
    expect(run.stderr).not.toContain(unneeded);
  }
});
