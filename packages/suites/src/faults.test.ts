import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import {
  createDownloaderFactory,
  ErrorCodes,
  type DownloadRequest,
  type ErrorCode,
} from '@dl/core';
import { mirrors } from '@dl/mirrorlist';
import {
  activeResources,
  generatedContent,
  resourceGrowth,
  startFaultProxy,
  waitFor,
  type FaultKind,
  type FaultProxy,
  type FaultSchedule,
  seededRandom,
} from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchDestinations, type ExpectedFile } from './support/destination-watcher.js';
import { IDLE_MS, PROTOCOLS, startSites, type Protocol, type Sites } from './support/sites.js';
import { sha256, sha256OfFile, tempFilesUnder } from './support/tree.js';

/** 2,000 downloads in all. */
const FILES: Record<Protocol, number> = { http: 700, ftp: 650, sftp: 650 };
/** A corrupted byte rules a mirror out for that file: four keep the odds of running out negligible. */
const MIRRORS = 4;
/** Stalls outlast every idle timeout, so the client gives up and retries. */
const STALL_MS = 4 * IDLE_MS;

/**
 * Per protocol, the faults of each proxy. The mean gap is in server→client
 * bytes: files average 12 KiB, so roughly one attempt in ten meets a fault.
 * FTP control connections carry few bytes: a smaller gap still hits them.
 */
function schedule(protocol: Protocol): FaultSchedule {
  const kinds = { reset: 1, truncate: 1, corrupt: 1, stall: 0.3 };
  const random = { meanBytesBetweenFaults: 120_000, kinds, stallMs: STALL_MS };
  if (protocol !== 'ftp') return { random };
  return {
    random: { meanBytesBetweenFaults: 15_000, kinds, stallMs: STALL_MS },
    dataRandom: random,
  };
}

interface Entry {
  readonly protocol: Protocol;
  readonly path: string;
  readonly destination: string;
  readonly data: Uint8Array;
  readonly sha256: string;
}

