import type { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { Socket } from 'node:net';
import { join } from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import {
  ConnectionPool,
  DownloadError,
  ErrorCodes,
  abortError,
  gatedDriver,
  poolIdleTimeout,
  poolLimit,
  pooledSession,
  resolveSecret,
  type LeasedTransferDriver,
  type Logger,
  type PooledSession,
  type SessionContext,
} from '@dl/core';
import { coalesceWrites } from './coalesce-writes.js';
import type { SftpChannel } from './sftp-channel.js';
import { HostKeyPolicy, type HostKeyVerdict } from './host-key-policy.js';
import { parseKnownHosts, type KnownHostEntry } from './known-hosts.js';
import type { SftpAdapterOptions } from './sftp-adapter-options.js';
import { toSftpError, untrustedHostKey } from './sftp-errors.js';
import { sftpTarget, type SftpTarget } from './sftp-target.js';
import { runSftpTransfer } from './sftp-transfer.js';

/**
 * The shared state of one `sftp()` adapter in one factory: SSH connections
 * pooled per host. Exposed for diagnostics.
 */
export type SftpSession = PooledSession;

/** The parts of ssh2-sftp-client its type declarations leave out. */
interface ClientInternals {
  /** The ssh2 connection. */
  readonly client: EventEmitter & { destroy(): void; setNoDelay(noDelay: boolean): void };
  /** The SFTP channel; unset once the connection ended. */
  readonly sftp: unknown;
}

/** One pooled SSH connection with its SFTP channel. */
export interface SftpConnection {
  readonly client: SftpClient;
  /** The underlying ssh2 connection. */
  readonly ssh: EventEmitter & { destroy(): void; setNoDelay(noDelay: boolean): void };
  /** The SFTP channel, set once connected. */
  channel: SftpChannel | undefined;
  /** Set once the connection closed or failed: it is never lent again. */
  broken: boolean;
}

/** The session's internals: what the adapter's `open` runs a leased transfer with. */
export interface SftpSessionInternals
  extends SftpSession, LeasedTransferDriver<SftpConnection, SftpTarget> {
  readonly log: Logger;
  readonly chunkSize: number;
}

const DEFAULT_KNOWN_HOSTS = [join(homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'];

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;
}

async function readKnownHosts(paths: readonly string[]): Promise<KnownHostEntry[]> {
  const entries: KnownHostEntry[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(expandHome(path), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new DownloadError(`Cannot read the known_hosts file ${path}`, {
        code: ErrorCodes.InvalidRequest,
        cause: error,
      });
    }
    entries.push(...parseKnownHosts(text));
  }
  return entries;
}

function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? 'root';
  }
}

async function agentSocket(agent: SftpAdapterOptions['agent']): Promise<string | undefined> {
  if (agent === undefined) return undefined;
  if (agent === true) {
    const socket = process.env.SSH_AUTH_SOCK;
    if (socket === undefined || socket === '') {
      throw new DownloadError('sftp option agent: true, but SSH_AUTH_SOCK is not set', {
        code: ErrorCodes.InvalidRequest,
      });
    }
    return socket;
  }
  return resolveSecret(agent, 'ssh-agent socket');
}

function poolHostOf(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    return `${url.hostname.replace(/^\[(.*)\]$/, '$1')}:${url.port === '' ? 22 : url.port}`;
  } catch {
    return undefined;
  }
}

const silentEvents = { error() {}, end() {}, close() {} };

