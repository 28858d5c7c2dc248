import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type RunningDaemon } from './daemon-process.js';
import { findBinary } from './find-binary.js';

/** How {@link startRedis} runs its server. */
export interface RedisOptions {
  /**
   * The data folder. Pass the `dir` of a stopped server (with `port`) to
   * start again on the same data; such a folder is kept on `stop()`.
   * @default a new temp folder, removed on `stop()`
   */
  readonly dir?: string;
  /** Listen on this port (to come back where clients expect it). @default a free port */
  readonly port?: number;
  /** Write the append-only file (every write fsynced each second). @default true */
  readonly appendOnly?: boolean;
}

/** A redis-server started by {@link startRedis}. */
export interface RunningRedis extends RunningDaemon {
  /** `redis://127.0.0.1:PORT/0`. */
  readonly url: string;
  /** The data folder (append-only file, RDB snapshots). */
  readonly dir: string;
}

/**
 * Starts a real redis-server on 127.0.0.1 with its own data folder and no
 * persistence but the append-only file, so a test can stop it and start it
 * again on the same data. Throws with an install hint when it is missing.
 */
export async function startRedis(options: RedisOptions = {}): Promise<RunningRedis> {
  const binary = findBinary('redis-server', 'apt-get install -y redis-server');
  const owned = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'dl-redis-')));
  const logFile = join(dir, 'redis.log');
  const daemon = await startDaemon({
    name: 'redis-server',
    binary,
    ...(options.port === undefined ? {} : { port: options.port }),
    async prepare(port) {
      const config = [
        `bind 127.0.0.1`,
        `port ${port}`,
        `dir ${dir}`,
        `logfile ${logFile}`,
        `daemonize no`,
        `save ""`,
        `appendonly ${options.appendOnly === false ? 'no' : 'yes'}`,
        `appendfsync everysec`,
        `protected-mode yes`,
      ].join('\n');
      const file = join(dir, 'redis.conf');
      await writeFile(file, `${config}\n`);
      return [file];
    },
    log: () => readFileSync(logFile, 'utf8').slice(-16 * 1024),
    cleanup: owned ? () => rm(dir, { recursive: true, force: true }) : undefined,
  });
  return { ...daemon, url: `redis://127.0.0.1:${daemon.port}/0`, dir };
}
