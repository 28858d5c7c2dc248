import { connect, type AddressInfo, type Socket } from 'node:net';
import { createServer, type TLSSocket, type TlsOptions } from 'node:tls';

/** A TLS terminator on loopback in front of a plain TCP port. */
export interface TlsFront {
  readonly origin: string;
  readonly port: number;
  /** TLS connections accepted (handshake done) since start. */
  readonly accepted: () => number;
  /** Handshake or client-certificate failures seen. */
  readonly failures: () => number;
  stop(): Promise<void>;
}

/**
 * Terminates TLS and pipes each connection to `backendPort` over its own TCP
 * connection, so whatever the backend counts (connections, cuts) holds for
 * the TLS side one to one.
 */
export async function startTlsFront(backendPort: number, tls: TlsOptions): Promise<TlsFront> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  let failures = 0;
  const server = createServer(tls, (client: TLSSocket) => {
    accepted++;
    const backend = connect(backendPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(backend);
    const end = () => {
      client.destroy();
      backend.destroy();
    };
    client.on('error', end).on('close', end);
    backend.on('error', end).on('close', end);
    client.once('close', () => sockets.delete(client));
    backend.once('close', () => sockets.delete(backend));
    client.pipe(backend).pipe(client);
  });
  server.on('tlsClientError', () => failures++);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://127.0.0.1:${port}`,
    port,
    accepted: () => accepted,
    failures: () => failures,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
