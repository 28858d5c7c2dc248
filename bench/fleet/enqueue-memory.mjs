// Issue 12's memory figures for the producer. Two modes, each N in its own
// producer process against a fresh redis-server:
//
// - queued (default): enqueue N synthetic manifest lines (Debian-like URLs,
//   paths, sizes and sha256 digests) with no worker running and a window as
//   large as the run, then report Redis's used_memory per queued file and the
//   producer's peak RSS with every chunk queued at once;
// - --run: the whole run through two worker processes whose adapter serves
//   every URL from memory (no disk, no network: the producer and Redis are
//   what is measured), with the default window; reports the producer's peak
//   RSS over the run.
//
// Usage (after `pnpm build`):
//   node bench/fleet/enqueue-memory.mjs 100000 1000000
//   node bench/fleet/enqueue-memory.mjs --run 100000 1000000
// Each N runs in its own producer process (--expose-gc, plus DL_PRODUCER_FLAGS) against a
// fresh redis-server.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
// V8 flags for the producer process, e.g. the heap bound `dl get` applies to itself:
// DL_PRODUCER_FLAGS='--max-semi-space-size=4 --heap-growing-percent=50'.
const producerFlags = (process.env.DL_PRODUCER_FLAGS ?? '').split(' ').filter(Boolean);
const dist = (name) => `../../packages/${name}/dist/index.js`;

if (process.argv[2] === '--producer') {
  await producer(process.argv[3], Number(process.argv[4]), process.argv[5] === 'run');
} else if (process.argv[2] === '--worker') {
  await worker(process.argv[3]);
} else {
  const { startRedis } = await import(dist('testkit'));
  const mode = process.argv[2] === '--run' ? 'run' : 'queued';
  const sizes = process.argv.slice(mode === 'run' ? 3 : 2).map(Number);
  const rows = [];
  for (const n of sizes.length > 0 ? sizes : [100_000, 1_000_000]) {
    const redis = await startRedis({ appendOnly: false });
    const workers = [];
    try {
      const before = usedMemory(redis.port);
      if (mode === 'run') {
        for (let i = 0; i < 2; i++)
          workers.push(
            spawn(process.execPath, [self, '--worker', redis.url], { stdio: 'inherit' }),
          );
      }
      const child = spawn(
        process.execPath,
        [...producerFlags, '--expose-gc', self, '--producer', redis.url, String(n), mode],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (chunk) => (out += chunk));
      await once(child, 'exit');
      const report = JSON.parse(out.trim().split('\n').at(-1));
      rows.push({
        mode,
        files: n,
        outcomes: report.outcomes,
        producerPeakRssMiB: +(report.peakRssKiB / 1024).toFixed(1),
        producerHeapAfterGcMiB: +report.heapMiB.toFixed(1),
        ...(mode === 'queued'
          ? { redisBytesPerFile: +((report.usedMemory - before) / n).toFixed(1) }
          : {}),
        seconds: +(report.ms / 1000).toFixed(1),
      });
      console.log(`${mode} ${n}: peak parts (MiB)`, report.peaksMiB);
    } finally {
      for (const w of workers) w.kill('SIGKILL');
      await redis.stop();
    }
  }
  console.table(rows);
  if (rows.length >= 2) {
    const first = rows[0];
    const last = rows.at(-1);
    console.log(
      `${mode}: producer peak RSS at ${last.files} vs ${first.files} lines: × ${(last.producerPeakRssMiB / first.producerPeakRssMiB).toFixed(2)}`,
    );
  }
}

function usedMemory(port) {
  const info = execFileSync('redis-cli', ['-p', String(port), 'INFO', 'memory'], {
    encoding: 'utf8',
  });
  return Number(/used_memory:(\d+)/.exec(info)[1]);
}

async function worker(url) {
  const { createFleetWorker } = await import(dist('bullmq'));
  const { createMemoryStore, memoryAdapter } = await import(dist('testkit'));
  const store = createMemoryStore();
  store.generate('bench.test', 64);
  createFleetWorker({
    connection: url,
    builders: { adapters: { memory: () => memoryAdapter(store) } },
    chunks: 4,
  });
}

async function producer(url, n, consume) {
  const { createFleetProducer } = await import(dist('bullmq'));
  const { createDownloaderFactory } = await import(dist('core'));
  const { http } = await import(dist('http'));
  const { createMemoryStore, memoryAdapter } = await import(dist('testkit'));
  const adapter = consume ? memoryAdapter(createMemoryStore()) : http();
  const config = createDownloaderFactory({ adapters: [adapter] }).toJSON();
  const started = Date.now();
  let enqueuedAll;
  const done = new Promise((resolve) => (enqueuedAll = resolve));
  function* lines() {
    for (let i = 0; i < n; i++) {
      const name = `pool/main/p/pkg${i % 997}/pkg${i}_1.${i % 13}-${i % 7}_amd64.deb`;
      yield consume
        ? { url: `mem://bench.test/${name}`, size: 64, context: { line: i + 1 } }
        : {
            url: `https://deb.example.org/debian/${name}`,
            destination: `/srv/mirror/debian/${name}`,
            size: 16_384 + (i % 4096),
            digests: { sha256: createHash('sha256').update(name).digest('hex') },
            context: { line: i + 1 },
          };
    }
    enqueuedAll();
  }
  // Queued mode: a window as large as the run, so everything is queued at once (no worker runs).
  const fleet = createFleetProducer(
    consume ? { connection: url } : { connection: url, window: Math.ceil(n / 100) + 1 },
  );
  let outcomes = 0;
  // The largest of each part of the process's memory, sampled: where a peak RSS comes from.
  const peaks = { heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    for (const key of Object.keys(peaks)) peaks[key] = Math.max(peaks[key], now[key]);
  }, 50);
  const run = (async () => {
    for await (const outcome of fleet.downloadAll(lines(), { config })) {
      if (outcome.ok) outcomes++;
    }
  })();
  if (consume) {
    await run;
  } else {
    await done;
    // Wait for the last bulk add to land.
    while (waiting(url) < Math.ceil(n / 100)) await new Promise((r) => setTimeout(r, 200));
  }
  clearInterval(sampler);
  global.gc?.();
  const heapMiB = process.memoryUsage().heapUsed / 1048576;
  const status = readFileSync('/proc/self/status', 'utf8');
  const peakRssKiB = Number(/VmHWM:\s+(\d+)/.exec(status)[1]);
  const port = Number(new URL(url).port);
  const report = {
    peakRssKiB,
    heapMiB,
    usedMemory: usedMemory(port),
    outcomes,
    ms: Date.now() - started,
    peaksMiB: Object.fromEntries(
      Object.entries(peaks).map(([key, bytes]) => [key, +(bytes / 1048576).toFixed(1)]),
    ),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
}

function waiting(url) {
  const port = Number(new URL(url).port);
  const out = execFileSync('redis-cli', ['-p', String(port), 'LLEN', 'bull:dl:wait'], {
    encoding: 'utf8',
  });
  return Number(out.trim());
}
