/**
 * Every code block of README.md, packages/*\/README.md, examples/*\/README.md
 * and docs/*.md is a test, so the docs cannot drift from the code. Nothing is
 * skipped: a block is run, or it is an excerpt or a fragment, and those are
 * checked too.
 *
 * A fenced block is, by what precedes it (the last non-blank line before the
 * fence):
 *
 * - `<!-- from: path/in/repo.ts -->`: an excerpt; the test fails unless it
 *   appears verbatim in that file, which is compiled and tested on its own.
 * - `<!-- fragment -->`: not run; the test fails unless it is what fragments
 *   are for: a `sh`, `json`, `jsonl` or `text` block (commands, data,
 *   diagrams; JSON must parse), or a `ts` block of signatures only (it
 *   parses as the members of an interface, or as declarations without a
 *   body: `interface`, `type`, `declare`). A block without a language fails:
 *   give it one.
 * - nothing: run. A `js` block is first checked by this Node's own parser
 *   (`node --check`: what we show as JavaScript runs on the Node versions we
 *   support, e.g. no `await using` on Node 20), then every block (`js` or
 *   `ts`) is written to `.blocks/` here and imported through vitest, so
 *   `@dl/*` resolve to source without a build (see vitest.config.ts, which
 *   also maps the guide's `dl-adapter-data` to `examples/data-adapter`).
 *   The blocks of one file run in order and share one temp folder, so the
 *   importer's quick start can hand its configuration to the streamer's.
 *   Any other language fails: mark it a fragment or make it run.
 *
 * What a block is given, instead of the Internet and the host's files (the
 * servers are started only when some block names them):
 *
 * - `https://repo.example`: a loopback HTTP fixture serving
 *   {@link repository}: two packages, `Packages.gz`, and a Fedora-like tree
 *   with a Metalink 3 at `/metalink` whose mirrors are `/mirror-a/` (empty:
 *   every file is missing there) and `/mirror-b/`.
 * - `ftp://mirror.example`: a vsftpd (explicit TLS offered, not forced) with
 *   the login `dlmirror` (password in `FTP_PASSWORD`); paths are relative to
 *   its root, which holds `pub/` (see {@link mirrorFiles}).
 * - `sftp://mirror.example`: an OpenSSH sshd for the same login, key auth;
 *   `/pub/…` is that same `pub/` tree under the daemon's root folder.
 * - `redis://queue.example`: a redis-server on loopback.
 * - `/etc/dl/` and `/run/secrets/`: a folder holding `mirror-ca.pem` (the
 *   vsftpd's certificate), `known_hosts` (the sshd's host key),
 *   `id_ed25519` (the key sshd accepts) and `token`.
 * - `/srv/`: the file's temp folder; `listen(8080` becomes `listen(0`.
 * - `REPO_TOKEN`, `REPO_PASSWORD`, `FTP_PASSWORD` and `GHCR_TOKEN` are set.
 *
 * A `ts` block whose first line names a test file (`// src/x.test.ts`) is
 * one: it is imported while the tests are collected, so the tests it
 * declares (through vitest's `it`) are tests of this file, reported under
 * `<file>:<line> is a test file`. It is given no placeholders.
 *
 * A block fails by throwing or by setting `process.exitCode`. A block that
 * exports `server` (a listening `node:http` server) and `catalog` (a Map of
 * path to `{ url }`) is a streamer: every catalog path is requested from it
 * and must answer the upstream's bytes; then the server is closed.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  startHttpFixture,
  startRedis,
  startSshd,
  startVsftpd,
  type HttpFixture,
  type RunningRedis,
  type RunningSshd,
  type RunningVsftpd,
} from '@dl/testkit';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const blocksDir = fileURLToPath(new URL('../.blocks/', import.meta.url));

const RELEASE = 'Origin: mirror.example\nSuite: stable\n';
const REPOMD = '<?xml version="1.0"?>\n<repomd><revision>40</revision></repomd>\n';
const RPM = 'hello, fedora\n';

/** What `https://repo.example` serves (`/metalink` is added by {@link metalink}). */
const repository: Record<string, string> = {
  '/pool/hello_1.0_all.deb': 'hello, world\n',
  '/pool/world_2.1_all.deb': 'the whole world, in one small file\n',
  '/Packages.gz': 'Package: hello\nVersion: 1.0\n',
  // The repository as the importer knows it, and one of its mirrors (mirror-a has nothing).
  '/fedora/40/repodata/repomd.xml': REPOMD,
  '/fedora/40/Packages/h/hello-1.0.rpm': RPM,
  '/mirror-b/fedora/40/repodata/repomd.xml': REPOMD,
  '/mirror-b/fedora/40/Packages/h/hello-1.0.rpm': RPM,
};

