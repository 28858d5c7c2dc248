import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { generatedContent, startHttpFixture, type HttpFixture } from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchRaw, sha256 } from './support.js';

const run = promisify(execFile);
const here = fileURLToPath(new URL('.', import.meta.url));
const root = resolve(here, '../../../..');
const SECRET = 'handoff-Token-0123456789';
const DATA = generatedContent('/pkg.rpm', 1_500_000);

/** Bundles the two entry points with the repository's esbuild, @dl/* aliased to their sources. */
async function bundle(outdir: string): Promise<void> {
  const pnpmDir = join(root, 'node_modules/.pnpm');
  const dir = readdirSync(pnpmDir).find((name) => name.startsWith('esbuild@'));
  if (dir === undefined) throw new Error('esbuild not found under node_modules/.pnpm');
  const esbuild = join(pnpmDir, dir, 'node_modules/esbuild/bin/esbuild');
  const aliases = ['core', 'http', 'mirrorlist'].map(
    (name) => `--alias:@dl/${name}=${join(root, 'packages', name, 'src/index.ts')}`,
  );
  await run(
    esbuild,
    [
      join(here, 'handoff/importer-entry.ts'),
      join(here, 'handoff/streamer-entry.ts'),
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--target=node20',
      '--log-level=warning',
      `--outdir=${outdir}`,
      '--out-extension:.js=.mjs',
      // Bundled CommonJS dependencies (undici) require Node built-ins.
      "--banner:js=import { createRequire as __dlRequire } from 'node:module'; const require = __dlRequire(import.meta.url);",
      ...aliases,
    ],
    { cwd: root },
  );
}

/** Starts the streamer process; resolves once it listens. */
function startStreamer(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; port: number; lines: string[] }> {
  return new Promise((resolveStart, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      const parsed = JSON.parse(line) as { port?: number };
      if (parsed.port !== undefined) resolveStart({ child, port: parsed.port, lines });
    });
    child.once('exit', (code) => reject(new Error(`streamer exited with ${code}: ${stderr}`)));
  });
}

let work: string;
let upstream: HttpFixture;
let config: string;
let catalog: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'dl-handoff-'));
  upstream = await startHttpFixture();
  // The mirror listed first is down; the second one wants the bearer token.
  upstream.route('/down/pkg.rpm', (_req, res) => res.writeHead(503).end('down'));
  upstream.route('/pool/pkg.rpm', (req, res) => {
    if (req.headers.authorization !== `Bearer ${SECRET}`) {
      res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/x-rpm',
      'content-length': String(DATA.byteLength),
    });
    res.end(DATA);
  });
  await bundle(join(work, 'dist'));
  config = join(work, 'factory.json');
  catalog = join(work, 'catalog.jsonl');
  // The importer process: it gets no secret, only writes the configuration.
  const env = { ...process.env };
  delete env.DL_HANDOFF_TOKEN;
  await run(process.execPath, [join(work, 'dist/importer-entry.mjs'), config, upstream.origin], {
    env,
  });
  await writeFile(
    catalog,
    `${JSON.stringify({
      path: '/repo/pkg.rpm',
      url: 'mirror://repo/pkg.rpm',
      size: DATA.byteLength,
      digests: { sha256: sha256(DATA) },
    })}\n`,
  );
}, 60_000);

afterAll(async () => {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGTERM');
        }),
    ),
  );
  await upstream?.stop();
  await rm(work, { recursive: true, force: true });
});

describe('cross-process handoff', () => {
  it('the configuration is plain data with the secret by reference only', async () => {
    const text = await readFile(config, 'utf8');
    expect(text).not.toContain(SECRET);
    const parsed = JSON.parse(text) as {
      adapters: { name: string; options: { auth?: { token?: unknown } } }[];
      interceptors: { type: string }[];
      limits: unknown;
    };
    expect(parsed.adapters[0]).toMatchObject({
      name: 'http',
      options: { auth: { type: 'bearer', token: { env: 'DL_HANDOFF_TOKEN' } } },
    });
    expect(parsed.interceptors.map((i) => i.type)).toEqual(['mirrors']);
    expect(parsed.limits).toEqual({ total: 8, perHost: 2 });
  });

  it('a streamer process rebuilds the factory and serves a file through the authenticated upstream', async () => {
    const streamer = await startStreamer(join(work, 'dist/streamer-entry.mjs'), [config, catalog], {
      ...process.env,
      DL_HANDOFF_TOKEN: SECRET,
    });
    children.push(streamer.child);
    const got = await fetchRaw(`http://127.0.0.1:${streamer.port}/repo/pkg.rpm`);
    expect(got.status).toBe(200);
    expect(got.complete).toBe(true);
    expect(got.headers['content-type']).toBe('application/x-rpm');
    expect(sha256(got.body)).toBe(sha256(DATA));
    const seen = upstream.requests();
    expect(seen.some((r) => r.path === '/down/pkg.rpm')).toBe(true);
    expect(
      seen.filter((r) => r.path === '/pool/pkg.rpm').map((r) => r.headers.authorization),
    ).toEqual([`Bearer ${SECRET}`]);
    // Nothing the streamer process logged carries the secret.
    expect(streamer.lines.join('\n')).not.toContain(SECRET);
  });

  it('without the secret in its environment the streamer answers with an error, not bytes', async () => {
    const env = { ...process.env };
    delete env.DL_HANDOFF_TOKEN;
    const streamer = await startStreamer(
      join(work, 'dist/streamer-entry.mjs'),
      [config, catalog],
      env,
    );
    children.push(streamer.child);
    const got = await fetchRaw(`http://127.0.0.1:${streamer.port}/repo/pkg.rpm`);
    expect(got.status).toBeGreaterThanOrEqual(500);
    expect(got.body.toString()).not.toContain(SECRET);
  });

  it('invalid configuration data fails with an error naming the bad field', async () => {
    const bad = join(work, 'bad.json');
    const parsed = JSON.parse(await readFile(config, 'utf8')) as { limits: { perHost: unknown } };
    parsed.limits.perHost = 'two';
    await writeFile(bad, JSON.stringify(parsed));
    const failed = await startStreamer(join(work, 'dist/streamer-entry.mjs'), [bad, catalog], {
      ...process.env,
    }).then(
      () => undefined,
      (error: Error) => error,
    );
    expect(failed?.message).toMatch(/exited with 2/);
    expect(failed?.message).toMatch(/limits\.perHost/);
  });
});