/** Creates the session of an `sftp()` adapter: resolves secrets, reads known_hosts, sets up the pool. */
export async function createSftpSession(
  options: SftpAdapterOptions,
  context: SessionContext,
): Promise<SftpSessionInternals> {
  const password =
    options.password === undefined
      ? undefined
      : await resolveSecret(options.password, 'SFTP password');
  const privateKey =
    options.privateKey === undefined
      ? undefined
      : await resolveSecret(options.privateKey, 'SSH private key');
  const passphrase =
    options.passphrase === undefined
      ? undefined
      : await resolveSecret(options.passphrase, 'SSH key passphrase');
  const agent = await agentSocket(options.agent);
  const insecure = options.insecureSkipHostKeyCheck === true;
  const knownHostsPaths =
    options.knownHosts === undefined
      ? DEFAULT_KNOWN_HOSTS
      : typeof options.knownHosts === 'string'
        ? [options.knownHosts]
        : options.knownHosts;
  const policy = new HostKeyPolicy(
    insecure ? [] : await readKnownHosts(knownHostsPaths),
    options.hostFingerprints ?? {},
  );
  const log = context.log;
  if (insecure) {
    log.warn(
      'sftp: HOST KEY CHECKING IS OFF (insecureSkipHostKeyCheck): any server, or anyone in the middle, is accepted',
    );
  }
  const secrets = [password, privateKey, passphrase].filter(
    (s): s is string => s !== undefined && s !== '',
  );
  const secretsFor = (target: SftpTarget) =>
    target.password === undefined ? secrets : [...secrets, target.password];
  const defaults = { user: options.username ?? localUser(), password };
  const readyTimeout = options.readyTimeoutMs ?? 20_000;
  const keepaliveInterval = options.keepAliveIntervalMs ?? 15_000;

  const pool = new ConnectionPool<SftpConnection, SftpTarget>(
    gatedDriver(
      {
        async connect(host, target, signal) {
          const url = new URL(
            `sftp://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}/`,
          );
          const client = new SftpClient('dl', silentEvents);
          const ssh = (client as unknown as ClientInternals).client;
          const connection: SftpConnection = { client, ssh, channel: undefined, broken: false };
          let verdict: HostKeyVerdict | undefined;
          let raw: Error | undefined;
          ssh.on('close', () => (connection.broken = true));
          ssh.on('error', (error: Error) => {
            raw ??= error;
            connection.broken = true;
          });
          const onAbort = () => ssh.destroy();
          signal.addEventListener('abort', onAbort, { once: true });
          const algorithms = insecure
            ? undefined
            : policy.preferredAlgorithms(target.host, target.port);
          // SFTP is request/response in small packets: without NODELAY, Nagle's algorithm and delayed
          // ACKs add 40 ms to every round trip; the socket gathers each tick's writes instead.
          const sock = new Socket();
          sock.setNoDelay(true);
          sock.connect({ host: target.host, port: target.port });
          coalesceWrites(sock);
          try {
            const connecting = client.connect({
              sock,
              host: target.host,
              port: target.port,
              username: target.username,
              ...(target.password === undefined ? {} : { password: target.password }),
              ...(privateKey === undefined ? {} : { privateKey }),
              ...(passphrase === undefined ? {} : { passphrase }),
              ...(agent === undefined ? {} : { agent }),
              hostVerifier: (key: Buffer) => {
                if (insecure) return true;
                verdict = policy.verify(target.host, target.port, key);
                return verdict.trusted;
              },
              ...(algorithms === undefined ? {} : { algorithms: { serverHostKey: algorithms } }),
              readyTimeout,
              keepaliveInterval,
              keepaliveCountMax: 3,
              tryKeyboard: false,
            } as SftpClient.ConnectOptions);
            const channel = (await connecting) as unknown as SftpChannel;
            // ssh2 emits protocol errors on the SFTP channel; unheard, they would crash the process.
            channel.on('error', () => (connection.broken = true));
            connection.channel = channel;
            log.debug('sftp: connected', { host });
            return connection;
          } catch (error) {
            ssh.destroy();
            sock.destroy();
            connection.broken = true;
            if (signal.aborted) throw abortError(signal.reason, url);
            if (verdict !== undefined && !verdict.trusted)
              throw untrustedHostKey(verdict, target.host, target.port, url);
            throw toSftpError(raw ?? error, url, secretsFor(target));
          } finally {
            signal.removeEventListener('abort', onAbort);
          }
        },
        isAlive: (connection) =>
          !connection.broken &&
          (connection.client as unknown as ClientInternals).sftp !== undefined,
        async close(connection) {
          connection.broken = true;
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            connection.client.end().catch(() => undefined),
            new Promise((resolve) => {
              timer = setTimeout(resolve, 2000);
            }),
          ]);
          clearTimeout(timer);
          connection.ssh.destroy();
        },
        destroy(connection) {
          connection.broken = true;
          connection.ssh.destroy();
        },
      },
      context,
      // The fleet counts connections per address and port, as the pool does.
      (_host, target) =>
        `sftp://${target.host.includes(':') ? `[${target.host}]` : target.host}:${String(target.port)}`,
    ),
    {
      limit: poolLimit(context, options.maxConnectionsPerHost),
      idleTimeoutMs: poolIdleTimeout(context, options.idleTimeoutMs ?? 60_000),
      keepAliveIntervalMs: 0,
    },
  );

  const session: SftpSessionInternals = {
    ...pooledSession(pool, context, poolHostOf),
    pool,
    log,
    chunkSize: options.chunkSize ?? 64 * 1024,
    target: (url) => sftpTarget(url, defaults),
    toError: (error, target, url) => toSftpError(error, url, secretsFor(target)),
    // ssh2 ends a lost connection with 'close'; a transfer on it fails at once.
    closeEvents: (connection) => connection.ssh,
    run: (transfer) => runSftpTransfer(session, transfer),
  };
  return session;
}
