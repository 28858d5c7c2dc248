import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

const TIME = '/usr/bin/time';

/** Keeps the last `limit` characters written to it. */
function tail(limit = 4000) {
  let text = '';
  return {
    push(chunk) {
      text = (text + chunk.toString('utf8')).slice(-limit);
    },
    get text() {
      return text;
    },
  };
}

/** The child being measured right now, so Ctrl-C can end it. */
let current;

/** Kills the measured child (and its process group), if any. */
export function killCurrent() {
  if (current?.pid !== undefined) {
    try {
      process.kill(-current.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
}

/**
 * Runs one command to completion and measures it: wall time (spawn to exit),
 * peak RSS from GNU time (`ru_maxrss`: the largest process of the tree), and,
 * when `watch` is given, the most established connections the server saw
 * (testkit's `ss` sampler in a worker thread, every `watchIntervalMs`).
 */
export async function measure(command, args, options) {
  const { cwd, env, timeoutMs = 600_000, watch, scratch } = options;
  const timeFile = join(scratch, `time-${process.pid}-${Date.now()}.txt`);
  const watchers = (watch ?? []).map((w) => ({ name: w.name, watch: w.start() }));
  // The sampler runs in a worker thread that takes a moment to boot: a run
  // shorter than that would go unwatched.
  const ready = Date.now() + 2000;
  while (watchers.some((w) => w.watch.samples === 0) && Date.now() < ready) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const out = tail();
  const err = tail();
  const started = performance.now();
  const child = spawn(TIME, ['-v', '-o', timeFile, command, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  current = child;
  child.stdout.on('data', (chunk) => out.push(chunk));
  child.stderr.on('data', (chunk) => err.push(chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killCurrent();
  }, timeoutMs);
  const [code, signal] = await new Promise((resolve) => {
    child.once('error', (error) => {
      err.push(String(error));
      resolve([127, null]);
    });
    child.once('close', (c, s) => resolve([c, s]));
  });
  const wallMs = performance.now() - started;
  clearTimeout(timer);
  current = undefined;
  const connections = {};
  for (const w of watchers) connections[w.name] = w.watch.stop();
  let maxRssKb;
  let cpuS;
  let exitCode = code;
  try {
    const text = await readFile(timeFile, 'utf8');
    const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(text);
    if (rss) maxRssKb = Number(rss[1]);
    const user = /User time \(seconds\): ([\d.]+)/.exec(text);
    const system = /System time \(seconds\): ([\d.]+)/.exec(text);
    if (user && system) cpuS = Number(user[1]) + Number(system[1]);
    const status = /Exit status: (\d+)/.exec(text);
    if (status) exitCode = Number(status[1]);
    const killed = /Command terminated by signal (\d+)/.exec(text);
    if (killed) exitCode = 128 + Number(killed[1]);
  } catch {
    // time itself was killed (timeout or Ctrl-C).
  }
  await rm(timeFile, { force: true });
  return {
    wallMs,
    exitCode,
    signal,
    timedOut,
    maxRssKb,
    cpuS,
    connections,
    stdout: out.text,
    stderr: err.text,
  };
}

/** Runs a command and resolves with its output; rejects when it exits non-zero. */
export function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    if (options.input !== undefined) child.stdin.end(options.input);
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0 || options.allowFailure) resolve({ code, stdout, stderr });
      else
        reject(
          new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000).trim()}`),
        );
    });
  });
}
