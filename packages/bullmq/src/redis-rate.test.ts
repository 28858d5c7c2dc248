import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { DownloadError, type HostEvents } from '@dl/core';
import { startRedis, waitFor, type RunningRedis } from '@dl/testkit';
import { redisBudget } from './redis-budget.js';

const MEMBER = fileURLToPath(new URL('./test-support/fleet-member.mjs', import.meta.url));
const MiB = 1024 * 1024;
const BODY = Buffer.alloc(256 * 1024, 7);

interface Sample {
  readonly at: number;
  /** Requests in flight at this server right after this one arrived. */
  readonly inFlight: number;
}

/** Serves 256 KiB bodies (or `answer`'s), recording each arrival with the requests then in flight. */
async function startServer(
  answer?: (req: IncomingMessage, res: ServerResponse, index: number) => boolean,
  delayMs = 0,
) {
  const samples: Sample[] = [];
  let inFlight = 0;
  const server = createServer((req, res) => {
    inFlight++;
    samples.push({ at: Date.now(), inFlight });
    res.on('close', () => inFlight--);
    if (answer?.(req, res, samples.length - 1) === true) return;
    const send = () => res.writeHead(200, { 'content-length': String(BODY.length) }).end(BODY);
    if (delayMs > 0) setTimeout(send, delayMs);
    else send();
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${String(port)}`;
  return {
    samples,
    origin,
    urls: (n: number, tag: string) =>
      Array.from({ length: n }, (_, i) => `${origin}/${tag}/${String(i)}`),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Done {
  readonly origin: string;
  readonly bytes: number;
  readonly at: number;
}

interface Report {
  readonly ok: number;
  readonly failed: string[];
  readonly rateCalls: number;
  readonly done: Done[];
}

/** One fleet member as a child process (src/test-support/fleet-member.mjs); resolves with its report. */
function runMember(config: Record<string, unknown>): Promise<Report> {
  const child = spawn(process.execPath, [MEMBER, JSON.stringify(config)], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const done: Done[] = [];
  let final: Omit<Report, 'done'> | undefined;
  let buffer = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffer.slice(0, newline)) as Done &
        Omit<Report, 'done'> & {
          finished?: boolean;
        };
      buffer = buffer.slice(newline + 1);
      if (line.finished === true) final = line;
      else done.push({ origin: line.origin, bytes: line.bytes, at: line.at });
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (final !== undefined && code === 0) {
        resolve({ ok: final.ok, failed: final.failed, rateCalls: final.rateCalls, done });
      } else reject(new Error(`member exited ${String(code ?? signal)}: ${stderr}`));
    });
  });
}

/** Bytes per second to `origin`: from the first request it received to the last completion. */
function rateOf(reports: Report[], server: { origin: string; samples: Sample[] }) {
  const done = reports.flatMap((r) => r.done).filter((d) => d.origin === server.origin);
  const bytes = done.reduce((sum, d) => sum + d.bytes, 0);
  const ms = Math.max(...done.map((d) => d.at)) - server.samples[0]!.at;
  return { bytes, ms, rate: (bytes * 1000) / ms };
}

/** The most requests in flight at the server among those that arrived in [from, to). */
function peak(samples: Sample[], from: number, to: number): number {
  return Math.max(0, ...samples.filter((s) => s.at >= from && s.at < to).map((s) => s.inFlight));
}

describe('redisBudget bandwidth caps and adaptive limits across a fleet', () => {
  let redis: RunningRedis;
  let client: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
  }, 120_000);

  afterAll(async () => {
    await client?.quit();
    await redis?.stop();
  });

  it('holds a fleet-wide rate of 2 MiB/s within 10 % over 6 s: 3 processes, one host', async () => {
    const server = await startServer();
    try {
      const rate = 2 * MiB;
      const reports = await Promise.all(
        [0, 1, 2].map((member) =>
          runMember({
            redisUrl: redis.url,
            urls: server.urls(16, `r${String(member)}`),
            total: 8,
            perHost: 8,
            rate,
            member,
          }),
        ),
      );
      for (const report of reports) expect(report.failed).toEqual([]);
      const measured = rateOf(reports, server);
      const calls = reports.reduce((sum, r) => sum + r.rateCalls, 0);
      console.log(
        `fleet rate: ${(measured.bytes / MiB).toFixed(1)} MiB in ${String(measured.ms)} ms = ` +
          `${(measured.rate / MiB).toFixed(3)} MiB/s (cap 2), ${((measured.rate / rate - 1) * 100).toFixed(1)} %; ` +
          `${(calls / 3 / (measured.ms / 1000)).toFixed(1)} rate calls to Redis per process per second`,
      );
      expect(measured.bytes).toBe(48 * BODY.length);
      expect(measured.ms).toBeGreaterThanOrEqual(5_000);
      expect(measured.rate).toBeLessThanOrEqual(rate * 1.1);
      expect(measured.rate).toBeGreaterThanOrEqual(rate * 0.9);
    } finally {
      await server.close();
    }
  }, 40_000);

  it('holds a per-host rate of 1 MiB/s for each of two hosts within 10 %: 3 processes', async () => {
    const a = await startServer();
    const b = await startServer();
    try {
      const ratePerHost = MiB;
      const reports = await Promise.all(
        [0, 1, 2].map((member) => {
          const fromA = a.urls(8, `a${String(member)}`);
          const fromB = b.urls(8, `b${String(member)}`);
          return runMember({
            redisUrl: redis.url,
            urls: fromA.flatMap((url, i) => [url, fromB[i]]),
            total: 8,
            perHost: 4,
            ratePerHost,
            member,
          });
        }),
      );
      for (const report of reports) expect(report.failed).toEqual([]);
      for (const [name, server] of [
        ['a', a],
        ['b', b],
      ] as const) {
        const measured = rateOf(reports, server);
        console.log(
          `host ${name}: ${(measured.bytes / MiB).toFixed(1)} MiB in ${String(measured.ms)} ms = ` +
            `${(measured.rate / MiB).toFixed(3)} MiB/s (cap 1), ${((measured.rate / ratePerHost - 1) * 100).toFixed(1)} %`,
        );
        expect(measured.bytes).toBe(24 * BODY.length);
        expect(measured.ms).toBeGreaterThanOrEqual(5_000);
        expect(measured.rate).toBeLessThanOrEqual(ratePerHost * 1.1);
        expect(measured.rate).toBeGreaterThanOrEqual(ratePerHost * 0.9);
      }
    } finally {
      await a.close();
      await b.close();
    }
  }, 40_000);

  it('halves a host’s limit for the fleet after a 429 seen by one process, and climbs back +1 per quiet period', async () => {
    let throttledAt = 0;
    let throttledMember = '';
    const server = await startServer((req, res, index) => {
      if (index !== 60) return false;
      throttledAt = Date.now();
      throttledMember = String(req.headers['x-member']);
      res.writeHead(429, { 'retry-after': '1' }).end();
      return true;
    }, 40);
    try {
      const reports = await Promise.all(
        [0, 1, 2].map((member) =>
          runMember({
            redisUrl: redis.url,
            urls: server.urls(170, `t${String(member)}`),
            total: 8,
            perHost: 4,
            quietMs: 1_000,
            member,
            // Transfers counted fleet-wide: with connection leases, a transfer admitted before the
            // pause may still be waiting for a socket and start during it.
            lease: 'transfers',
          }),
        ),
      );
      for (const report of reports) expect(report.failed).toEqual([]);
      expect(throttledAt).toBeGreaterThan(0);
      const { samples } = server;
      const t = throttledAt;
      const windows = {
        before: peak(samples, t - 1_000, t),
        paused: samples.filter((s) => s.at > t + 150 && s.at < t + 950).length,
        quiet1: peak(samples, t + 1_150, t + 1_950),
        quiet2: peak(samples, t + 2_150, t + 2_950),
        after: peak(samples, t + 3_150, t + 4_000),
      };
      console.log(
        `429 to member ${throttledMember}; fleet-wide concurrency at the host: ${JSON.stringify(windows)}`,
      );
      expect(windows.before).toBe(4);
      expect(windows.paused).toBe(0);
      expect(windows.quiet1).toBe(2);
      expect(windows.quiet2).toBe(3);
      expect(windows.after).toBe(4);
      expect(samples.at(-1)!.at).toBeGreaterThan(t + 4_000);
    } finally {
      await server.close();
    }
  }, 40_000);

  it('reports host-throttled and host-recovered, lists the throttled host, and another process obeys the lowered limit', async () => {
    const events: { event: keyof HostEvents; payload: unknown; at: number }[] = [];
    const origin = 'http://aimd.example:80';
    const seen = redisBudget({ connection: redis.url, quietMs: 200, lease: 'transfers' })({
      total: 8,
      perHost: 4,
      limitFor: () => 4,
      report: (event, payload) => events.push({ event, payload, at: Date.now() }),
    });
    const other = redisBudget({
      connection: redis.url,
      quietMs: 200,
      pollMs: 20,
      lease: 'transfers',
    })({
      total: 8,
      perHost: 4,
      limitFor: () => 4,
    });
    try {
      const started = Date.now();
      seen.hostSignal!(origin, { kind: 'throttled', retryAfterMs: 300, reason: 'HTTP 429' });
      await waitFor(() => events.length === 1);
      expect(events[0]!.payload).toMatchObject({
        origin,
        limit: 2,
        configuredLimit: 4,
        reason: 'HTTP 429',
        pauseMs: 300,
        hinted: true,
      });
      expect(seen.throttledHosts!()).toEqual([
        expect.objectContaining({ origin, limit: 2, configuredLimit: 4, reason: 'HTTP 429' }),
      ]);
      expect(seen.throttledHosts!()[0]!.pausedUntil).toBeGreaterThan(Date.now());
      // A second signal during the pause is the same burst: no second halving.
      seen.hostSignal!(origin, { kind: 'throttled', retryAfterMs: 100, reason: 'HTTP 429' });
      await waitFor(() => events.length === 2);
      expect(events[1]!.payload).toMatchObject({ limit: 2 });
      // The other process: nothing during the pause, then 2, then 3, then 4.
      const granted: number[] = [];
      const permits = [1, 2, 3, 4].map(() =>
        other.acquire(origin).then((permit) => {
          granted.push(Date.now() - started);
          return permit;
        }),
      );
      await waitFor(() => granted.length === 2, { timeoutMs: 2_000 });
      expect(granted[0]).toBeGreaterThanOrEqual(280);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(granted).toHaveLength(2);
      expect(other.throttledHosts!()).toEqual([expect.objectContaining({ origin, limit: 2 })]);
      await waitFor(() => granted.length === 4, { timeoutMs: 2_000 });
      console.log(`grants after the 300 ms pause, quiet period 200 ms: ${granted.join(', ')} ms`);
      expect(granted[2]! - granted[0]!).toBeGreaterThanOrEqual(150);
      expect(granted[3]! - granted[2]!).toBeGreaterThanOrEqual(150);
      for (const permit of await Promise.all(permits)) permit.release();
      await waitFor(() => events.length === 3, { timeoutMs: 2_000 });
      expect(events[2]).toMatchObject({ event: 'host-recovered', payload: { origin, limit: 4 } });
      expect(events[2]!.at - started).toBeGreaterThanOrEqual(300 + 2 * 200);
      expect(seen.throttledHosts!()).toEqual([]);
      expect(other.throttledHosts!()).toEqual([]);
    } finally {
      await seen.close!();
      await other.close!();
    }
  });

  it('takeBytes: no promise while the grant covers the chunks; honours its signal', async () => {
    const budget = redisBudget({ connection: redis.url, prefix: 'take' })({
      total: 8,
      perHost: 4,
      limitFor: () => 4,
      rate: MiB,
    });
    const origin = 'http://take.example:80';
    const signal = new AbortController().signal;
    try {
      // The first chunk waits for the process's first grant (104,858 bytes: 100 ms at 1 MiB/s).
      const first = budget.takeBytes!(origin, 16_384, signal);
      expect(first).toBeInstanceOf(Promise);
      await first;
      for (let i = 0; i < 5; i++) expect(budget.takeBytes!(origin, 16_384, signal)).toBeUndefined();
      // Far beyond the grant: a wait of about a second, cut short by the signal.
      const controller = new AbortController();
      const waiting = budget.takeBytes!(origin, MiB, controller.signal);
      setTimeout(() => controller.abort(), 100);
      const started = Date.now();
      const error: unknown = await waiting?.catch((e: unknown) => e);
      expect(DownloadError.isInstance(error) && error.code).toBe('aborted');
      expect(Date.now() - started).toBeLessThan(500);
    } finally {
      await budget.close!();
    }
  });
});

describe('redisBudget bandwidth caps through a Redis outage', () => {
  it('takeBytes waits while Redis is away (never throws) and goes on when it is back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dl-redis-rate-'));
    let redis = await startRedis({ dir });
    const budget = redisBudget({ connection: redis.url })({
      total: 8,
      perHost: 4,
      limitFor: () => 4,
      ratePerHost: MiB,
    });
    const origin = 'http://outage.example:80';
    const signal = new AbortController().signal;
    try {
      await budget.takeBytes!(origin, 200_000, signal);
      const { port } = redis;
      await redis.stop();
      let settled: string | undefined;
      budget.takeBytes!(origin, 200_000, signal)!.then(
        () => (settled = 'resolved'),
        () => (settled = 'rejected'),
      );
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(settled).toBeUndefined();
      redis = await startRedis({ dir, port });
      await waitFor(() => settled !== undefined, { timeoutMs: 5_000 });
      expect(settled).toBe('resolved');
    } finally {
      await budget.close!();
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
