// S1's client: `clients` concurrent requests (one connection each, kept
// alive), `rounds` times; each request fetches a different 16 KiB path so
// no two concurrent requests share an upstream download. Prints JSON:
// { latenciesMs: [...], failed, bytes }.
//
//   node bench/latency-client.mjs BASE_URL PATHS_FILE CLIENTS ROUNDS
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../packages/http/package.json', import.meta.url));
const { Pool } = require('undici');

const [base, pathsFile, clientsText, roundsText] = process.argv.slice(2);
const clients = Number(clientsText);
const rounds = Number(roundsText);
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
for (let round = 0; round < rounds; round++) {
  await Promise.all(
    Array.from({ length: clients }, (_, i) =>
      fetchOne(paths[(round * clients + i) % paths.length]),
    ),
  );
}
await pool.close();
process.stdout.write(`${JSON.stringify({ latenciesMs, failed, bytes })}\n`);