describe('the fault suite: 2,000 downloads over HTTP, FTP and SFTP through fault-injecting proxies', () => {
  let sites: Sites;
  let dir: string;
  const entries: Entry[] = [];
  /** HTTP paths answered with 503 or 429 first, and how many times. */
  const bursts = new Map<string, number>();

  beforeAll(async () => {
    sites = await startSites(MIRRORS, (protocol) => schedule(protocol));
    dir = await mkdtemp(join(tmpdir(), 'dl-faults-'));
    const random = seededRandom(7);
    for (const protocol of PROTOCOLS) {
      await mkdir(join(dir, protocol));
      for (let i = 0; i < FILES[protocol]; i++) {
        const path = `${protocol}/${i}.bin`;
        const data = generatedContent(`/${path}`, 1024 + Math.floor(random() * 23 * 1024));
        await sites.site[protocol].put(path, data);
        // Bursts of 503 and 429 with Retry-After, from the HTTP server itself, whichever mirror asks.
        if (protocol === 'http' && i % 10 === 0) {
          sites.web.fault(`/pub/${path}`, { status: 503, retryAfter: 1, times: 3 });
          bursts.set(`/pub/${path}`, 3);
        } else if (protocol === 'http' && i % 10 === 5) {
          sites.web.fault(`/pub/${path}`, { status: 429, retryAfter: 2, times: 2 });
          bursts.set(`/pub/${path}`, 2);
        }
        entries.push({
          protocol,
          path,
          destination: join(dir, protocol, `${i}.bin`),
          data,
          sha256: sha256(data),
        });
      }
    }
  });

  afterAll(async () => {
    await sites?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('every file arrives valid; nothing corrupt or partial is ever visible; no temp file, socket or handle is left', async () => {
    const expected = new Map<string, ExpectedFile>(
      entries.map((e) => [e.destination, { size: e.data.length, sha256: e.sha256 }]),
    );
    const baseline = activeResources();
    const watcher = watchDestinations(
      PROTOCOLS.map((p) => join(dir, p)),
      expected,
    );
    const factory = createDownloaderFactory({
      adapters: sites.adapters(),
      interceptors: [
        mirrors({
          sets: Object.fromEntries(
            PROTOCOLS.map((p) => [p, { mirrors: [...sites.site[p].bases] }]),
          ),
          strategy: 'spread',
          cooldownMs: 50,
          maxCooldownMs: 500,
          badBytesCooldownMs: 500,
        }),
      ],
      limits: { total: 36, perHost: 4 },
      retry: { maxAttempts: 30, baseDelayMs: 5, maxDelayMs: 100 },
    });
    const started = Date.now();
    const failures: string[] = [];
    let ok = 0;
    let retried = 0;
    const requests = function* (): Iterable<DownloadRequest<Entry>> {
      // Interleaved, so the three protocols run side by side.
      const byProtocol = PROTOCOLS.map((p) => entries.filter((e) => e.protocol === p));
      for (let i = 0; i < Math.max(...Object.values(FILES)); i++) {
        for (const list of byProtocol) {
          const e = list[i];
          if (e === undefined) continue;
          yield {
            url: `mirror://${e.protocol}/${e.path}`,
            destination: e.destination,
            size: e.data.length,
            digests: { sha256: e.sha256 },
            context: e,
          };
        }
      }
    };
    try {
      for await (const outcome of factory.downloadAll(requests())) {
        if (outcome.ok) {
          ok++;
          if (outcome.result.attempts > 1) retried++;
        } else {
          failures.push(`${outcome.context.path}: ${outcome.error.code} ${outcome.error.message}`);
        }
      }
    } finally {
      await factory.close();
      watcher.close();
    }
    const seconds = (Date.now() - started) / 1000;

    expect(failures.slice(0, 10), `${failures.length} failed`).toEqual([]);
    expect(ok).toBe(entries.length);
    expect(watcher.violations).toEqual([]);
    expect(watcher.seen).toBe(entries.length);
    for (const e of entries) {
      expect(await sha256OfFile(e.destination), e.destination).toBe(e.sha256);
    }
    expect(await tempFilesUnder(dir)).toEqual([]);

    // The faults happened: every kind on every protocol, and downloads had to retry.
    const summary: string[] = [];
    for (const protocol of PROTOCOLS) {
      const byKind = { reset: 0, stall: 0, truncate: 0, corrupt: 0 };
      for (const proxy of sites.site[protocol].proxies) {
        for (const [kind, n] of Object.entries(proxy.stats().faultsByKind)) {
          byKind[kind as keyof typeof byKind] += n;
        }
      }
      summary.push(`${protocol} ${JSON.stringify(byKind)}`);
      expect(byKind.reset, `${protocol} resets`).toBeGreaterThan(0);
      expect(byKind.truncate, `${protocol} truncations`).toBeGreaterThan(0);
      expect(byKind.corrupt, `${protocol} corruptions`).toBeGreaterThan(0);
      expect(byKind.stall, `${protocol} stalls`).toBeGreaterThan(0);
    }
    expect(retried).toBeGreaterThan(50);
    // Every burst was served in full, then the file came.
    const asked = new Map<string, number>();
    for (const r of sites.web.requests()) asked.set(r.path, (asked.get(r.path) ?? 0) + 1);
    expect(bursts.size).toBe(140);
    for (const [path, times] of bursts) expect(asked.get(path), path).toBeGreaterThan(times);
    console.info(
      `fault suite: ${ok} files in ${seconds.toFixed(1)} s, ${retried} retried; faults ${summary.join('; ')}`,
    );

    // Nothing left open: neither here, nor in the proxies, nor on the servers' side.
    const proxies = PROTOCOLS.flatMap((p) => sites.site[p].proxies);
    await waitFor(
      () =>
        proxies.every((p) => p.stats().open === 0 && p.stats().dataPorts === 0) &&
        PROTOCOLS.every((p) => sites.site[p].serverConnections() === 0),
      {
        timeoutMs: 10_000,
        message: () =>
          `still open: proxies ${proxies.map((p) => `${p.stats().open}/${p.stats().dataPorts}`).join(' ')}; servers ${PROTOCOLS.map((p) => `${p} ${sites.site[p].serverConnections()}`).join(', ')}`,
      },
    );
    await waitFor(() => resourceGrowth(baseline).length === 0, {
      timeoutMs: 5000,
      message: () => `resources left: ${resourceGrowth(baseline).join(', ')}`,
    });
  });
  it('one source and nothing expected: a cut, reset, stalled or corrupted transfer is an error, never a committed file', async () => {
    const size = 300_000;
    const data = generatedContent('/single.bin', size);
    const digest = sha256(data);
    for (const protocol of PROTOCOLS) await sites.site[protocol].put('single.bin', data);
    type Case = { protocol: Protocol; kind: FaultKind; at: number; proxy: FaultProxy };
    const cases: Case[] = [];
    for (const protocol of PROTOCOLS) {
      const site = sites.site[protocol];
      const target = new URL(site.directBase);
      const plan: [FaultKind, number][] = [
        ...[0, 1, 100, 5000, 70_000, size - 1].flatMap((at): [FaultKind, number][] => [
          ['truncate', at],
          ['reset', at],
        ]),
        ['stall', 5000],
        ['corrupt', 5000],
        ['corrupt', size - 1],
      ];
      for (const [kind, at] of plan) {
        const proxy = await startFaultProxy({
          target: { host: target.hostname, port: Number(target.port) },
          ftp: protocol === 'ftp',
          rules: [{ kind, at, channel: protocol === 'ftp' ? 'data' : 'main', stallMs: STALL_MS }],
        });
        cases.push({ protocol, kind, at, proxy });
      }
    }
    const out = join(dir, 'single');
    const factory = createDownloaderFactory({
      adapters: sites.adapters(),
      limits: { total: 64, perHost: 1 },
      retry: { maxAttempts: 1 },
    });
    const problems: string[] = [];
    try {
      const requests = cases.map((c, i): DownloadRequest<Case> => {
        const base = sites.site[c.protocol].bases[0]!.replace(
          `:${sites.site[c.protocol].proxies[0]!.port}/`,
          `:${c.proxy.port}/`,
        );
        return {
          url: `${base}single.bin`,
          destination: join(out, `${i}.bin`),
          // Only a corrupted byte needs a digest to be found out; nothing else is expected.
          ...(c.kind === 'corrupt' ? { digests: { sha256: digest } } : {}),
          context: c,
        };
      });
      const transient: readonly ErrorCode[] = [
        ErrorCodes.ConnectionFailed,
        ErrorCodes.ProtocolError,
        ErrorCodes.Timeout,
      ];
      for await (const outcome of factory.downloadAll(requests)) {
        const c = outcome.context;
        const name = `${c.protocol} ${c.kind} at ${c.at}`;
        if (outcome.ok) {
          // A fault past the last byte may leave a whole, valid file; anything else is a bug.
          const file = await readFile(outcome.result.path!);
          if (sha256(file) !== digest)
            problems.push(`${name}: committed ${file.length} wrong bytes`);
          continue;
        }
        const { code, retryable } = outcome.error;
        const wanted =
          c.kind === 'corrupt'
            ? c.protocol === 'sftp'
              ? [ErrorCodes.ConnectionFailed] // SSH's MAC catches it first
              : [ErrorCodes.DigestMismatch]
            : transient;
        if (!wanted.includes(code)) problems.push(`${name}: ${code} ${outcome.error.message}`);
        if (c.kind !== 'corrupt' && !retryable) problems.push(`${name}: ${code} not retryable`);
        const left = await readFile(outcome.request.destination!).catch(() => undefined);
        if (left !== undefined)
          problems.push(`${name}: failed, yet ${left.length} bytes at the destination`);
      }
    } finally {
      await factory.close();
      await Promise.all(cases.map((c) => c.proxy.stop()));
    }
    expect(problems).toEqual([]);
    expect(cases.every((c) => c.proxy.stats().faults === 1)).toBe(true);
    expect(await tempFilesUnder(out)).toEqual([]);
  });
});
