import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createDownloaderFactory,
  DownloadError,
  ErrorCodes,
  type DownloadRequest,
  type DownloaderFactory,
} from '@dl/core';
import { ftp } from '@dl/ftp';
import { http } from '@dl/http';
import { sftp } from '@dl/sftp';
import {
  activeResources,
  generatedContent,
  resourceGrowth,
  startFaultProxy,
  startHttpFixture,
  startSshd,
  startVsftpd,
  waitFor,
  type FaultProxy,
  type HttpFixture,
  type ResourceCounts,
  type RunningSshd,
  type RunningVsftpd,
  seededRandom,
} from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchDestinations, type ExpectedFile } from './support/destination-watcher.js';
import { writeServed } from './support/served-files.js';
import { sha256, sha256OfFile, tempFilesUnder } from './support/tree.js';

const SIZE = 64 * 1024;
/** 500 transfers, all in flight at once. */
const COUNTS = { http: 350, ftp: 100, sftp: 50 } as const;
type Protocol = keyof typeof COUNTS;
const PROTOCOLS = Object.keys(COUNTS) as Protocol[];
/** Interrupted runs, alternately by the batch's signal and by `break`. */
const ROUNDS = 4;
/** Aborts of one request's own signal, spread over the interrupted runs. */
const REQUEST_ABORTS = 46;
/** The moments of a run start once 90 % of its transfers are in flight (or after MAX_RAMP_MS). */
const IN_FLIGHT = 0.9;
const MAX_RAMP_MS = 4000;
const STALL_MS = 2500;

interface Entry {
  readonly protocol: Protocol;
  readonly url: string;
  readonly destination: string;
  readonly sha256: string;
}

/**
 * Every transfer stalls once for STALL_MS after 16 KiB (the HTTP fixture's
 * own fault; a fault proxy for FTP data connections and SSH connections),
 * so all 500 overlap and are caught mid-body.
 */
