import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  DownloadError,
  ErrorCodes,
  createDownloaderFactory,
  fileAdapter,
  rebuildDownloaderFactory,
  type DownloaderFactory,
} from '@dl/core';
import { http } from '@dl/http';
import {
  activeResources,
  freePort,
  resourceGrowth,
  startHttpFixture,
  waitFor,
  type HttpFixture,
  seededRandom,
} from '@dl/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MirrorListError, mirrors, type MirrorsOptions } from './index.js';
import { hashes, metalink3, metalink4 } from './test-support/documents.js';
import { content, rejection, tempDir } from './test-support/mirror-fixtures.js';

const fast = { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 40 };

let a: HttpFixture;
let b: HttpFixture;
let c: HttpFixture;
let dead: string;
let factory: DownloaderFactory | undefined;
let dir: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  [a, b, c] = await Promise.all([startHttpFixture(), startHttpFixture(), startHttpFixture()]);
  // Nothing listens there: connections are refused.
  dead = `http://127.0.0.1:${await freePort()}/repo/`;
  dir = await tempDir();
});

afterAll(async () => {
  await Promise.all([a.stop(), b.stop(), c.stop()]);
  await dir.remove();
});

beforeEach(() => {
  for (const f of [a, b, c]) {
    f.clearFaults();
    f.clearRequests();
  }
});

afterEach(async () => {
  await factory?.close();
  factory = undefined;
});

function build(
  options: MirrorsOptions,
  extra: { file?: boolean; perHost?: number; total?: number } = {},
) {
  factory = createDownloaderFactory({
    adapters: extra.file ? [http(), fileAdapter()] : [http()],
    interceptors: [mirrors(options)],
    retry: fast,
    limits: { total: extra.total ?? 8, perHost: extra.perHost ?? 4 },
  });
  return factory;
}

const hits = (fixture: HttpFixture, path: string) =>
  fixture.requests().filter((r) => r.path.split('?')[0] === path).length;

function serve(path: string, data: Uint8Array, ...fixtures: HttpFixture[]) {
  for (const fixture of fixtures) fixture.put(path, data);
}