/** What `ftp://mirror.example/` and `sftp://mirror.example/` serve. */
const mirrorFiles: Record<string, string> = {
  'pub/dists/stable/Release': RELEASE,
  'pub/repo/Packages.gz': 'Package: hello\nVersion: 1.0\n',
};

/** MirrorManager's Metalink 3 for the Fedora tree: repomd.xml at mirror-a, then mirror-b. */
function metalink(origin: string): string {
  const sha256 = createHash('sha256').update(REPOMD).digest('hex');
  const url = (mirror: string, preference: number) =>
    `<url protocol="http" type="http" location="US" preference="${preference}">${origin}/${mirror}/fedora/40/repodata/repomd.xml</url>`;
  return `<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic" generator="mirrormanager" xmlns:mm0="http://fedorahosted.org/mirrormanager">
 <files>
  <file name="repomd.xml">
   <size>${Buffer.byteLength(REPOMD)}</size>
   <verification><hash type="sha256">${sha256}</hash></verification>
   <resources>${url('mirror-a', 100)}${url('mirror-b', 90)}</resources>
  </file>
 </files>
</metalink>
`;
}

/** The FTP and SSH login of the docs (created on this machine: the tests run as root). */
/** The first line of a block that is a test file: its tests are collected with these. */
const TEST_FILE = /^\/\/ \S+\.test\.ts\n/;

const MIRROR_USER = { name: 'dlmirror', password: 'docs-mirror-password' };

interface Block {
  readonly file: string;
  readonly line: number;
  readonly lang: string;
  readonly marker: string | undefined;
  readonly code: string;
}

async function markdownFiles(): Promise<string[]> {
  const files = ['README.md'];
  for (const dir of ['packages', 'examples']) {
    for (const name of (await readdir(join(root, dir))).sort()) {
      const readme = join(dir, name, 'README.md');
      if (
        await readFile(join(root, readme)).then(
          () => true,
          () => false,
        )
      )
        files.push(readme);
    }
  }
  for (const name of (await readdir(join(root, 'docs'))).sort()) {
    if (name.endsWith('.md')) files.push(join('docs', name));
  }
  return files;
}

function blocksOf(file: string, text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i] ?? '');
    if (!open) continue;
    const end = lines.findIndex((line, j) => j > i && line.startsWith('```'));
    if (end === -1) throw new Error(`${file}:${i + 1}: unclosed code block`);
    let before = i - 1;
    while (before >= 0 && lines[before]?.trim() === '') before--;
    const marker = /^<!--\s*(.*?)\s*-->$/.exec(lines[before]?.trim() ?? '')?.[1];
    blocks.push({
      file,
      line: i + 1,
      lang: open[1] ?? '',
      marker,
      code: lines.slice(i + 1, end).join('\n') + '\n',
    });
    i = end;
  }
  return blocks;
}

/** Why `block` may not be a fragment, or `undefined` when it may. */
function fragmentProblem(block: Block): string | undefined {
  switch (block.lang) {
    case 'sh':
    case 'text':
    case 'jsonl':
      return undefined;
    case 'json':
      try {
        JSON.parse(block.code);
        return undefined;
      } catch (error) {
        return `its JSON does not parse (${String(error)})`;
      }
    case 'ts':
      return signaturesOnly(block.code)
        ? undefined
        : 'a ts fragment holds signatures only (interface members, or interface, type and declare declarations); code that runs must run';
    case '':
      return 'give it a language (text for a diagram)';
    default:
      return `a \`${block.lang}\` block cannot be a fragment (sh, json, jsonl, text, or ts signatures)`;
  }
}

function parses(code: string): ts.SourceFile | undefined {
  const file = ts.createSourceFile('fragment.ts', code, ts.ScriptTarget.Latest, true);
  const diagnostics = (file as unknown as { parseDiagnostics: readonly unknown[] })
    .parseDiagnostics;
  return diagnostics.length === 0 ? file : undefined;
}

