import { spawn } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'node:http';

/** A 1 KiB ASCII body that `/any/*` answers with (W5). */
export const ANY_BODY = Array.from({ length: 1024 }, (_, i) =>
  'abcdefghijklmnopqrstuvwxyz0123456789'.charAt((i * 7 + 3) % 36),
).join('');

function get(port, path) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode));
    });
    req.once('error', reject);
    req.end();
  });
}

/**
 * Starts nginx on 127.0.0.1:`port` in the foreground with a generated
 * config: `root` served as files, `/any/<anything>` answered with
 * {@link ANY_BODY}, `/nginx_status` the stub status. Long keep-alive so that
 * no client is penalised by reconnects.
 */
export async function startNginx({ binary, dir, root, port }) {
  await mkdir(join(dir, 'temp'), { recursive: true });
  await chmod(root, 0o755);
  const config = `
daemon off;
master_process on;
worker_processes 2;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; multi_accept on; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
  client_body_temp_path ${join(dir, 'temp')};
  types { }
  default_type application/octet-stream;
  server_tokens off;
  server {
    listen 127.0.0.1:${port} reuseport backlog=4096;
    root ${root};
    location /any/ { return 200 "${ANY_BODY}"; }
    location = /nginx_status { stub_status; }
  }
}
`;
  const configFile = join(dir, 'nginx.conf');
  await writeFile(configFile, config);
  const child = spawn(binary, ['-p', dir, '-c', configFile, '-e', join(dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
      throw new Error(`nginx exited: ${stderr}\n${log}`);
    }
    try {
      if ((await get(port, '/nginx_status')) === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`nginx did not start: ${stderr}`);
    await sleep(20);
  }
  let stopped;
  return {
    host: '127.0.0.1',
    port,
    url: (path) => `http://127.0.0.1:${port}/${path.replace(/^\/+/, '')}`,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null) {
          // QUIT: graceful; TERM: fast. The workers are the master's children.
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(timer);
        }
      })();
      return stopped;
    },
  };
}