describe('failover across HTTP mirrors', () => {
  it('a dead first mirror: the file comes from the next one in the same attempt', async () => {
    const file = content(20_000);
    serve('/repo/dead/f.bin', file.data, b);
    const f = build({ sets: { repo: { mirrors: [dead, b.url('/repo/')] } } });
    const result = await f.download({
      url: 'mirror://repo/dead/f.bin',
      destination: join(dir.path, 'dead.bin'),
      digests: { sha256: file.sha256 },
    });
    expect(result.url).toBe(b.url('/repo/dead/f.bin'));
    expect(result.attempts).toBe(1);
    expect(result.digests.sha256).toBe(file.sha256);
    expect(await readFile(join(dir.path, 'dead.bin'))).toEqual(file.data);
  });

  it('a mirror serving stale 404s: the file comes from another mirror, the stale one is asked once', async () => {
    const file = content(10_000);
    serve('/repo/new/f.bin', file.data, b);
    const f = build({ sets: { repo: { mirrors: [a.url('/repo/'), b.url('/repo/')] } } });
    const result = await f.download({ url: 'mirror://repo/new/f.bin', size: file.data.length });
    expect(result.url).toBe(b.url('/repo/new/f.bin'));
    expect(result.attempts).toBe(1);
    expect(hits(a, '/repo/new/f.bin')).toBe(1);
  });

  it('a request for a URL under an inline mirror is served through the set', async () => {
    const file = content(5_000);
    serve('/repo/direct/f.bin', file.data, b);
    const f = build({ sets: { repo: { mirrors: [a.url('/repo/'), b.url('/repo/')] } } });
    const result = await f.download({ url: a.url('/repo/direct/f.bin') });
    expect(result.url).toBe(b.url('/repo/direct/f.bin'));
    expect(hits(a, '/repo/direct/f.bin')).toBe(1);
  });

  it('a mirror serving corrupted bytes: failover, then a cool-down keeps it out', async () => {
    const files = [content(30_000), content(30_000)];
    files.forEach((file, i) => serve(`/repo/bad/${i}.bin`, file.data, a, b));
    a.fault('/repo/bad/0.bin', { corruptAt: 1_000, times: 1 });
    const f = build({ sets: { repo: { mirrors: [a.url('/repo/'), b.url('/repo/')] } } });
    const first = await f.download({
      url: 'mirror://repo/bad/0.bin',
      destination: join(dir.path, 'bad0.bin'),
      digests: { sha256: files[0]!.sha256 },
    });
    expect(first.url).toBe(b.url('/repo/bad/0.bin'));
    expect(first.attempts).toBe(2);
    expect(await readFile(join(dir.path, 'bad0.bin'))).toEqual(files[0]!.data);

    // Cooling down: a is listed first and serves 1.bin fine, yet it is not asked at all.
    for (let i = 0; i < 3; i++) {
      const next = await f.download({
        url: 'mirror://repo/bad/1.bin',
        digests: { sha256: files[1]!.sha256 },
      });
      expect(next.url).toBe(b.url('/repo/bad/1.bin'));
    }
    expect(hits(a, '/repo/bad/1.bin')).toBe(0);
  });

  it('a mirror that served bad bytes cools down alone, even when a good mirror shares its host and port', async () => {
    const files = Array.from({ length: 30 }, () => content(2_000));
    files.forEach((file, i) => {
      // The stale mirror has other bytes under the same names.
      a.put(`/stale/same/${i}.bin`, content(2_000).data);
      a.put(`/good/same/${i}.bin`, file.data);
    });
    c.put('/same-host-list', Buffer.from(`${a.url('/stale/')}\n${a.url('/good/')}\n`));
    const f = build({ sets: { repo: { list: c.url('/same-host-list') } } });
    for (const [i, file] of files.entries()) {
      const result = await f.download({
        url: `mirror://repo/same/${i}.bin`,
        digests: { sha256: file.sha256 },
      });
      expect(result.url).toBe(a.url(`/good/same/${i}.bin`));
    }
    const gets = (prefix: string) =>
      a.requests().filter((r) => r.method === 'GET' && r.path.startsWith(prefix)).length;
    expect(gets('/stale/')).toBe(1);
    expect(gets('/good/')).toBe(30);
  });

  it('once its cool-down is over, a mirror that served bad bytes is first again', async () => {
    const file = content(20_000);
    serve('/repo/cool/0.bin', file.data, a, b);
    serve('/repo/cool/1.bin', file.data, a, b);
    a.fault('/repo/cool/0.bin', { corruptAt: 10, times: 1 });
    const f = build({
      sets: { repo: { mirrors: [a.url('/repo/'), b.url('/repo/')] } },
      badBytesCooldownMs: 50,
    });
    const first = await f.download({
      url: 'mirror://repo/cool/0.bin',
      digests: { sha256: file.sha256 },
    });
    expect(first.url).toBe(b.url('/repo/cool/0.bin'));
    await new Promise((r) => setTimeout(r, 120));
    const later = await f.download({
      url: 'mirror://repo/cool/1.bin',
      digests: { sha256: file.sha256 },
    });
    expect(later.url).toBe(a.url('/repo/cool/1.bin'));
  });

  it('a mirror cut mid-file: the rest is resumed from another mirror at the offset reached, digest right', async () => {
    const file = content(300_000);
    serve('/repo/cut/big.bin', file.data, a, b);
    a.fault('/repo/cut/big.bin', { resetAfter: 120_000, times: Infinity });
    const f = build({ sets: { repo: { mirrors: [a.url('/repo/'), b.url('/repo/')] } } });
    const result = await f.download({
      url: 'mirror://repo/cut/big.bin',
      destination: join(dir.path, 'cut.bin'),
      digests: { sha256: file.sha256 },
    });
    expect(result.url).toBe(b.url('/repo/cut/big.bin'));
    expect(result.attempts).toBe(2);
    expect(result.resumedBytes).toBeGreaterThan(0);
    const ranged = b.requests().find((r) => r.path === '/repo/cut/big.bin');
    expect(ranged?.headers.range).toBe(`bytes=${result.resumedBytes}-`);
    // Another mirror's validators mean nothing here: no If-Range carried over.
    expect(ranged?.headers['if-range']).toBeUndefined();
    expect(result.digests.sha256).toBe(file.sha256);
    expect(await readFile(join(dir.path, 'cut.bin'))).toEqual(file.data);
  });

  it('without an expected digest a cut file starts over on the other mirror (no unverifiable splice)', async () => {
    const file = content(200_000);
    serve('/repo/cut/plain.bin', file.data, a, b);
    a.fault('/repo/cut/plain.bin', { resetAfter: 50_000, times: Infinity });
    const f = build({ sets: { repo: { mirrors: [a.url('/repo/'), b.url('/repo/')] } } });
    const result = await f.download({
      url: 'mirror://repo/cut/plain.bin',
      computeDigests: ['sha256'],
    });
    expect(result.url).toBe(b.url('/repo/cut/plain.bin'));
    expect(result.resumedBytes).toBe(0);
    expect(
      b.requests().find((r) => r.path === '/repo/cut/plain.bin')?.headers.range,
    ).toBeUndefined();
    expect(result.digests.sha256).toBe(content.length >= 0 ? hashes(file.data).sha256 : '');
  });

  it('every mirror failing: all-sources-failed lists each mirror tried and its error code; nothing written', async () => {
    const file = content(8_000);
    serve('/repo/none/f.bin', file.data, c);
    c.fault('/repo/none/f.bin', { corruptAt: 10, times: Infinity });
    b.fault('/repo/none/f.bin', { status: 503, times: Infinity });
    const f = build({
      sets: { repo: { mirrors: [dead, a.url('/repo/'), b.url('/repo/'), c.url('/repo/')] } },
    });
    const destination = join(dir.path, 'none.bin');
    const error = (await rejection(
      f.download({
        url: 'mirror://repo/none/f.bin',
        destination,
        digests: { sha256: file.sha256 },
      }),
    )) as DownloadError;
    expect(DownloadError.isInstance(error)).toBe(true);
    expect(error.code).toBe(ErrorCodes.AllSourcesFailed);
    const attempts = error.details.attempts as { url: string; code: string }[];
    const codes = new Map(attempts.map((x) => [x.url, x.code]));
    expect(codes.get(`${dead}none/f.bin`)).toBe('connection-failed');
    expect(codes.get(a.url('/repo/none/f.bin'))).toBe('not-found');
    expect(codes.get(b.url('/repo/none/f.bin'))).toBe('remote-unavailable');
    expect(codes.get(c.url('/repo/none/f.bin'))).toBe('digest-mismatch');
    for (const [url, code] of codes) expect(error.message).toContain(`${url} (${code}`);
    expect(existsSync(destination)).toBe(false);
  });

  it('mirrors cut mid-file until the retry budget is spent: the error still lists each mirror', async () => {
    const file = content(200_000);
    serve('/repo/cuts/f.bin', file.data, a, b);
    a.fault('/repo/cuts/f.bin', { resetAfter: 40_000, times: Infinity });
    b.fault('/repo/cuts/f.bin', { resetAfter: 40_000, times: Infinity });
    factory = createDownloaderFactory({
      adapters: [http()],
      interceptors: [mirrors({ sets: { repo: { mirrors: [a.url('/repo/'), b.url('/repo/')] } } })],
      retry: { ...fast, maxAttempts: 3 },
    });
    const error = (await rejection(
      factory.download({ url: 'mirror://repo/cuts/f.bin', digests: { sha256: file.sha256 } }),
    )) as DownloadError;
    expect(error.code).toBe(ErrorCodes.AllSourcesFailed);
    expect(error.retryable).toBe(false);
    const attempts = error.details.attempts as { url: string; code: string; attempt: number }[];
    expect(attempts.map((x) => x.attempt)).toEqual([1, 2, 3]);
    expect(new Set(attempts.map((x) => x.url))).toEqual(
      new Set([a.url('/repo/cuts/f.bin'), b.url('/repo/cuts/f.bin')]),
    );
    expect(error.message).toContain('ran out');
  });

  it('bad bytes found on the last attempt: the error still lists each mirror, not only the last one', async () => {
    const file = content(50_000);
    serve('/repo/bad/f.bin', file.data, a, b);
    a.fault('/repo/bad/f.bin', { corruptAt: 30_000, times: Infinity });
    b.fault('/repo/bad/f.bin', { corruptAt: 30_000, times: Infinity });
    factory = createDownloaderFactory({
      adapters: [http()],
      interceptors: [mirrors({ sets: { repo: { mirrors: [a.url('/repo/'), b.url('/repo/')] } } })],
      retry: { ...fast, maxAttempts: 2 },
    });
    const error = (await rejection(
      factory.download({ url: 'mirror://repo/bad/f.bin', digests: { sha256: file.sha256 } }),
    )) as DownloadError;
    expect(error.code).toBe(ErrorCodes.AllSourcesFailed);
    const attempts = error.details.attempts as { url: string; code: string }[];
    expect(attempts.map((x) => x.code)).toEqual(['digest-mismatch', 'digest-mismatch']);
    expect(new Set(attempts.map((x) => x.url))).toEqual(
      new Set([a.url('/repo/bad/f.bin'), b.url('/repo/bad/f.bin')]),
    );
  });

  it('credentials of the request never travel to another mirror', async () => {
    const file = content(2_000);
    serve('/repo/auth/f.bin', file.data, b);
    const f = build({ sets: { repo: { mirrors: [a.url('/repo/'), b.url('/repo/')] } } });
    const withUser = a.url('/repo/auth/f.bin').replace('http://', 'http://alice:s3cret@');
    const result = await f.download({
      url: withUser,
      headers: { authorization: 'Bearer tok-123', 'x-keep': 'yes' },
    });
    expect(result.url).toBe(b.url('/repo/auth/f.bin'));
    const toA = a.requests().find((r) => r.path === '/repo/auth/f.bin');
    const toB = b.requests().find((r) => r.path === '/repo/auth/f.bin');
    expect(toA?.headers.authorization).toBeDefined();
    expect(toB?.headers.authorization).toBeUndefined();
    expect(toB?.headers['x-keep']).toBe('yes');
  });

  it('per-mirror connection limits are respected (counted by the servers)', async () => {
    const file = content(4_000);
    for (let i = 0; i < 8; i++) serve(`/repo/lim/${i}.bin`, file.data, a, b);
    for (let i = 0; i < 8; i++) {
      a.fault(`/repo/lim/${i}.bin`, { stallMs: 40 });
      b.fault(`/repo/lim/${i}.bin`, { stallMs: 40 });
    }
    a.resetPeak();
    b.resetPeak();
    const f = build({
      sets: { repo: { mirrors: [a.url('/repo/'), b.url('/repo/')] } },
      maxConnectionsPerMirror: 1,
    });
    const requests = Array.from({ length: 8 }, (_, i) => ({ url: `mirror://repo/lim/${i}.bin` }));
    let ok = 0;
    for await (const outcome of f.downloadAll(requests)) if (outcome.ok) ok++;
    expect(ok).toBe(8);
    expect(a.stats().peakRequests).toBe(1);
    expect(b.stats().peakRequests).toBe(1);
    expect(hits(a, '/repo/lim/0.bin') + hits(b, '/repo/lim/0.bin')).toBe(1);
  });
});