function signaturesOnly(code: string): boolean {
  const asMembers = parses(`interface Fragment {\n${code}\n}\n`);
  if (asMembers !== undefined) return true;
  const file = parses(code);
  return (
    file !== undefined &&
    file.statements.length > 0 &&
    file.statements.every(
      (statement) =>
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        (ts.isFunctionDeclaration(statement) && statement.body === undefined) ||
        (ts.canHaveModifiers(statement) &&
          (ts.getModifiers(statement) ?? []).some((m) => m.kind === ts.SyntaxKind.DeclareKeyword)),
    )
  );
}

const files = await markdownFiles();
const all = await Promise.all(
  files.map(async (file) => blocksOf(file, await readFile(join(root, file), 'utf8'))),
);
const runnable = all.flat().filter((block) => block.marker === undefined);
const named = (placeholder: string) => runnable.some((block) => block.code.includes(placeholder));

let repo: HttpFixture;
let vsftpd: RunningVsftpd | undefined;
let sshd: RunningSshd | undefined;
let redis: RunningRedis | undefined;
let secrets: string;

beforeAll(async () => {
  secrets = await mkdtemp(join(tmpdir(), 'dl-docs-secrets-'));
  const daemonFiles = named('ftp://mirror.example') || named('sftp://mirror.example');
  [repo, vsftpd, sshd, redis] = await Promise.all([
    startHttpFixture(),
    named('ftp://mirror.example')
      ? startVsftpd({
          user: MIRROR_USER,
          tls: 'explicit',
          // TLS offered, not forced: the mirror list example reads it anonymously in plain FTP.
          config: {
            force_local_logins_ssl: false,
            force_local_data_ssl: false,
            force_anon_logins_ssl: false,
            force_anon_data_ssl: false,
          },
        })
      : undefined,
    named('sftp://mirror.example') ? startSshd({ user: MIRROR_USER }) : undefined,
    named('redis://queue.example') ? startRedis() : undefined,
  ]);
  for (const [path, text] of Object.entries(repository)) repo.put(path, Buffer.from(text));
  repo.put('/metalink', Buffer.from(metalink(repo.origin)));
  if (daemonFiles) {
    for (const [path, text] of Object.entries(mirrorFiles)) {
      for (const base of [vsftpd?.root, sshd?.root]) {
        if (base === undefined) continue;
        await mkdir(dirname(join(base, path)), { recursive: true });
        await writeFile(join(base, path), text);
      }
    }
  }
  await writeFile(join(secrets, 'mirror-ca.pem'), vsftpd?.ca ?? '');
  await writeFile(join(secrets, 'known_hosts'), `${sshd?.knownHostsLine ?? ''}\n`);
  await writeFile(join(secrets, 'id_ed25519'), sshd?.privateKey ?? '', { mode: 0o600 });
  await writeFile(join(secrets, 'token'), 'token-from-a-file\n', { mode: 0o600 });
  Object.assign(process.env, {
    REPO_TOKEN: 'token-for-the-doc-tests',
    REPO_PASSWORD: 'password-for-the-doc-tests',
    GHCR_TOKEN: 'ghcr-token-for-the-doc-tests',
    FTP_PASSWORD: MIRROR_USER.password,
  });
  await mkdir(blocksDir, { recursive: true });
});
afterAll(async () => {
  await Promise.all([repo?.stop(), vsftpd?.stop(), sshd?.stop(), redis?.stop()]);
  await rm(blocksDir, { recursive: true, force: true });
  if (secrets !== undefined) await rm(secrets, { recursive: true, force: true });
});

/** The block as it runs here: the placeholders replaced by the loopback servers. */
function localize(code: string, srv: string): string {
  const daemon = (scheme: string, d: { host: string; port: number } | undefined, path = '') =>
    d === undefined ? `${scheme}://mirror.example` : `${scheme}://${d.host}:${d.port}${path}`;
  return code
    .replaceAll('https://repo.example', repo.origin)
    .replaceAll('sftp://mirror.example', daemon('sftp', sshd, sshd?.root))
    .replaceAll('ftp://mirror.example', daemon('ftp', vsftpd))
    .replaceAll(
      'redis://queue.example',
      redis === undefined ? 'redis://queue.example' : `redis://${redis.host}:${redis.port}`,
    )
    .replaceAll('/etc/dl/', `${secrets}/`)
    .replaceAll('/run/secrets/', `${secrets}/`)
    .replaceAll('/srv/', `${srv}/`)
    .replaceAll('listen(8080', 'listen(0');
}

