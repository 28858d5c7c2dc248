import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createDownloaderFactory,
  DownloadError,
  fileAdapter,
  type DownloadOutcome,
  type DownloaderFactory,
} from '@dl/core';
import { http } from '@dl/http';
import {
  MirrorListError,
  metalinkRequests,
  mirrors,
  parseMetalink,
  type MirrorListProblem,
} from '@dl/mirrorlist';
import {
  activeResources,
  capturingLogger,
  generatedContent,
  resourceGrowth,
  startHttpFixture,
  waitFor,
  type HttpFixture,
} from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines, runDl } from './support/run-dl.js';
import { filesUnder, sha256 } from './support/tree.js';

/** Never printed, logged or put in an error, whichever document or entry carries it. */
const SECRET = 'Lister-pw-4Vx9';
const ENTRY_SECRET = 'Entry-pw-7Qz2';
const SIZE = 20_000;

const metalink = (files: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<metalink xmlns="urn:ietf:params:xml:ns:metalink">\n${files}\n</metalink>\n`;

describe('hostile mirror lists and metalinks', () => {
  let web: HttpFixture;
  let dir: string;
  const data = generatedContent('/pub/a.bin', SIZE);
  const digest = sha256(data);
  /** The documents' URL carries credentials: they must never show. */
  const doc = (name: string) => `http://lister:${SECRET}@127.0.0.1:${web.port}/docs/${name}`;

  beforeAll(async () => {
    web = await startHttpFixture();
    web.put('/pub/a.bin', data);
    dir = await mkdtemp(join(tmpdir(), 'dl-hostile-lists-'));
    // A local file a hostile list would like us to read.
    await writeFile(
      join(dir, 'a.bin'),
      'trap: a local file, never to be served from a remote list',
    );
    const put = (name: string, text: string) => web.put(`/docs/${name}`, Buffer.from(text));
    const good = `http://127.0.0.1:${web.port}/pub/`;

    put('good.list', `# a fine list\n${good}\n`);
    // Billion laughs: ten levels of ten.
    const levels = Array.from(
      { length: 10 },
      (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`,
    ).join('');
    put(
      'laughs.meta4',
      `<?xml version="1.0"?>\n<!DOCTYPE metalink [<!ENTITY l0 "lol">${levels}]>\n${metalink('<file name="a.bin"><url>&l10;</url></file>')}`,
    );
    put(
      'xxe.meta4',
      `<?xml version="1.0"?>\n<!DOCTYPE metalink [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n${metalink('<file name="a.bin"><url>http://h/&x;</url></file>')}`,
    );
    put('broken.meta4', metalink(`<file name="a.bin">\n<url>${good}a.bin</url>\n</metalink>`));
    put('not-xml.meta4', '<html><body>502 Bad Gateway</body></html>');
    put(
      'huge.meta4',
      metalink(
        `<file name="a.bin"><url>${good}a.bin</url></file>\n<!-- ${'x'.repeat(5 * 1024 * 1024)} -->`,
      ),
    );
    put('deep.meta4', metalink(`${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}`));
    put(
      'traversal.meta4',
      metalink(`<file name="../../etc/cron.d/dl"><url>${good}a.bin</url></file>`),
    );
    put('nul.meta4', metalink(`<file name="a&#0;b"><url>${good}a.bin</url></file>`));
    put(
      'bad-hash.meta4',
      metalink(`<file name="a.bin"><hash type="sha-256">xyz</hash><url>${good}a.bin</url></file>`),
    );
    put(
      'bad-size.meta4',
      metalink(`<file name="a.bin"><size>-1</size><url>${good}a.bin</url></file>`),
    );
    put('file-only.list', `file://${dir}/\nfile:///etc/\n`);
    put('mirror-loop.list', 'mirror://good/\n');
    put('garbage.list', '\u0000\u0001\u0002 binary \uFFFD garbage\n  \n# nothing else\n');
    // What a proxy or a captive portal answers with status 200 instead of the list.
    put(
      'error-page.list',
      '<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body>\n<h1>Bad Gateway</h1>\n</body></html>\n',
    );
    // file: and a mirror: loop first, then entries with credentials: only the last may be used, without them.
    put(
      'mixed.list',
      `file://${dir}/\nmirror://good/\nhtp://u:${ENTRY_SECRET}@127.0.0.1/\nhttp://u:${ENTRY_SECRET}@exa mple/\nhttp://u:${ENTRY_SECRET}@127.0.0.1:${web.port}/pub/\n`,
    );
    put(
      'metalink-file.meta4',
      metalink(
        `<file name="a.bin"><size>${SIZE}</size><hash type="sha-256">${digest}</hash><url priority="1">file://${dir}/a.bin</url><url priority="2">http://u:${ENTRY_SECRET}@127.0.0.1:${web.port}/pub/a.bin</url></file>`,
      ),
    );
    // The same, as text: not sniffed as XML, so read as a plain list.
    put(
      'text-error.list',
      'Service temporarily unavailable\n<p>Try again later.</p>\n</body></html>\n',
    );
    // An endless document: refused once it passes the limit, its connection freed.
    web.route('/docs/endless.list', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const line = Buffer.from(`${good}\n`.repeat(1000));
      const pump = () => {
        while (!res.destroyed && res.write(line));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
  });

  afterAll(async () => {
    await web?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Everything an error shows anywhere. */
  const everything = (error: DownloadError) =>
    [error.message, JSON.stringify(error), error.stack, String(error.cause)].join('\n');

  it('each hostile document fails its own downloads with a typed error naming it; the good set in the same batch is unaffected', async () => {
    const baseline = activeResources();
    const log = capturingLogger();
    const cases: Record<string, MirrorListProblem | 'ok'> = {
      'good.list': 'ok',
      'mixed.list': 'ok',
      'metalink-file.meta4': 'ok',
      'laughs.meta4': 'dtd-forbidden',
      'xxe.meta4': 'dtd-forbidden',
      'broken.meta4': 'xml-syntax',
      'not-xml.meta4': 'not-metalink',
      'huge.meta4': 'too-large',
      'deep.meta4': 'too-large',
      'traversal.meta4': 'unsafe-name',
      // XML 1.0 cannot even carry a NUL: the document is not well-formed.
      'nul.meta4': 'xml-syntax',
      'bad-hash.meta4': 'bad-hash',
      'bad-size.meta4': 'bad-size',
      'file-only.list': 'no-mirrors',
      'mirror-loop.list': 'no-mirrors',
      'garbage.list': 'no-mirrors',
      'endless.list': 'too-large',
    };
    const names = Object.keys(cases);
    const setOf = (name: string) => name.replace(/\W/g, '-');
    const factory: DownloaderFactory = createDownloaderFactory({
      // file: is served, so a list that could reach local files would.
      adapters: [http(), fileAdapter()],
      interceptors: [
        mirrors({
          sets: Object.fromEntries(names.map((name) => [setOf(name), { list: doc(name) }])),
        }),
      ],
      retry: { maxAttempts: 2, baseDelayMs: 5 },
      logger: log,
    });
    const started = Date.now();
    const outcomes = new Map<string, DownloadOutcome<string>>();
    try {
      for await (const outcome of factory.downloadAll(
        names.map((name) => ({
          url: `mirror://${setOf(name)}/a.bin`,
          destination: join(dir, 'out', `${setOf(name)}.bin`),
          size: SIZE,
          digests: { sha256: digest },
          context: name,
        })),
      )) {
        outcomes.set(outcome.context, outcome);
      }
    } finally {
      await factory.close();
    }
    // Entity expansion, a 5 MB and an endless document cost neither time nor memory.
    expect(Date.now() - started).toBeLessThan(10_000);

    for (const name of names) {
      const outcome = outcomes.get(name)!;
      const want = cases[name]!;
      if (want === 'ok') {
        expect(outcome.ok, `${name}: ${outcome.ok ? '' : outcome.error.message}`).toBe(true);
        if (outcome.ok) {
          expect(outcome.result.url).toBe(`http://127.0.0.1:${web.port}/pub/a.bin`);
          expect(sha256(await readFile(outcome.result.path!))).toBe(digest);
        }
        continue;
      }
      expect(outcome.ok, name).toBe(false);
      if (outcome.ok) continue;
      const error = outcome.error;
      expect(MirrorListError.isInstance(error), `${name}: ${error.code} ${error.message}`).toBe(
        true,
      );
      expect((error as MirrorListError).problem, `${name}: ${error.message}`).toBe(want);
      expect(error.retryable).toBe(false);
      // Names the culprit: the document, without its credentials.
      expect(error.message, name).toContain(`127.0.0.1:${web.port}/docs/${name}`);
      expect(everything(error)).not.toContain(SECRET);
      expect(everything(error)).not.toContain(ENTRY_SECRET);
      expect(everything(error)).not.toMatch(/root:x:0:0/);
    }
    expect(log.lines.join('\n')).not.toContain(SECRET);
    expect(log.lines.join('\n')).not.toContain(ENTRY_SECRET);
    // Nothing of the endless document (or any other) stays open.
    await waitFor(() => web.stats().connections === 0 && web.stats().requests === 0, 5000);
    await waitFor(() => resourceGrowth(baseline).length === 0, {
      message: () => resourceGrowth(baseline).join(', '),
    });
    expect((await filesUnder(join(dir, 'out'))).sort()).toEqual(
      ['good-list.bin', 'metalink-file-meta4.bin', 'mixed-list.bin'].sort(),
    );
  });

  it('a mirror list that is an HTML error page is refused, not turned into relative mirrors', async () => {
    const factory = createDownloaderFactory({
      adapters: [http()],
      interceptors: [mirrors({ sets: { page: { list: doc('error-page.list') } } })],
      retry: { maxAttempts: 1 },
    });
    try {
      const error = await factory.download({ url: 'mirror://page/a.bin' }).then(
        () => undefined,
        (e: unknown) => e as DownloadError,
      );
      expect(error?.code).toBe('mirrorlist-invalid');
      // Sniffed as XML (it starts with `<`): its DOCTYPE is refused before anything else.
      expect((error as MirrorListError).problem).toBe('dtd-forbidden');
      expect(error!.message).toContain('error-page.list');
      // None of the page's lines became a mirror that was asked for the file.
      expect(
        web.requests().filter((r) => r.path.endsWith('/a.bin') && r.path.startsWith('/docs/')),
      ).toEqual([]);
    } finally {
      await factory.close();
    }
  });

  it('a mirror list that is a plain-text error page is refused (no-mirrors), its markup not taken for relative mirrors', async () => {
    const factory = createDownloaderFactory({
      adapters: [http()],
      interceptors: [mirrors({ sets: { page: { list: doc('text-error.list') } } })],
      retry: { maxAttempts: 1 },
    });
    try {
      const error = await factory.download({ url: 'mirror://page/a.bin' }).then(
        () => undefined,
        (e: unknown) => e as DownloadError,
      );
      // parseMirrorList's contract: "a list with no usable line at all (an HTML error page, say) is a MirrorListError".
      expect(error?.code, error?.message).toBe('mirrorlist-invalid');
      expect((error as MirrorListError).problem).toBe('no-mirrors');
      expect(error!.message).toContain('text-error.list');
    } finally {
      await factory.close();
    }
  });

  it('parseMetalink and metalinkRequests refuse names that would leave the folder, whatever their form', () => {
    const names = [
      '../x',
      'a/../../x',
      '/etc/passwd',
      'a/./b',
      'a//b',
      'C:\\Windows\\x',
      'a\\..\\..\\x',
      'dir/',
      'a\u0001b',
    ];
    for (const name of names) {
      const text = metalink(
        `<file name="${name.replace(/&/g, '&amp;').replaceAll('\u0001', '&#1;')}"><url>http://127.0.0.1/x</url></file>`,
      );
      let error: unknown;
      try {
        const parsed = parseMetalink(text, { source: 'hostile.meta4' });
        metalinkRequests(parsed, { directory: dir });
      } catch (e) {
        error = e;
      }
      expect(MirrorListError.isInstance(error), `${JSON.stringify(name)}: ${String(error)}`).toBe(
        true,
      );
      expect((error as MirrorListError).problem).toBe('unsafe-name');
      expect((error as MirrorListError).message).toContain('hostile.meta4');
    }
  });

  it('dl get --metalink: a hostile metalink is refused with a clear message (exit 2); file: entries of a good one are never used', async () => {
    const refused = await runDl(['get', '--metalink', doc('traversal.meta4'), '-o', 'out-cli'], {
      cwd: dir,
    });
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(/--metalink.*\.\.\/\.\.\/etc\/cron\.d\/dl/);
    expect(`${refused.stdout}${refused.stderr}`).not.toContain(SECRET);
    expect(await filesUnder(join(dir, 'out-cli'))).toEqual([]);

    const laughs = await runDl(['get', '--metalink', doc('laughs.meta4'), '-o', 'out-cli'], {
      cwd: dir,
    });
    expect(laughs.code).toBe(2);
    expect(laughs.stderr).toMatch(/DOCTYPE/);

    const good = await runDl(
      ['get', '--metalink', doc('metalink-file.meta4'), '-o', 'out-cli', '--json'],
      { cwd: dir },
    );
    expect(good.code, good.stderr).toBe(0);
    const { records, warnings } = jsonLines(good.stdout);
    // The refused file: entry is reported once, as a warning line (not a file's record).
    expect(warnings).toEqual([
      expect.objectContaining({
        code: 'mirror-entries-refused',
        set: 'metalink',
        count: 1,
        refused: [expect.objectContaining({ entry: expect.stringMatching(/^file:/) })],
      }),
    ]);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ ok: true, url: expect.stringMatching(/^mirror:|^http:/) });
    expect(sha256(await readFile(join(dir, 'out-cli', 'a.bin')))).toBe(digest);
    expect(`${good.stdout}${good.stderr}`).not.toContain(SECRET);
    expect(`${good.stdout}${good.stderr}`).not.toContain(ENTRY_SECRET);
  });

  it('dl get --mirrorlist: an entry list of file: and mirror: entries is refused, naming the list', async () => {
    const run = await runDl(
      ['get', '--mirrorlist', doc('file-only.list'), 'a.bin', '-o', 'out-list'],
      { cwd: dir },
    );
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/file-only\.list/);
    expect(run.stderr).toMatch(/file: scheme is not allowed/);
    expect(run.stderr).not.toContain(SECRET);
    expect(await filesUnder(join(dir, 'out-list'))).toEqual([]);
    // The trap was not copied from the local folder.
    await expect(readFile(join(dir, 'out-list', 'a.bin'))).rejects.toThrow(/ENOENT/);
  });
});