describe('streaming and cancellation', () => {
  it('the streamer opens a mirror:// URL: metadata of the mirror that serves, validated body', async () => {
    const file = content(40_000);
    serve('/repo/s/f.bin', file.data, b);
    const f = build({ sets: { repo: { mirrors: [dead, a.url('/repo/'), b.url('/repo/')] } } });
    const opened = await f.open({ url: 'mirror://repo/s/f.bin', digests: { sha256: file.sha256 } });
    expect(opened.metadata.url).toBe(b.url('/repo/s/f.bin'));
    expect(opened.metadata.size).toBe(file.data.length);
    const chunks: Uint8Array[] = [];
    for await (const chunk of opened.body) chunks.push(chunk);
    expect(Buffer.concat(chunks)).toEqual(file.data);
    expect((await opened.result).url).toBe(b.url('/repo/s/f.bin'));
  });

  it('aborting downloads (in flight and waiting for a mirror slot) frees every slot and socket', async () => {
    const file = content(100_000);
    for (let i = 0; i < 4; i++) {
      serve(`/repo/abort/${i}.bin`, file.data, a);
      a.fault(`/repo/abort/${i}.bin`, { stallMs: 5_000 });
    }
    serve('/repo/abort/after.bin', file.data, a);
    const f = build({
      sets: { repo: { mirrors: [a.url('/repo/')] } },
      maxConnectionsPerMirror: 1,
    });
    const baseline = activeResources();
    const controller = new AbortController();
    const running = Array.from({ length: 4 }, (_, i) =>
      rejection(f.download({ url: `mirror://repo/abort/${i}.bin` }, { signal: controller.signal })),
    );
    await waitFor(() => a.stats().requests === 1);
    controller.abort();
    for (const error of await Promise.all(running)) {
      expect((error as DownloadError).code).toBe(ErrorCodes.Aborted);
    }
    // One slot per mirror: a leaked slot would leave this waiting forever.
    const after = await f.download({ url: 'mirror://repo/abort/after.bin' });
    expect(after.size).toBe(file.data.length);
    await f.close();
    await waitFor(() => resourceGrowth(baseline, activeResources(), ['Timeout']).length === 0);
  });
});

