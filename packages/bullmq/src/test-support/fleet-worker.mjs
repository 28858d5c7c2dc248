// A fleet worker process, run by the fleet tests on the BUILT packages, as `dl worker`
// runs one; packages/bullmq/README.md shows it. Settings come from the environment:
// DL_REDIS, DL_QUEUE, DL_LOCK_MS, DL_CHUNKS, DL_BUDGET (1: the fleet-wide per-host budget).
import { http } from '@dl/http';
import { ftp } from '@dl/ftp';
import { createFleetWorker, redisBudget } from '@dl/bullmq';

const connection = process.env.DL_REDIS; // redis://HOST:PORT/DB
const lockDuration = Number(process.env.DL_LOCK_MS ?? 30000);
const budget = process.env.DL_BUDGET === '1' ? redisBudget({ connection }) : undefined;

const worker = createFleetWorker({
  connection,
  queue: process.env.DL_QUEUE ?? 'dl',
  builders: { adapters: { http, ftp } }, // passed in by the entry point, never loaded by name
  budget, // optional: the fleet-wide per-host budget (below)
  chunks: Number(process.env.DL_CHUNKS ?? 1),
  lockDuration,
  stalledInterval: Math.max(500, Math.floor(lockDuration / 2)),
});
// Graceful stop: the chunks in flight finish and report, then every connection is closed.
const stop = () => {
  worker.close().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.stdout.write(`ready ${worker.owner}\n`);
