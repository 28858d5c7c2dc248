// F1: the fleet (issue 12). `dl get --queue redis://…` hands the manifest to
// `dl worker --queue redis://…` processes through a redis-server of its own;
// measured against plain `dl get` on the W1 files, with 1, 2 and 4 workers.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { processCpuSeconds } from './cpu.mjs';
import { run } from './proc.mjs';
import { dlTool } from './tools.mjs';

/** `dl worker --help`: its text when dl has the command, else undefined. */
export async function workerHelp(dlBin) {
  const help = await run(process.execPath, [dlBin, 'worker', '--help'], { allowFailure: true });
  // commander prints the top-level help (exit 0) for an unknown command's --help.
  return help.code === 0 && /Usage: dl worker/.test(help.stdout) ? help.stdout : undefined;
}

/** Sends one inline command to redis on 127.0.0.1:`port`; resolves with the reply's text. */
export function redisCommand(port, line) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => socket.destroy(new Error(`redis: no reply to ${line}`)), 5000);
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('data', (chunk) => {
      data += chunk;
      const end = data.indexOf('\r\n');
      if (end < 0) return;
      let text;
      if (data[0] === '$') {
        const length = Number(data.slice(1, end));
        if (Buffer.byteLength(data) < end + 2 + Math.max(length, 0)) return;
        text = data.slice(end + 2, end + 2 + Math.max(length, 0));
      } else text = data.slice(0, end);
      clearTimeout(timer);
      socket.end();
      if (data[0] === '-') reject(new Error(`redis: ${text}`));
      else resolve(text);
    });
    socket.write(`${line}\r\n`);
  });
}

async function connectedClients(port) {
  const info = await redisCommand(port, 'INFO clients');
  return Number(/connected_clients:(\d+)/.exec(info)?.[1] ?? 0);
}

/**
 * `dl get -i MANIFEST --queue URL` with `workers` `dl worker --queue URL`
 * processes started before each run (redis flushed first, the run starts
 * once every worker is connected) and stopped after it, outside the timing.
 * The run's `extra.workers` is their CPU seconds.
 */
export function fleetTool({ bin, redis, workers, concurrency, help, live }) {
  const base = dlTool({
    name: `dl --queue, ${workers} worker${workers === 1 ? '' : 's'}`,
    bin,
    concurrency,
    extraArgs: ['--queue', redis.url],
  });
  // Give the workers the same caps when they take them.
  const workerArgs = [
    'worker',
    '--queue',
    redis.url,
    ...(/--per-host\b/.test(help) ? ['--per-host', String(concurrency)] : []),
    ...(/(-j, )?--total\b/.test(help) ? ['-j', String(concurrency)] : []),
  ];
  return {
    ...base,
    async before() {
      await redisCommand(redis.port, 'FLUSHALL');
      const before = await connectedClients(redis.port);
      const children = [];
      for (let i = 0; i < workers; i++) {
        // DL_BENCH_WORKER_PROF=DIR: a CPU profile of each worker (written when it stops).
        const prof = process.env.DL_BENCH_WORKER_PROF;
        const nodeArgs = prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : [];
        const child = spawn(process.execPath, [...nodeArgs, bin, ...workerArgs], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        child.stderrText = '';
        child.stderr.on('data', (c) => (child.stderrText = (child.stderrText + c).slice(-2000)));
        live.add(child);
        child.once('exit', () => live.delete(child));
        children.push(child);
      }
      // Each worker holds at least one connection to redis once it is ready.
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && children.every((c) => c.exitCode === null)) {
        if ((await connectedClients(redis.port)) - before >= workers) break;
        await sleep(50);
      }
      const dead = children.find((c) => c.exitCode !== null);
      if (dead) {
        await Promise.all(children.map(stopChild));
        throw new Error(`dl worker exited ${dead.exitCode}: ${dead.stderrText.trim()}`);
      }
      return children;
    },
    async after(children = []) {
      let cpu = 0;
      for (const child of children) cpu += processCpuSeconds(child.pid, { children: true }) ?? 0;
      await Promise.all(children.map(stopChild));
      return { workers: cpu };
    },
  };
}

/** SIGTERM, then SIGKILL after 5 s. */
export async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
