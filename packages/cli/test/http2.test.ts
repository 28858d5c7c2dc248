import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createSecureServer } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestCertificate } from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDl } from './run-dl.js';

const BODY = Buffer.alloc(4096, 7);
let dir: string;
const seen = { versions: new Set<string>(), inFlight: 0, peakInFlight: 0, peakConnections: 0 };
let connections = 0;
let origin: string;
let caFile: string;
let stop: () => Promise<void>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dl-cli-h2-'));
  const cert = await createTestCertificate(dir);
  caFile = cert.certFile;
  const server = createSecureServer(
    { cert: cert.cert, key: cert.key, allowHTTP1: true },
    (req, res) => {
      seen.versions.add(req.httpVersion);
      seen.peakInFlight = Math.max(seen.peakInFlight, ++seen.inFlight);
      res.once('close', () => seen.inFlight--);
      setTimeout(() => res.writeHead(200, { 'content-length': BODY.length }).end(BODY), 20);
    },
  );
  const sockets = new Set<Socket>();
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    seen.peakConnections = Math.max(seen.peakConnections, ++connections);
    socket.once('close', () => (connections--, sockets.delete(socket)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stop = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
});

afterAll(async () => {
  await stop?.();
  await rm(dir, { recursive: true, force: true });
});

describe('dl get --http2', () => {
  it('multiplexes many transfers over at most --per-host connections', async () => {
    const out = join(dir, 'out');
    const urls = Array.from({ length: 60 }, (_, i) => `${origin}/f${i}.bin`);
    const run = await runDl(
      ['get', ...urls, '-o', out, '--http2', '-j', '64', '--per-host', '2', '--ca-bundle', caFile],
      { cwd: dir },
    );
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/60 files ok/);
    expect((await readdir(out)).length).toBe(60);
    expect([...seen.versions]).toEqual(['2.0']);
    expect(seen.peakConnections).toBeLessThanOrEqual(2);
    expect(seen.peakInFlight).toBeGreaterThan(2);
  });
});