describe('strategies', () => {
  const FILES = 40;

  async function share(strategy: 'failover' | 'spread'): Promise<{ slow: number; fast: number }> {
    const file = content(32_000);
    for (let i = 0; i < FILES; i++) {
      serve(`/repo/${strategy}/${i}.bin`, file.data, a, b);
      a.fault(`/repo/${strategy}/${i}.bin`, { stallMs: 120 });
    }
    const f = build(
      {
        sets: { repo: { mirrors: [a.url('/repo/'), b.url('/repo/')] } },
        strategy,
        random: seededRandom(7),
      },
      { total: 4 },
    );
    const requests = Array.from({ length: FILES }, (_, i) => ({
      url: `mirror://repo/${strategy}/${i}.bin`,
    }));
    for await (const outcome of f.downloadAll(requests)) expect(outcome.ok).toBe(true);
    const count = (fx: HttpFixture) =>
      fx.requests().filter((r) => r.path.startsWith(`/repo/${strategy}/`)).length;
    return { slow: count(a), fast: count(b) };
  }

  it('failover sends everything to the first healthy mirror, however slow', async () => {
    expect(await share('failover')).toEqual({ slow: FILES, fast: 0 });
  });

  it('spread moves the load away from a slow mirror without starving it', async () => {
    const { slow, fast } = await share('spread');
    expect(slow + fast).toBe(FILES);
    // The slow mirror is still probed now and then, but takes at most a quarter of the files.
    expect(slow).toBeGreaterThanOrEqual(1);
    expect(slow).toBeLessThanOrEqual(FILES / 4);
  });
});

