import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { makeBigFile, makeFiles, writeLines } from './data.mjs';
import { measure, run } from './proc.mjs';
import { median } from './runner.mjs';

const MiB = 1024 * 1024;
/** Requests per second of the paced latency runs. */
const PACED_RATE = 500;

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function peakRssMb(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** True when this dl has the `serve` command. */
export async function hasServe(dlBin) {
  const help = await run(process.execPath, [dlBin, 'serve', '--help'], { allowFailure: true });
  return help.code === 0 && /Usage: dl serve/.test(help.stdout);
}

/**
 * S1: the streamer. One big file downloaded by one client (curl to
 * /dev/null) directly from nginx and through `dl serve` (which fetches it
 * from the same nginx), and `clients` concurrent clients fetching 16 KiB
 * files, both ways: rate ratio and the added median latency.
 */
export async function runServeBench(env) {
  const { dlBin, dlProblem, nginx, www, scratch, log, size, clients, quick, runs } = env;
  const base = {
    id: 'S1',
    title: `the streamer: dl serve in front of nginx — one ${size / MiB} MiB file, one client; ${clients} concurrent clients of 16 KiB files`,
    goals: [],
    notes: [],
    rows: [],
  };
  if (dlProblem) return { ...base, skipped: `dl not available: ${dlProblem}` };
  if (!(await hasServe(dlBin))) return { ...base, skipped: '`dl serve` not available yet' };

  const big = await makeBigFile(www, 's1/big.bin', size);
  const rounds = quick ? 5 : 20;
  const small = await makeFiles(www, 's1/small', clients * 2, 16 * 1024);
  const catalog = join(scratch, 's1-catalog.jsonl');
  await writeLines(
    catalog,
    [big, ...small].map((e) =>
      JSON.stringify({
        path: e.rel,
        url: nginx.url(e.rel),
        size: e.size,
        digests: { sha256: e.sha256 },
      }),
    ),
  );
  const pathsFile = join(scratch, 's1-paths.txt');
  await writeLines(
    pathsFile,
    small.map((e) => e.rel),
  );

  const { freePort } = env.testkit;
  const port = await freePort();
  const serve = spawn(
    process.execPath,
    [
      dlBin,
      'serve',
      '--catalog',
      catalog,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '-j',
      String(clients),
      '--per-host',
      String(clients),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  env.addCleanup?.(() => serve.kill('SIGKILL'));
  let serveErr = '';
  serve.stderr.on('data', (c) => (serveErr = (serveErr + c).slice(-4000)));
  try {
    const deadline = Date.now() + 15_000;
    while (!(await canConnect(port))) {
      if (serve.exitCode !== null || Date.now() > deadline) {
        return { ...base, skipped: `dl serve did not start: ${serveErr.trim().slice(-300)}` };
      }
      await sleep(50);
    }
    const viaServe = `http://127.0.0.1:${port}`;
    const direct = `http://127.0.0.1:${nginx.port}`;

    // One big file, one client. The bytes are checked once through dl serve
    // (curl | openssl dgst); the timed runs count bytes only, so that the
    // client's hashing does not take a core from the server on a 2-core box.
    const rate = { direct: [], serve: [] };
    const failures = { direct: 0, serve: 0 };
    const checked = await run(
      'bash',
      [
        '-c',
        `set -o pipefail; curl -sS --fail ${viaServe}/${big.rel} | openssl dgst -sha256 -r | grep -q ^${big.sha256}`,
      ],
      { allowFailure: true },
    );
    if (checked.code !== 0) failures.serve++;
    for (let r = 0; r < runs; r++) {
      for (const [name, origin] of r % 2
        ? [
            ['serve', viaServe],
            ['direct', direct],
          ]
        : [
            ['direct', direct],
            ['serve', viaServe],
          ]) {
        const m = await measure(
          'bash',
          [
            '-c',
            `test "$(curl -sS --fail -o /dev/null -w '%{size_download}' ${origin}/${big.rel})" = ${big.size}`,
          ],
          { scratch, timeoutMs: 600_000 },
        );
        if (m.exitCode !== 0) failures[name]++;
        else rate[name].push(size / 1e6 / (m.wallMs / 1000));
        log(
          `  S1 big run ${r + 1}/${runs} ${name}: ${(m.wallMs / 1000).toFixed(2)} s${m.exitCode ? ` (failed: ${m.stderr.slice(-200)})` : ''}`,
        );
      }
    }

    // Many small files, many clients: all at once (burst), then paced.
    const client = new URL('../latency-client.mjs', import.meta.url).pathname;
    const latencyFailures = { direct: 0, serve: 0 };
    const latencyRuns = async (label, extra) => {
      const medians = { direct: [], serve: [] };
      for (let r = 0; r < runs; r++) {
        for (const [name, origin] of r % 2
          ? [
              ['serve', viaServe],
              ['direct', direct],
            ]
          : [
              ['direct', direct],
              ['serve', viaServe],
            ]) {
          const out = await run(
            process.execPath,
            [client, origin, pathsFile, String(clients), String(rounds), ...extra],
            { allowFailure: true },
          );
          try {
            const result = JSON.parse(out.stdout);
            medians[name].push(median(result.latenciesMs));
            latencyFailures[name] += result.failed;
            log(
              `  S1 ${label} run ${r + 1}/${runs} ${name}: median ${median(result.latenciesMs).toFixed(2)} ms, ${result.failed} failed`,
            );
          } catch {
            latencyFailures[name] += clients * rounds;
            log(
              `  S1 ${label} run ${r + 1}/${runs} ${name}: client failed: ${out.stderr.slice(-300)}`,
            );
          }
        }
      }
      return { direct: median(medians.direct), serve: median(medians.serve) };
    };
    const burst = await latencyRuns('burst', []);
    const paced = await latencyRuns('paced', [String(PACED_RATE)]);
    const rssMb = peakRssMb(serve.pid);
    const directRate = median(rate.direct);
    const serveRate = median(rate.serve);
    return {
      ...base,
      unit: 'MB/s',
      serve: {
        bigFile: {
          directMBps: directRate,
          serveMBps: serveRate,
          ratio: serveRate / directRate,
          goal: '≥ 0.8',
          met: serveRate / directRate >= 0.8,
          failures,
        },
        latency: {
          clients,
          rounds,
          directMedianMs: burst.direct,
          serveMedianMs: burst.serve,
          addedMedianMs: burst.serve - burst.direct,
          pacedRate: PACED_RATE,
          pacedDirectMedianMs: paced.direct,
          pacedServeMedianMs: paced.serve,
          pacedAddedMedianMs: paced.serve - paced.direct,
          goal: '≤ 1 ms',
          met: burst.serve - burst.direct <= 1,
          pacedMet: paced.serve - paced.direct <= 1,
          failures: latencyFailures,
        },
        servePeakRssMb: rssMb,
      },
      notes: [
        'Big file: curl to /dev/null (size checked; the bytes through dl serve were checked once with openssl dgst, untimed), rate = size ÷ wall time, median of runs.',
        `Burst: ${clients} connections kept alive, ${rounds} rounds of ${clients} concurrent requests for different 16 KiB files; paced: the same ${clients * rounds} requests at ${PACED_RATE} per second over up to ${clients} connections. No cache: every request through dl serve downloads upstream. Median over the requests of a run, median of runs.`,
        `dl serve runs with -j ${clients} --per-host ${clients}, so requests do not queue behind its upstream connection limit (its defaults are 16 and 8).`,
      ],
    };
  } finally {
    serve.kill('SIGTERM');
    const timer = setTimeout(() => serve.kill('SIGKILL'), 3000);
    if (serve.exitCode === null) await new Promise((resolve) => serve.once('exit', resolve));
    clearTimeout(timer);
  }
}
