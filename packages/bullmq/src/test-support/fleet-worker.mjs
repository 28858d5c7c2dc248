// A fleet worker process for the tests: the entry point passes the adapters
// in (nothing is loaded by name) and runs the BUILT packages, as `dl worker` will.
// Settings come from the environment: DL_REDIS, DL_QUEUE, DL_LOCK_MS, DL_CHUNKS, DL_BUDGET.
import { http } from '@dl/http';
import { ftp } from '@dl/ftp';
import * as fleet from '../../dist/index.js';

const lockDuration = Number(process.env.DL_LOCK_MS ?? 30000);
// DL_BUDGET=1: the fleet-wide per-host budget on Redis, once the package has it (wired at merge).
const budget =
  process.env.DL_BUDGET === '1' && typeof fleet.redisBudget === 'function'
    ? fleet.redisBudget({ connection: process.env.DL_REDIS })
    : undefined;
const worker = fleet.createFleetWorker({
  connection: process.env.DL_REDIS,
  queue: process.env.DL_QUEUE ?? 'dl',
  builders: { adapters: { http, ftp } },
  ...(budget === undefined ? {} : { budget }),
  chunks: Number(process.env.DL_CHUNKS ?? 1),
  lockDuration,
  stalledInterval: Math.max(500, Math.floor(lockDuration / 2)),
});
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