describe('lists and metalinks fetched through the factory', () => {
  it('a plain mirror list over HTTP: fetched once, cached, refreshed after the TTL; file: entries from it refused', async () => {
    const file = content(3_000);
    serve('/repo/l/f.bin', file.data, b);
    const local = await tempDir();
    await writeFile(join(local.path, 'f.bin'), Buffer.from('local file that must not be read'));
    c.put(
      '/mirrorlist',
      Buffer.from(
        `# mirrors\n${pathToFileURL(local.path).href}/\n\n${a.url('/repo/')}\n${b.url('/repo/')}\n`,
      ),
    );
    const f = build({ sets: { repo: { list: c.url('/mirrorlist') } } }, { file: true });
    for (let i = 0; i < 3; i++) {
      const result = await f.download({ url: 'mirror://repo/l/f.bin' });
      expect(result.url).toBe(b.url('/repo/l/f.bin'));
    }
    expect(hits(c, '/mirrorlist')).toBe(1);
    await f.close();
    c.clearRequests();
    const shortLived = build(
      { sets: { repo: { list: c.url('/mirrorlist') } }, listTtlMs: 1 },
      { file: true },
    );
    await shortLived.download({ url: 'mirror://repo/l/f.bin' });
    await new Promise((r) => setTimeout(r, 5));
    await shortLived.download({ url: 'mirror://repo/l/f.bin' });
    expect(hits(c, '/mirrorlist')).toBe(2);
    await local.remove();
  });

  it('refused entries of a remote list are told to onRefused once per set, refreshes included', async () => {
    const file = content(3_000);
    serve('/repo/r/f.bin', file.data, b);
    const local = pathToFileURL(dir.path).href + '/';
    c.put('/refusing-list', Buffer.from(`${local}\n${b.url('/repo/')}\n`));
    const told: unknown[] = [];
    const interceptor = mirrors({
      sets: { repo: { list: c.url('/refusing-list') } },
      listTtlMs: 1,
      onRefused: (refusal) => told.push(refusal),
    });
    expect(JSON.stringify(interceptor)).not.toContain('onRefused');
    factory = createDownloaderFactory({
      adapters: [http(), fileAdapter()],
      interceptors: [interceptor],
      retry: fast,
    });
    for (let i = 0; i < 3; i++) {
      await factory.download({ url: 'mirror://repo/r/f.bin' });
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(hits(c, '/refusing-list')).toBe(3);
    expect(told).toEqual([
      {
        set: 'repo',
        list: c.url('/refusing-list'),
        count: 1,
        refused: [expect.objectContaining({ entry: local, line: 1 })],
      },
    ]);
  });

  it('a list the caller already fetched (provideList) is read instead of fetched again', async () => {
    const file = content(4_000);
    serve('/repo/p/f.bin', file.data, b);
    const text = `${b.url('/repo/')}\n`;
    c.put('/provided-list', Buffer.from(text));
    const interceptor = mirrors({ sets: { repo: { list: c.url('/provided-list') } } });
    interceptor.provideList('repo', text);
    expect(() => interceptor.provideList('other', text)).toThrow(/no mirror set "other"/);
    factory = createDownloaderFactory({ adapters: [http()], interceptors: [interceptor] });
    for (let i = 0; i < 2; i++) {
      const result = await factory.download({ url: 'mirror://repo/p/f.bin' });
      expect(result.url).toBe(b.url('/repo/p/f.bin'));
    }
    expect(hits(c, '/provided-list')).toBe(0);
  });

  it('file: entries of a remote list are used only when the caller allows them', async () => {
    const local = await tempDir();
    const data = Buffer.from('served from a local mirror');
    await writeFile(join(local.path, 'g.bin'), data);
    c.put('/filelist', Buffer.from(`${pathToFileURL(local.path).href}/\n`));
    const refused = build({ sets: { repo: { list: c.url('/filelist') } } }, { file: true });
    const error = (await rejection(
      refused.download({ url: 'mirror://repo/g.bin' }),
    )) as MirrorListError;
    expect(error.code).toBe('mirrorlist-invalid');
    expect(error.problem).toBe('no-mirrors');
    expect(error.message).toContain('file: scheme is not allowed');
    await refused.close();
    const allowed = build(
      { sets: { repo: { list: c.url('/filelist') } }, allowedSchemes: ['http', 'file'] },
      { file: true },
    );
    const result = await allowed.download({
      url: 'mirror://repo/g.bin',
      computeDigests: ['sha256'],
    });
    expect(result.digests.sha256).toBe(hashes(data).sha256);
    await local.remove();
  });

  it('a Metalink 4: its size and every hash join validation (a wrong sha-1 fails even with a right sha-256)', async () => {
    const file = content(12_000);
    serve('/repo/m/f.bin', file.data, a, b);
    a.fault('/repo/m/f.bin', { corruptAt: 5, times: Infinity });
    const h = hashes(file.data);
    const urls = [
      { url: a.url('/repo/m/f.bin'), rank: 1 },
      { url: b.url('/repo/m/f.bin'), rank: 2 },
    ];
    c.put(
      '/good.meta4',
      Buffer.from(
        metalink4([
          { name: 'm/f.bin', size: file.data.length, hashes: { 'sha-256': h.sha256 }, urls },
        ]),
      ),
    );
    c.put(
      '/lying.meta4',
      Buffer.from(
        metalink4([
          { name: 'm/f.bin', hashes: { 'sha-256': h.sha256, 'sha-1': '0'.repeat(40) }, urls },
        ]),
      ),
    );
    const f = build({
      sets: { good: { list: c.url('/good.meta4') }, lying: { list: c.url('/lying.meta4') } },
    });
    // No digest in the request: the metalink's sha-256 catches a's corrupt bytes.
    const result = await f.download({ url: 'mirror://good/m/f.bin' });
    expect(result.url).toBe(b.url('/repo/m/f.bin'));
    expect(result.digests.sha256).toBe(h.sha256);

    const error = (await rejection(f.download({ url: 'mirror://lying/m/f.bin' }))) as DownloadError;
    expect(error.code).toBe(ErrorCodes.AllSourcesFailed);
    expect(
      (error.details.attempts as { code: string }[]).every((x) => x.code === 'digest-mismatch'),
    ).toBe(true);
  });

  it('metalink hashes are checked even when the first attempt reached no mirror', async () => {
    const file = content(6_000);
    const corrupt = Buffer.from(file.data);
    corrupt[3] = corrupt[3]! ^ 0xff;
    // Both answer 503 first; then a serves corrupt bytes and b the right ones.
    const flaky = (fixture: HttpFixture, body: Buffer) => {
      let calls = 0;
      fixture.route('/repo/late/f.bin', (_req, res) => {
        calls++;
        res.writeHead(calls === 1 ? 503 : 200, {
          'content-length': String(calls === 1 ? 0 : body.length),
        });
        res.end(calls === 1 ? undefined : body);
      });
    };
    flaky(a, corrupt);
    flaky(b, file.data);
    c.put(
      '/late.meta4',
      Buffer.from(
        metalink4([
          {
            name: 'late/f.bin',
            hashes: { 'sha-256': hashes(file.data).sha256 },
            urls: [
              { url: a.url('/repo/late/f.bin'), rank: 1 },
              { url: b.url('/repo/late/f.bin'), rank: 2 },
            ],
          },
        ]),
      ),
    );
    const f = build({ sets: { late: { list: c.url('/late.meta4') } } });
    const result = await f.download({
      url: 'mirror://late/late/f.bin',
      computeDigests: ['sha256'],
    });
    expect(result.url).toBe(b.url('/repo/late/f.bin'));
    expect(result.attempts).toBe(3);
    expect(result.digests.sha256).toBe(file.sha256);
  });

  it('a Metalink 3 from MirrorManager: bases derived from repodata/repomd.xml, preference order, other files from the bases', async () => {
    const repomd = content(1_500);
    const pkg = content(9_000);
    serve('/f40/repodata/repomd.xml', repomd.data, a, b);
    serve('/f40/Packages/p.rpm', pkg.data, b);
    const h = hashes(repomd.data);
    c.put(
      '/metalink',
      Buffer.from(
        metalink3([
          {
            name: 'repomd.xml',
            size: repomd.data.length,
            hashes: { md5: h.md5, sha1: h.sha1, sha256: h.sha256, sha512: h.sha512 },
            urls: [
              { url: a.url('/f40/repodata/repomd.xml'), rank: 10 },
              { url: b.url('/f40/repodata/repomd.xml'), rank: 0 },
            ],
          },
        ]),
      ),
    );
    const f = build({
      sets: {
        fedora: {
          list: `${c.url('/metalink')}?repo=fedora-40&arch=x86_64`,
          metalinkPath: 'repodata/repomd.xml',
        },
      },
    });
    const md = await f.download({ url: 'mirror://fedora/repodata/repomd.xml' });
    // preference 100 (b) beats preference 90 (a).
    expect(md.url).toBe(b.url('/f40/repodata/repomd.xml'));
    expect(md.digests).toMatchObject({
      md5: h.md5,
      sha1: h.sha1,
      sha256: h.sha256,
      sha512: h.sha512,
    });
    b.fault('/f40/Packages/p.rpm', { status: 404 });
    a.put('/f40/Packages/p.rpm', pkg.data);
    const p = await f.download({
      url: 'mirror://fedora/Packages/p.rpm',
      digests: { sha256: pkg.sha256 },
    });
    expect(p.url).toBe(a.url('/f40/Packages/p.rpm'));
  });

  it('hostile or broken documents fail the download with a clear typed error', async () => {
    c.put(
      '/laughs.meta4',
      Buffer.from(
        '<?xml version="1.0"?>\n<!DOCTYPE m [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>\n<metalink xmlns="urn:ietf:params:xml:ns:metalink"><file name="&b;"/></metalink>',
      ),
    );
    c.put(
      '/broken.meta4',
      Buffer.from(
        '<metalink xmlns="urn:ietf:params:xml:ns:metalink">\n<file name="a">\n</metalink>',
      ),
    );
    c.put(
      '/escape.meta4',
      Buffer.from(metalink4([{ name: '../../etc/cron.d/x', urls: [{ url: a.url('/x') }] }])),
    );
    c.route('/huge', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(Buffer.alloc(64 * 1024, 0x61));
    });
    const f = build({
      sets: {
        laughs: { list: c.url('/laughs.meta4') },
        broken: { list: c.url('/broken.meta4') },
        escape: { list: c.url('/escape.meta4') },
        huge: { list: c.url('/huge') },
      },
      maxDocumentBytes: 16 * 1024,
    });
    const expectations = [
      ['laughs', 'dtd-forbidden', /DOCTYPE.*line 2/],
      ['broken', 'xml-syntax', /not well-formed.*line \d+/],
      ['escape', 'unsafe-name', /"\.\.\/\.\.\/etc\/cron\.d\/x".*"\.\." segment/],
      ['huge', 'too-large', /larger than 16384 bytes/],
    ] as const;
    for (const [set, problem, message] of expectations) {
      const error = (await rejection(f.download({ url: `mirror://${set}/a` }))) as MirrorListError;
      expect(MirrorListError.isInstance(error), `${set}: ${String(error)}`).toBe(true);
      expect(error.problem).toBe(problem);
      expect(error.message).toMatch(message);
      expect(error.message).toContain(c.url(''));
    }
  });

  it('an unknown set name and a list that cannot be fetched are clear errors', async () => {
    const f = build({ sets: { repo: { list: c.url('/missing-list') } } });
    const unknown = (await rejection(f.download({ url: 'mirror://nope/a' }))) as DownloadError;
    expect(unknown.code).toBe(ErrorCodes.InvalidRequest);
    expect(unknown.message).toContain('"nope" (sets: repo)');
    const missing = (await rejection(f.download({ url: 'mirror://repo/a' }))) as DownloadError;
    expect(missing.code).toBe(ErrorCodes.NotFound);
    expect(missing.message).toContain('list of mirror set "repo" could not be fetched');
  });
});

