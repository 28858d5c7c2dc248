/**
 * Every code block of README.md, packages/*\/README.md, examples/*\/README.md
 * and docs/*.md, run or checked, so the docs cannot drift from the code.
 *
 * A fenced block with a language is, by what precedes it (the last non-blank
 * line before the fence):
 *
 * - `<!-- fragment -->`: not run. Only for shell commands, JSON and type
 *   signatures; keep these few.
 * - `<!-- untested: reason -->`: not run yet, and reported as a to-do with
 *   its reason. Work to do, not a category: each one is a block that still
 *   needs its own loopback server or surrounding code.
 * - `<!-- from: path/in/repo.ts -->`: an excerpt; it must appear verbatim in
 *   that file, which is compiled and tested on its own.
 * - nothing: run. A `js` block is first checked by this Node's own parser
 *   (`node --check`: what we show as JavaScript runs on the Node versions we
 *   support, e.g. no `await using` on Node 20), then every block (`js` or
 *   `ts`) is written to `.blocks/` here and imported through vitest, so
 *   `@dl/*` resolve to source without a build (see vitest.config.ts, which
 *   also maps the guide's `dl-adapter-data` to `examples/data-adapter`).
 *   The blocks of one file run in order and share one temp folder, so the
 *   importer's quick start can hand its configuration to the streamer's.
 *
 * What a block is given, instead of the Internet and `/srv`:
 *
 * - `https://repo.example` is replaced with the origin of a loopback HTTP
 *   fixture serving {@link REPOSITORY}, and `/srv/` with the file's temp
 *   folder; `listen(8080` becomes `listen(0`.
 * - `REPO_TOKEN` is set (the quick start's bearer token, by reference).
 *
 * A block fails by throwing or by setting `process.exitCode`. A block that
 * exports `server` (a listening `node:http` server) and `catalog` (a Map of
 * path to `{ url }`) is a streamer: every catalog path is requested from it
 * and must answer the upstream's bytes; then the server is closed.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startHttpFixture, type HttpFixture } from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const blocksDir = fileURLToPath(new URL('../.blocks/', import.meta.url));

/** What `https://repo.example` serves. */
const REPOSITORY: Record<string, string> = {
  '/pool/hello_1.0_all.deb': 'hello, world\n',
  '/pool/world_2.1_all.deb': 'the whole world, in one small file\n',
  '/Packages.gz': 'Package: hello\nVersion: 1.0\n',
};

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

const files = await markdownFiles();
const all = await Promise.all(
  files.map(async (file) => blocksOf(file, await readFile(join(root, file), 'utf8'))),
);

let repo: HttpFixture;
beforeAll(async () => {
  repo = await startHttpFixture();
  for (const [path, text] of Object.entries(REPOSITORY)) repo.put(path, Buffer.from(text));
  process.env['REPO_TOKEN'] = 'token-for-the-doc-tests';
  await mkdir(blocksDir, { recursive: true });
});
afterAll(async () => {
  await repo?.stop();
  await rm(blocksDir, { recursive: true, force: true });
});

describe.each(files.map((file, i) => [file, all[i] ?? []] as const))('%s', (file, blocks) => {
  let srv: string;
  beforeAll(async () => {
    srv = await mkdtemp(join(tmpdir(), 'dl-docs-'));
  });
  afterAll(async () => {
    await rm(srv, { recursive: true, force: true });
  });

  for (const block of blocks.filter((b) => b.lang !== '')) {
    const where = `${file}:${block.line}`;
    if (block.marker === 'fragment') {
      it.skip(`${where} (${block.lang} fragment)`, () => {});
      continue;
    }
    const untested = /^untested:\s*(.+)$/.exec(block.marker ?? '')?.[1];
    if (untested !== undefined) {
      it.todo(`${where} (${block.lang}, untested: ${untested})`);
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
    it(`${where} runs`, async () => {
      if (!['js', 'ts'].includes(block.lang)) {
        throw new Error(
          `${where}: a \`${block.lang}\` block must be marked <!-- fragment --> or be a js/ts block that runs`,
        );
      }
      const code = block.code
        .replaceAll('https://repo.example', repo.origin)
        .replaceAll('/srv/', `${srv}/`)
        .replaceAll('listen(8080', 'listen(0');
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
