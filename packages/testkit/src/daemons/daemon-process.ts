import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { descendants, killAll } from './process-tree.js';
import {
  establishedConnections,
  isListening,
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
  readonly args: readonly string[];
  readonly port: number;
  /** Extra text for {@link RunningDaemon.output} (a log file the daemon writes). */
  readonly log?: () => string;
  /** Called after the process exited (remove temp files). */
  readonly cleanup?: () => Promise<void>;
  /** How long to wait for the port to listen. @default 10000 */
  readonly startTimeoutMs?: number;
}

const MAX_OUTPUT = 64 * 1024;

/**
 * Spawns a foreground daemon, waits until its port listens (checked in
 * `/proc/net/tcp`, so no probe connection is made) and returns the handle.
 * When it exits early the error carries its output.
 */
export async function startDaemon(spec: DaemonSpec): Promise<RunningDaemon> {
  const child = spawn(spec.binary, spec.args, { stdio: ['ignore', 'pipe', 'pipe'] });
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

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        killAll(descendants(child.pid));
        child.kill('SIGTERM');
        const timedOut = await Promise.race([
          exited.then(() => false),
          sleep(2000).then(() => true),
        ]);
        if (timedOut) child.kill('SIGKILL');
        await exited;
        if (child.pid !== undefined) killAll(descendants(child.pid));
      }
      await spec.cleanup?.();
    })();
    return stopped;
  };

  const deadline = Date.now() + (spec.startTimeoutMs ?? 10_000);
  while (!isListening(spec.port)) {
    if (spawnError !== undefined || child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(
        `${spec.name} exited before listening on port ${spec.port}` +
          `${spawnError ? ` (${spawnError.message})` : ''}:\n${output()}`,
      );
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${spec.name} did not listen on port ${spec.port} in time:\n${output()}`);
    }
    await sleep(10);
  }

  const pid = child.pid as number;
  return {
    host: '127.0.0.1',
    port: spec.port,
    pid,
    connections: () => establishedConnections(spec.port),
    watchConnections: (intervalMs?: number) => watchConnections(spec.port, intervalMs),
    sessionPids: () => descendants(pid),
    killSessions: (signal: NodeJS.Signals = 'SIGKILL') => killAll(descendants(pid), signal),
    output,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
