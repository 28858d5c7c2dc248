// S1's client. Burst mode: `clients` concurrent requests (one connection
// each, kept alive), `rounds` times. Paced mode (RATE given): the same number
// of requests sent at RATE per second over up to `clients` connections, so
// the latency measured is the per-request cost rather than queueing behind
// 99 others. Each request fetches a different 16 KiB path in turn, so no two
// concurrent requests share an upstream download. Prints JSON:
// { latenciesMs: [...], failed, bytes }.
//
//   node bench/latency-client.mjs BASE_URL PATHS_FILE CLIENTS ROUNDS [RATE]
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../packages/http/package.json', import.meta.url));
const { Pool } = require('undici');

const [base, pathsFile, clientsText, roundsText, rateText] = process.argv.slice(2);
const clients = Number(clientsText);
const rounds = Number(roundsText);
const rate = rateText === undefined ? undefined : Number(rateText);
const paths = (await readFile(pathsFile, 'utf8')).split('\n').filter(Boolean);
const pool = new Pool(base, { connections: clients, pipelining: 1 });
const latenciesMs = [];
let failed = 0;
let bytes = 0;

async function fetchOne(path) {
  const started = performance.now();
  try {
    const { statusCode, body } = await pool.request({ path: `/${path}`, method: 'GET' });
    for await (const chunk of body) bytes += chunk.length;
    if (statusCode !== 200) failed++;
    else latenciesMs.push(performance.now() - started);
  } catch {
    failed++;
  }
}

// One warm-up round opens the connections; it is not counted.
await Promise.all(paths.slice(0, clients).map((p) => fetchOne(p)));
latenciesMs.length = 0;
failed = 0;
bytes = 0;
if (rate === undefined) {
  for (let round = 0; round < rounds; round++) {
    await Promise.all(
      Array.from({ length: clients }, (_, i) =>
        fetchOne(paths[(round * clients + i) % paths.length]),
      ),
    );
  }
} else {
  const total = clients * rounds;
  const started = performance.now();
  const pending = [];
  for (let i = 0; i < total; i++) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(fetchOne(paths[i % paths.length]));
  }
  await Promise.all(pending);
}
await pool.close();
process.stdout.write(`${JSON.stringify({ latenciesMs, failed, bytes })}\n`);