describe.each(files.map((file, i) => [file, all[i] ?? []] as const))('%s', (file, blocks) => {
  let srv: string;
  beforeAll(async () => {
    srv = await mkdtemp(join(tmpdir(), 'dl-docs-'));
  });
  afterAll(async () => {
    await rm(srv, { recursive: true, force: true });
  });

  for (const block of blocks) {
    const where = `${file}:${block.line}`;
    if (block.marker === 'fragment') {
      it(`${where} is a ${block.lang || 'language-less'} fragment`, () => {
        expect(fragmentProblem(block), `${where}: not a fragment`).toBeUndefined();
      });
      continue;
    }
    const from = /^from:\s*(\S+)$/.exec(block.marker ?? '')?.[1];
    if (from !== undefined) {
      it(`${where} is an excerpt of ${from}`, async () => {
        const source = await readFile(join(root, from), 'utf8');
        expect(source.includes(block.code), `${where} must appear verbatim in ${from}`).toBe(true);
      });
      continue;
    }
    if (block.marker === undefined && block.lang === 'ts' && TEST_FILE.test(block.code)) {
      // A test file (`// name.test.ts` on its first line): its tests are this suite's.
      describe(`${where} is a test file`, async () => {
        await mkdir(blocksDir, { recursive: true });
        const path = join(
          blocksDir,
          `${file.replaceAll(/[^A-Za-z0-9]+/g, '-')}-${block.line}.test.ts`,
        );
        await writeFile(path, block.code);
        await import(pathToFileURL(path).href);
      });
      continue;
    }
    it(`${where} runs`, async () => {
      expect(
        block.marker,
        `${where}: unknown marker (a block is run, <!-- fragment --> or <!-- from: path -->)`,
      ).toBeUndefined();
      if (!['js', 'ts'].includes(block.lang)) {
        throw new Error(
          `${where}: a \`${block.lang}\` block must be marked <!-- fragment --> or be a js/ts block that runs`,
        );
      }
      const code = localize(block.code, srv);
      const name = `${file.replaceAll(/[^A-Za-z0-9]+/g, '-')}-${block.line}.${block.lang === 'js' ? 'mjs' : 'ts'}`;
      const path = join(blocksDir, name);
      await writeFile(path, code);
      if (block.lang === 'js') {
        const check = spawnSync(process.execPath, ['--check', path], { encoding: 'utf8' });
        expect(check.stderr, `${where} is JavaScript that Node ${process.version} parses`).toBe('');
      }
      const exitCode = process.exitCode;
      try {
        const module = (await import(pathToFileURL(path).href)) as {
          server?: Server;
          catalog?: Map<string, { url: string }>;
        };
        if (module.server !== undefined) await streamerCheck(module.server, module.catalog);
        expect(process.exitCode ?? 0, `${where} set process.exitCode`).toBe(exitCode ?? 0);
      } finally {
        process.exitCode = exitCode;
      }
    });
  }
});

async function streamerCheck(
  server: Server,
  catalog: Map<string, { url: string }> | undefined,
): Promise<void> {
  try {
    if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    expect(catalog?.size ?? 0, 'a streamer block exports a non-empty catalog').toBeGreaterThan(0);
    for (const [path, unit] of catalog ?? []) {
      const response = await fetch(`http://127.0.0.1:${port}${path}`);
      expect(response.status, `GET ${path} from the streamer`).toBe(200);
      const want = repo.get(new URL(unit.url).pathname);
      expect(Buffer.from(await response.arrayBuffer())).toEqual(Buffer.from(want ?? []));
    }
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

it('finds the docs', () => {
  expect(files.map((file) => relative(root, join(root, file)))).toContain('README.md');
});

it('knows every fragment rule it enforces', () => {
  const block = (lang: string, code: string): Block => ({
    file: 'x.md',
    line: 1,
    lang,
    marker: 'fragment',
    code,
  });
  expect(
    fragmentProblem(block('ts', 'open(session: S, request: OpenRequest): Promise<R>;\n')),
  ).toBeUndefined();
  expect(fragmentProblem(block('ts', 'type A = { b: string };\n'))).toBeUndefined();
  expect(
    fragmentProblem(block('ts', 'const a = await factory.download(request);\n')),
  ).toBeDefined();
  expect(fragmentProblem(block('js', 'f();\n'))).toBeDefined();
  expect(fragmentProblem(block('json', '{ "a": \n'))).toBeDefined();
  expect(fragmentProblem(block('', 'a -> b\n'))).toBeDefined();
});
