import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';

/**
 * Starts bench/h2-delay-server.mjs in its own process: HTTPS on 127.0.0.1,
 * ALPN h2 + http/1.1, every response after `delayMs`, files from `root`, a
 * self-signed certificate from @dl/testkit (written into `dir`; `certFile`
 * is the CA every client must trust). `maxStreams` is its HTTP/2
 * SETTINGS_MAX_CONCURRENT_STREAMS.
 */
export async function startDelayServer({ testkit, root, dir, delayMs, maxStreams = 100 }) {
  await mkdir(dir, { recursive: true });
  const cert = await testkit.createTestCertificate(dir, { name: 'w6' });
  const script = new URL('../h2-delay-server.mjs', import.meta.url).pathname;
  const child = spawn(
    process.execPath,
    [script, root, cert.certFile, cert.keyFile, String(delayMs), '0', String(maxStreams)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stderr.on('data', (c) => (output += c));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`W6 server did not start: ${output}`)), 10_000);
    child.stdout.on('data', (c) => {
      output += c;
      const m = /listening (\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`W6 server exited ${code}: ${output}`));
    });
  });
  return {
    port,
    pid: child.pid,
    certFile: cert.certFile,
    url: (path) => `https://127.0.0.1:${port}/${path.replace(/^\/+/, '')}`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