describe('configuration', () => {
  it('toJSON writes plain data that rebuilds the same interceptor, credentials redacted', () => {
    const interceptor = mirrors({
      sets: {
        repo: {
          mirrors: ['http://u:pw@127.0.0.1:1/r/', { url: 'ftp://127.0.0.1:2/r/', priority: 3 }],
          list: 'http://127.0.0.1:3/ml',
        },
      },
      strategy: 'spread',
      random: Math.random,
    });
    expect(interceptor.schemes).toEqual(['mirror']);
    expect(interceptor.resume).toBe(true);
    const json = JSON.parse(JSON.stringify(interceptor.toJSON()));
    expect(json.type).toBe('mirrors');
    expect(JSON.stringify(json)).not.toContain('pw');
    expect(json.options.strategy).toBe('spread');
    const again = mirrors(json.options);
    expect(again.toJSON()).toEqual(json);
  });

  it('a factory with mirrors is handed over as JSON and rebuilt: the rebuilt one fails over the same way', async () => {
    const file = content(3_000);
    serve('/repo/handoff/f.bin', file.data, b);
    const original = build({
      sets: { repo: { mirrors: [dead, a.url('/repo/'), b.url('/repo/')] } },
      strategy: 'failover',
    });
    const text = JSON.stringify(original.toJSON());
    const rebuilt = rebuildDownloaderFactory(JSON.parse(text), {
      adapters: { http },
      interceptors: { mirrors },
    });
    try {
      const result = await rebuilt.download({
        url: 'mirror://repo/handoff/f.bin',
        digests: { sha256: file.sha256 },
      });
      expect(result.url).toBe(b.url('/repo/handoff/f.bin'));
    } finally {
      await rebuilt.close();
    }
  });

  it('bad options are invalid-request errors naming the option', () => {
    expect(() => mirrors({ sets: {} })).toThrow(/sets: name at least one/);
    expect(() => mirrors({ sets: { 'bad name': { mirrors: ['http://x/'] } } })).toThrow(
      /sets.bad name/,
    );
    expect(() => mirrors({ sets: { r: {} } })).toThrow(/give `mirrors`, a `list` URL, or both/);
    expect(() => mirrors({ sets: { r: { mirrors: ['not a url'] } } })).toThrow(
      /sets.r.mirrors\[0\]/,
    );
    expect(() => mirrors({ sets: { r: { mirrors: ['http://x/'] } }, cooldownMs: -1 })).toThrow(
      /cooldownMs/,
    );
  });
});
