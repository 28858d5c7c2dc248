import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.js';
import { descendants, killAll } from './process-tree.js';
import {
  establishedConnections,
  isListening,
  listensOn,
  watchConnections,
  type ConnectionWatch,
} from './tcp-connections.js';

/** What every daemon launcher returns: a real server process on 127.0.0.1. */
export interface RunningDaemon extends AsyncDisposable {
  /** Always `127.0.0.1`. */
  readonly host: string;
  /** The TCP port it listens on. */
  readonly port: number;
  /** The listening process. */
  readonly pid: number;
  /** Established TCP connections to {@link port}, counted on the server's side. */
  connections(): number;
  /** Samples {@link connections} until stopped and keeps the maximum. */
  watchConnections(intervalMs?: number): ConnectionWatch;
  /** The per-connection server processes (the daemon forks one or more per connection). */
  sessionPids(): number[];
  /**
   * Kills every per-connection server process, so every connection drops
   * mid-whatever it was doing while the daemon keeps accepting new ones.
   * Returns how many processes were killed.
   */
  killSessions(signal?: NodeJS.Signals): number;
  /** What the daemon wrote to stderr and its log (for failure messages). */
  output(): string;
  /** Kills the daemon and its sessions, waits for it to exit, removes its files. Idempotent. */
  stop(): Promise<void>;
}

/** How to run one daemon. */
export interface DaemonSpec {
  readonly name: string;
  readonly binary: string;
  /** Writes the configuration for `port` and returns the arguments to run with. */
  prepare(port: number): Promise<readonly string[]>;
  /** Extra text for {@link RunningDaemon.output} (a log file the daemon writes). */
  readonly log?: () => string;
  /** Called after the process exited (remove temp files). */
  readonly cleanup?: () => Promise<void>;
  /** How long to wait for the port to listen. @default 10000 */
  readonly startTimeoutMs?: number;
  /** Listen on this port instead of a free one (to restart a daemon where its clients expect it). */
  readonly port?: number;
}

const MAX_OUTPUT = 64 * 1024;

/** The daemon could not get its port (another process took it first). */
class PortTaken extends Error {}

/**
 * Spawns a foreground daemon on a free port, waits until the daemon itself
 * listens there (the listening socket in `/proc/net/tcp` must be one of the
 * process's own descriptors, so a port taken by someone else in between is
 * noticed, and no probe connection is made) and returns the handle. A lost
 * race for the port is retried with another port; other failures throw with
 * the daemon's output.
 */
export async function startDaemon(spec: DaemonSpec): Promise<RunningDaemon> {
  try {
    for (let attempt = 1; ; attempt++) {
      const port = spec.port ?? (await freePort());
      try {
        return await launch(spec, port, await spec.prepare(port));
      } catch (error) {
        if (!(error instanceof PortTaken) || attempt >= 5) throw error;
        // A fixed port may still be held by the previous process's last sockets.
        if (spec.port !== undefined) await sleep(200);
      }
    }
  } catch (error) {
    await spec.cleanup?.();
    throw error;
  }
}

async function launch(
  spec: DaemonSpec,
  port: number,
  args: readonly string[],
): Promise<RunningDaemon> {
  const child = spawn(spec.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let captured = '';
  const capture = (chunk: Buffer) => {
    captured = (captured + chunk.toString('utf8')).slice(-MAX_OUTPUT);
  };
  child.stdout?.on('data', capture);
  child.stderr?.on('data', capture);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  const output = () => {
    let log = '';
    try {
      log = spec.log?.() ?? '';
    } catch {
      // No log yet.
    }
    return `${captured}${log ? `\n--- log ---\n${log}` : ''}`;
  };

  const kill = async () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      killAll(descendants(child.pid));
      child.kill('SIGTERM');
      const timedOut = await Promise.race([exited.then(() => false), sleep(2000).then(() => true)]);
      if (timedOut) child.kill('SIGKILL');
      await exited;
      if (child.pid !== undefined) killAll(descendants(child.pid));
    }
  };
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await kill();
      await spec.cleanup?.();
    })();
    return stopped;
  };

  const deadline = Date.now() + (spec.startTimeoutMs ?? 10_000);
  for (;;) {
    if (child.pid !== undefined && listensOn(child.pid, port)) break;
    const gone = spawnError !== undefined || child.exitCode !== null || child.signalCode !== null;
    if (gone || Date.now() > deadline) {
      await kill();
      const text = output();
      if (/address already in use|could not bind/i.test(text) || (gone && isListening(port))) {
        throw new PortTaken(`port ${port} was taken`);
      }
      throw new Error(
        `${spec.name} ${gone ? 'exited before listening' : 'did not listen in time'} on port ${port}` +
          `${spawnError ? ` (${spawnError.message})` : ''}:\n${text}`,
      );
    }
    await sleep(10);
  }

  const pid = child.pid;
  return {
    host: '127.0.0.1',
    port,
    pid,
    connections: () => establishedConnections(port),
    watchConnections: (intervalMs?: number) => watchConnections(port, intervalMs),
    sessionPids: () => descendants(pid),
    killSessions: (signal: NodeJS.Signals = 'SIGKILL') => killAll(descendants(pid), signal),
    output,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
