// The importer's side of the handoff, run as its own process: it configures
// the factory (credentials by reference only) and writes that configuration
// as JSON. It never sees the secret itself.
import { writeFileSync } from 'node:fs';
import { createDownloaderFactory } from '@dl/core';
import { http } from '@dl/http';
import { mirrors } from '@dl/mirrorlist';

const [out, origin] = process.argv.slice(2) as [string, string];
const factory = createDownloaderFactory({
  adapters: [
    http({
      auth: { type: 'bearer', token: { env: 'DL_HANDOFF_TOKEN' }, origins: [origin] },
      timeouts: { connect: 5000, headers: 5000, idle: 5000 },
    }),
  ],
  limits: { total: 8, perHost: 2 },
  retry: { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 50 },
  interceptors: [mirrors({ sets: { repo: { mirrors: [`${origin}/down/`, `${origin}/pool/`] } } })],
});
writeFileSync(out, JSON.stringify(factory.toJSON(), null, 2));
await factory.close();