describe('random aborts during 500 concurrent transfers', () => {
  let web: HttpFixture;
  let ftpd: RunningVsftpd;
  let sshd: RunningSshd;
  let ftpProxy: FaultProxy;
  let sftpProxy: FaultProxy;
  let dir: string;
  const entries: Entry[] = [];

  beforeAll(async () => {
    [web, ftpd, sshd] = await Promise.all([
      startHttpFixture(),
      startVsftpd({ passivePorts: 200 }),
      startSshd({ maxStartups: '200', maxSessions: 100 }),
    ]);
    const stall = { kind: 'stall', at: 16 * 1024, stallMs: STALL_MS } as const;
    ftpProxy = await startFaultProxy({
      target: { host: '127.0.0.1', port: ftpd.port },
      ftp: true,
      rules: [{ ...stall, channel: 'data' }],
    });
    // The SSH handshake comes first: 24 KiB is within the file.
    sftpProxy = await startFaultProxy({
      target: { host: '127.0.0.1', port: sshd.port },
      rules: [{ ...stall, at: 24 * 1024 }],
    });
    dir = await mkdtemp(join(tmpdir(), 'dl-aborts-'));
    for (const protocol of PROTOCOLS) {
      await mkdir(join(dir, protocol));
      for (let i = 0; i < COUNTS[protocol]; i++) {
        const path = `pub/${protocol}/${i}.bin`;
        const data = generatedContent(`/${path}`, SIZE);
        let url: string;
        if (protocol === 'http') {
          web.put(`/${path}`, data);
          web.fault(`/${path}`, { stallAfter: 16 * 1024, stallMs: STALL_MS, times: Infinity });
          url = web.url(`/${path}`);
        } else if (protocol === 'ftp') {
          await writeServed(ftpd.root, path, data);
          url = `ftp://127.0.0.1:${ftpProxy.port}/${path}`;
        } else {
          await writeServed(sshd.root, path, data);
          url = `sftp://127.0.0.1:${sftpProxy.port}${sshd.root}/${path}`;
        }
        const destination = join(dir, protocol, `${i}.bin`);
        entries.push({ protocol, url, destination, sha256: sha256(data) });
      }
    }
  });

  afterAll(async () => {
    await Promise.all([ftpProxy?.stop(), sftpProxy?.stop()]);
    await Promise.all([web?.stop(), ftpd?.stop(), sshd?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function factory(): DownloaderFactory {
    return createDownloaderFactory({
      adapters: [
        http({ timeouts: { idle: 5000, headers: 5000 } }),
        ftp({ timeoutMs: 5000, keepAliveIntervalMs: 0 }),
        sftp({
          username: sshd.username,
          privateKey: sshd.privateKey,
          hostFingerprints: { '127.0.0.1': sshd.hostKey.fingerprint },
          knownHosts: [],
          keepAliveIntervalMs: 2000,
        }),
      ],
      limits: { total: 500, perHost: 350 },
      retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 50 },
    });
  }

  /** Nothing of a closed factory is left: here, in the proxy, on the servers. */
  async function expectNothingLeft(baseline: ResourceCounts, when: string): Promise<void> {
    await waitFor(
      () =>
        web.stats().connections === 0 &&
        sftpProxy.stats().open === 0 &&
        ftpProxy.stats().open === 0 &&
        ftpProxy.stats().dataPorts === 0 &&
        sshd.connections() === 0 &&
        ftpd.connections() + ftpd.dataConnections() === 0,
      {
        timeoutMs: 10_000,
        intervalMs: 50,
        message: () =>
          `${when}: still open: http ${web.stats().connections}, ftp ${ftpd.connections()}+${ftpd.dataConnections()}, sftp ${sshd.connections()} (proxy ${sftpProxy.stats().open})`,
      },
    );
    await waitFor(() => resourceGrowth(baseline).length === 0, {
      timeoutMs: 5000,
      message: () => `${when}: resources left: ${resourceGrowth(baseline).join(', ')}`,
    });
  }

  const request = (e: Entry, signal?: AbortSignal): DownloadRequest<Entry> => ({
    url: e.url,
    destination: e.destination,
    size: SIZE,
    digests: { sha256: e.sha256 },
    ...(signal === undefined ? {} : { signal }),
    context: e,
  });

  it('50 aborts (request signals, batch signals, break) leak nothing and leave no temp file; a last run completes the rest', async () => {
    const random = seededRandom(2024);
    const done = new Set<string>();
    const expected = new Map<string, ExpectedFile>(
      entries.map((e) => [e.destination, { size: SIZE, sha256: e.sha256 }]),
    );
    const watcher = watchDestinations(
      PROTOCOLS.map((p) => join(dir, p)),
      expected,
    );
    const baseline = activeResources();
    let requestAborts = 0;
    const interruptions: { how: string; inFlight: number; of: number }[] = [];

    for (let round = 0; round < ROUNDS; round++) {
      const how = round % 2 === 0 ? 'signal' : 'break';
      const f = factory();
      const running = new Map<number, string>();
      f.on('download-start', (e) => running.set(e.id, e.destination ?? ''));
      f.on('download-end', (e) => running.delete(e.id));
      const controllers = new Map<string, AbortController>();
      const aborted = new Set<string>();
      const batch = new AbortController();
      let stopNow = false;

      // The moments: once the transfers are under way, seeded delays apart.
      const timers: NodeJS.Timeout[] = [];
      const moments = (async () => {
        const wanted = IN_FLIGHT * (entries.length - done.size);
        await waitFor(() => running.size >= wanted, MAX_RAMP_MS).catch(() => {});
        const share =
          Math.floor(REQUEST_ABORTS / ROUNDS) + (round < REQUEST_ABORTS % ROUNDS ? 1 : 0);
        const abortOne = () => {
          const candidates = [...running.values()].filter((d) => !aborted.has(d));
          const victim = candidates[Math.floor(random() * candidates.length)];
          if (victim === undefined) return;
          aborted.add(victim);
          requestAborts++;
          controllers.get(victim)?.abort(new Error('test abort'));
        };
        // `break` needs an outcome to break at: the round's last request abort brings one.
        const early = how === 'break' ? share - 1 : share;
        for (let i = 0; i < early; i++) timers.push(setTimeout(abortOne, random() * 600));
        timers.push(
          setTimeout(
            () => {
              interruptions.push({ how, inFlight: running.size, of: entries.length - done.size });
              if (how === 'signal') batch.abort(new Error('batch abort'));
              else {
                stopNow = true;
                abortOne();
              }
            },
            650 + random() * 500,
          ),
        );
      })();

      const requests = function* (): Iterable<DownloadRequest<Entry>> {
        for (const e of entries) {
          if (done.has(e.destination)) continue;
          const controller = new AbortController();
          controllers.set(e.destination, controller);
          yield request(e, controller.signal);
        }
      };
      let thrown: unknown;
      try {
        for await (const outcome of f.downloadAll(requests(), { signal: batch.signal })) {
          const e = outcome.context;
          if (outcome.ok) done.add(e.destination);
          else if (!aborted.has(e.destination) || outcome.error.code !== ErrorCodes.Aborted) {
            throw new Error(`${e.url}: ${outcome.error.code} ${outcome.error.message}`);
          }
          if (stopNow) break;
        }
      } catch (error) {
        thrown = error;
      } finally {
        await moments;
        for (const timer of timers) clearTimeout(timer);
      }
      const when = `run ${round + 1} (${how})`;
      // The loop statement completed: every temp file is already gone.
      expect(await tempFilesUnder(dir), when).toEqual([]);
      if (how === 'signal') {
        expect(DownloadError.isInstance(thrown), `${when}: ${String(thrown)}`).toBe(true);
        expect((thrown as DownloadError).code).toBe(ErrorCodes.Aborted);
      } else {
        expect(thrown, when).toBeUndefined();
      }
      await f.close();
      await expectNothingLeft(baseline, when);
    }

    // A last run completes what the interrupted ones left.
    const left = entries.filter((e) => !done.has(e.destination));
    const last = factory();
    const failures: string[] = [];
    for await (const outcome of last.downloadAll(left.map((e) => request(e)))) {
      if (outcome.ok) done.add(outcome.context.destination);
      else failures.push(`${outcome.context.url}: ${outcome.error.message}`);
    }
    await last.close();
    watcher.close();

    expect(failures).toEqual([]);
    expect(done.size).toBe(entries.length);
    expect(interruptions.length + requestAborts).toBe(ROUNDS + REQUEST_ABORTS);
    expect(interruptions.map((i) => i.how)).toEqual(['signal', 'break', 'signal', 'break']);
    // Interrupted while (nearly) every transfer of the run was in flight: 500 in the first.
    expect(interruptions[0]!.of).toBe(500);
    for (const { inFlight, of } of interruptions) expect(inFlight).toBeGreaterThanOrEqual(0.8 * of);
    expect(left.length).toBeGreaterThan(300);
    expect(watcher.violations).toEqual([]);
    for (const e of entries) expect(await sha256OfFile(e.destination)).toBe(e.sha256);
    expect(await tempFilesUnder(dir)).toEqual([]);
    await expectNothingLeft(baseline, 'after the last run');
  });
});
