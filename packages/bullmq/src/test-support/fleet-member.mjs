// One worker of a test fleet, run as its own process by redis-budget.test.ts:
// downloads the URLs it is given through a factory whose budget is the Redis
// budget. It imports the BUILT packages (a child has no TypeScript runner);
// the test builds them first when they are stale.
//
// argv[2]: JSON { redisUrl, urls, total, perHost, member, leaseMs?, renewEveryMs?,
//   quietMs?, rate?, ratePerHost?, gate?, lease? }
// stdout: { ready } once started, one JSON line per outcome ({ done, ok, origin, bytes, at }),
// then { finished, ok, failed, rateCalls }. With `gate`, it starts downloading only after a
// line on stdin.
import { Writable } from 'node:stream';
import { createDownloaderFactory } from '@dl/core';
import { http } from '@dl/http';
import { redisBudget } from '@dl/bullmq';

const config = JSON.parse(process.argv[2]);
const provider = redisBudget({
  connection: config.redisUrl,
  ...(config.leaseMs === undefined ? {} : { leaseMs: config.leaseMs }),
  ...(config.renewEveryMs === undefined ? {} : { renewEveryMs: config.renewEveryMs }),
  ...(config.quietMs === undefined ? {} : { quietMs: config.quietMs }),
  ...(config.lease === undefined ? {} : { lease: config.lease }),
});
// The budget the factory built, for its count of Redis calls for the rate caps.
let budget;
const factory = createDownloaderFactory({
  adapters: [http()],
  limits: {
    total: config.total,
    perHost: config.perHost,
    ...(config.rate === undefined ? {} : { rate: config.rate }),
    ...(config.ratePerHost === undefined ? {} : { ratePerHost: config.ratePerHost }),
  },
  retry: { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 5000 },
  budget: (init) => (budget = provider(init)),
});

const discard = () =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

function* requests() {
  for (const url of config.urls) {
    yield { url, writable: discard(), headers: { 'x-member': String(config.member) } };
  }
}

process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
if (config.gate === true) {
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.pause();
}

let done = 0;
let ok = 0;
const failed = [];
for await (const outcome of factory.downloadAll(requests())) {
  done++;
  if (outcome.ok) ok++;
  else
    failed.push(`${String(outcome.request.url)}: ${outcome.error.code} ${outcome.error.message}`);
  process.stdout.write(
    `${JSON.stringify({
      done,
      ok: outcome.ok,
      origin: new URL(outcome.request.url).origin,
      bytes: outcome.ok ? outcome.result.size : 0,
      at: Date.now(),
    })}\n`,
  );
}
await factory.close();
process.stdout.write(
  `${JSON.stringify({ finished: true, ok, failed, rateCalls: budget?.rateCalls ?? 0 })}\n`,
);
