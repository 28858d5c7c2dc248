// W6's server: HTTPS with ALPN (h2 and http/1.1) that answers every request
// after DELAY_MS, with the file under ROOT (read once, then kept in memory).
// Runs in its own process so it does not share an event loop with the tool
// being measured. Prints `listening PORT` on stdout once it accepts.
//
//   node bench/h2-delay-server.mjs ROOT CERT KEY DELAY_MS [PORT] [MAX_STREAMS]
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSecureServer } from 'node:http2';
import { join, normalize } from 'node:path';

const [root, certFile, keyFile, delayText = '20', portText = '0', streamsText = '100'] =
  process.argv.slice(2);
const delay = Number(delayText);
const cache = new Map();

const server = createSecureServer(
  {
    cert: readFileSync(certFile),
    key: readFileSync(keyFile),
    allowHTTP1: true, // ALPN offers h2 and http/1.1
    settings: { maxConcurrentStreams: Number(streamsText) },
  },
  (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'https://x').pathname));
    setTimeout(async () => {
      let body = cache.get(path);
      if (body === undefined) {
        try {
          body = await readFile(join(root, path));
          cache.set(path, body);
        } catch {
          res.writeHead(404, { 'content-length': 0 }).end();
          return;
        }
      }
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': body.length,
      });
      res.end(body);
    }, delay);
  },
);
server.keepAliveTimeout = 120_000;
server.listen(Number(portText), '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => process.exit(0));
