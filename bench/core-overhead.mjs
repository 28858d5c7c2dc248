// The core's own cost per download, without I/O: N tiny downloads of the
// in-memory test adapter through downloadAll. `pnpm build` first.
//   node bench/core-overhead.mjs [N=100000]
import { createDownloaderFactory } from '../packages/core/dist/index.js';
import { createMemoryStore, memoryAdapter } from '../packages/testkit/dist/index.js';

const n = Number(process.argv[2] ?? 100_000);
const store = createMemoryStore();
store.generate('gen.test', 32);
const factory = createDownloaderFactory({
  adapters: [memoryAdapter(store)],
  limits: { total: 16, perHost: 16 },
});
function* requests() {
  for (let i = 0; i < n; i++) yield { url: `mem://gen.test/item/${i}`, size: 32, context: i };
}
const cpu = process.cpuUsage();
const started = performance.now();
let ok = 0;
for await (const outcome of factory.downloadAll(requests())) {
  if (!outcome.ok) throw outcome.error;
  ok++;
}
const ms = performance.now() - started;
const used = process.cpuUsage(cpu);
console.log(
  `${ok} downloads in ${ms.toFixed(0)} ms: ${((ok / ms) * 1000).toFixed(0)}/s, ` +
    `${((used.user + used.system) / ok).toFixed(1)} µs CPU each`,
);
await factory.close();
