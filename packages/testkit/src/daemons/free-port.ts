import { createServer } from 'node:net';

const handedOut = new Set<number>();

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the kernel picked it),
 * never the same one twice in this process. Another process may still take
 * it first: daemon launchers check and retry.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await kernelPort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * `count` consecutive ports on 127.0.0.1 that were all free a moment ago,
 * for daemons that want a port range (vsftpd's passive ports).
 */
export async function freePortRange(count: number): Promise<{ min: number; max: number }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // Above the usual ephemeral range start would collide with outgoing connections less often,
    // but Linux's default ephemeral range (32768–60999) is large: stay below it.
    const min = 10_000 + Math.floor(Math.random() * (32_000 - 10_000 - count));
    let ok = true;
    for (let port = min; port < min + count && ok; port++) ok = await isFree(port);
    if (ok) return { min, max: min + count - 1 };
  }
  throw new Error(`No ${count} consecutive free ports found on 127.0.0.1`);
}
