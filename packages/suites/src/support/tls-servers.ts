import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An HTTPS server on 127.0.0.1 (port 0) answering with `handler`. */
export interface TlsServer {
  readonly origin: string;
  readonly port: number;
  /** Connections open now. */
  connections(): number;
  stop(): Promise<void>;
}

/** Starts an HTTPS server with the given certificate and key. */
export async function startTlsServer(
  pem: { cert: string; key: string },
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TlsServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ cert: pem.cert, key: pem.key }, handler);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // Clients that refuse the certificate abort the handshake: nothing to report.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `https://127.0.0.1:${port}`,
    port,
    connections: () => sockets.size,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A self-signed certificate (EC P-256, quick to make) named `name`, valid
 * for the subject alternative names `san` (e.g. `DNS:x.example`, `IP:127.0.0.1`).
 */
export async function certificateFor(
  dir: string,
  name: string,
  san: string,
): Promise<{ cert: string; key: string }> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-addext',
    `subjectAltName=${san}`,
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  return { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
}
