import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

/** What the test proxy saw. */
export interface ProxyLogEntry {
  readonly method: string;
  /** `host:port` for CONNECT, the absolute URL otherwise. */
  readonly target: string;
  readonly headers: IncomingHttpHeaders;
  readonly allowed: boolean;
}

/** A forward proxy on loopback: CONNECT tunnels and absolute-form requests, to loopback targets only. */
export interface ForwardProxy {
  readonly url: string;
  readonly port: number;
  log(): readonly ProxyLogEntry[];
  /** Client connections accepted since start. */
  connections(): number;
  stop(): Promise<void>;
}

/**
 * Starts the proxy. With `credentials`, every request must carry
 * `Proxy-Authorization: Basic` for them or gets a 407.
 */
export async function startForwardProxy(credentials?: {
  username: string;
  password: string;
}): Promise<ForwardProxy> {
  const expected =
    credentials &&
    `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  const log: ProxyLogEntry[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const allowed = (headers: IncomingHttpHeaders) =>
    !expected || headers['proxy-authorization'] === expected;
  const loopback = (host: string) => host === '127.0.0.1' || host === 'localhost';

  const server = createServer((req, res) => {
    const ok = allowed(req.headers);
    log.push({
      method: req.method ?? 'GET',
      target: req.url ?? '',
      headers: { ...req.headers },
      allowed: ok,
    });
    if (!ok) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="proxy"' }).end();
      return;
    }
    const target = new URL(req.url ?? '');
    if (!loopback(target.hostname)) {
      res.writeHead(403).end();
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: req.method,
        headers,
      },
      (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
        reply.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('connect', (req, client: Socket, head: Buffer) => {
    const ok = allowed(req.headers);
    log.push({
      method: 'CONNECT',
      target: req.url ?? '',
      headers: { ...req.headers },
      allowed: ok,
    });
    const [host = '', port = '443'] = (req.url ?? '').split(':');
    if (!ok || !loopback(host)) {
      client.end(
        ok
          ? 'HTTP/1.1 403 Forbidden\r\n\r\n'
          : 'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="proxy"\r\n\r\n',
      );
      return;
    }
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    sockets.add(upstream);
    const end = () => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', end).on('close', end);
    client.on('error', end).on('close', end);
    upstream.once('close', () => sockets.delete(upstream));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    log: () => [...log],
    connections: () => connections,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
