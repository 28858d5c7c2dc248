// The streamer's process: it rebuilds the importer's factory from plain data
// plus the adapter and interceptor builders this entry point passes in, and
// serves a catalog through the core's streamer. Prints {"port"} when ready.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createStreamer,
  rebuildDownloaderFactory,
  type Digests,
  type DownloaderFactory,
} from '@dl/core';
import { http } from '@dl/http';
import { mirrors } from '@dl/mirrorlist';

interface CatalogEntry {
  readonly path: string;
  readonly url: string;
  readonly size?: number;
  readonly digests?: Digests;
}

const [configPath, catalogPath] = process.argv.slice(2) as [string, string];
let factory: DownloaderFactory;
try {
  factory = rebuildDownloaderFactory(JSON.parse(readFileSync(configPath, 'utf8')), {
    adapters: { http },
    interceptors: { mirrors },
  });
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(2);
}
const catalog = new Map<string, CatalogEntry>();
for (const line of readFileSync(catalogPath, 'utf8').split('\n')) {
  if (line.trim() === '') continue;
  const entry = JSON.parse(line) as CatalogEntry;
  catalog.set(entry.path, entry);
}
const streamer = createStreamer({ downloader: factory });
const server = createServer((req, res) => {
  const entry = catalog.get(new URL(req.url ?? '/', 'http://streamer').pathname);
  if (entry === undefined) {
    res.writeHead(404).end();
    return;
  }
  void streamer
    .handle(req, res, { url: entry.url, size: entry.size, digests: entry.digests })
    .then((outcome) => process.stdout.write(`${JSON.stringify({ outcome: { ...outcome } })}\n`));
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  void factory.destroy().then(() => process.exit(0));
});
