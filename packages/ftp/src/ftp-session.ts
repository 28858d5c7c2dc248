import { readFile } from 'node:fs/promises';
import type { ConnectionOptions } from 'node:tls';
import { Client } from 'basic-ftp';
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
import type { FtpAdapterOptions, PemSource } from './ftp-adapter-options.js';
import { replyCode, toFtpError } from './ftp-errors.js';
import { ftpTarget, type FtpTarget, type TargetDefaults } from './ftp-target.js';
import { runFtpTransfer } from './ftp-transfer.js';

/**
 * The shared state of one `ftp()` adapter in one factory: logged-in
 * connections pooled per host. Exposed for diagnostics.
 */
export type FtpSession = PooledSession;

/** The session's internals: what the adapter's `open` runs a leased transfer with. */
export interface FtpSessionInternals extends FtpSession, LeasedTransferDriver<Client, FtpTarget> {
  readonly log: Logger;
  /** `MDTM` always (true), never (false), or when no digest guards the bytes (undefined). */
  readonly modificationTime: boolean | undefined;
}

async function readPem(source: PemSource): Promise<string> {
  if (typeof source === 'string') return source;
  try {
    return await readFile(source.file, 'utf8');
  } catch (error) {
    throw new DownloadError(`Cannot read the CA file ${source.file}`, {
      code: ErrorCodes.InvalidRequest,
      cause: error,
    });
  }
}

function poolHostOf(origin: string, defaults: TargetDefaults): string | undefined {
  try {
    return ftpTarget(new URL(`${origin}/x`), defaults).poolHost;
  } catch {
    return undefined;
  }
}

/** Creates the session of an `ftp()` adapter: resolves secrets and CAs, sets up the pool. */
export async function createFtpSession(
  options: FtpAdapterOptions,
  context: SessionContext,
): Promise<FtpSessionInternals> {
  const password =
    options.password === undefined
      ? undefined
      : await resolveSecret(options.password, 'FTP password');
  const caSources =
    options.ca === undefined
      ? []
      : Array.isArray(options.ca)
        ? options.ca
        : [options.ca as PemSource];
  const ca = await Promise.all(caSources.map(readPem));
  const defaults: TargetDefaults = {
    user: options.user,
    password,
    tls: options.tls ?? 'none',
    ftpsMode: options.ftpsMode ?? 'implicit',
  };
  const timeoutMs = options.timeoutMs ?? 30_000;
  const secrets = password === undefined ? [] : [password];
  const tlsOptions: ConnectionOptions = {
    ...(ca.length > 0 ? { ca } : {}),
    rejectUnauthorized: options.insecureSkipTlsVerify !== true,
  };
  const log = context.log;
  if (options.insecureSkipTlsVerify === true) {
    log.warn(
      'ftp: FTPS certificate verification is OFF (insecureSkipTlsVerify): servers are not authenticated',
    );
  }
  const pool = new ConnectionPool<Client, FtpTarget>(
    gatedDriver(
      {
        async connect(host, target, signal) {
          const client = new Client(timeoutMs);
          client.ftp.verbose = false;
          const onAbort = () => client.close();
          signal.addEventListener('abort', onAbort, { once: true });
          try {
            await client.access({
              host: target.host,
              port: target.port,
              user: target.user,
              password: target.password,
              secure: target.tls === 'none' ? false : target.tls === 'implicit' ? 'implicit' : true,
              secureOptions: { ...tlsOptions },
            });
            log.debug('ftp: connected', {
              host,
              tls: target.tls,
              user: target.user === 'anonymous' ? 'anonymous' : 'named',
            });
            return client;
          } catch (error) {
            client.close();
            if (signal.aborted) throw abortError(signal.reason);
            const url = new URL(`ftp://${host}/`);
            if (replyCode(error) === 421) {
              // "Too many users": the server allows fewer connections than we have open. Each 421 of a
              // burst lowers the limit once more, as the refused connections are counted out one by one.
              const limit = Math.max(1, pool.openCount(host) - 1);
              pool.lower(host, limit);
              log.info('ftp: server refused a connection (421); lowering its connection limit', {
                host,
                limit,
              });
            }
            throw toFtpError(error, url, [...secrets, target.password]);
          } finally {
            signal.removeEventListener('abort', onAbort);
          }
        },
        isAlive: (client) => !client.closed,
        async close(client) {
          client.close();
        },
        destroy: (client) => client.close(),
        async ping(client) {
          await client.send('NOOP');
        },
      },
      context,
      // The fleet counts connections per address and port, as the pool does.
      (_host, target) =>
        `ftp://${target.host.includes(':') ? `[${target.host}]` : target.host}:${String(target.port)}`,
    ),
    {
      limit: poolLimit(context, options.maxConnectionsPerHost),
      idleTimeoutMs: poolIdleTimeout(context, options.idleTimeoutMs ?? 60_000),
      keepAliveIntervalMs: options.keepAliveIntervalMs ?? 20_000,
    },
  );

  const session: FtpSessionInternals = {
    ...pooledSession(pool, context, (origin) => poolHostOf(origin, defaults)),
    pool,
    log,
    modificationTime: options.modificationTime,
    target: (url) => ftpTarget(url, defaults),
    toError: (error, target, url) => toFtpError(error, url, [...secrets, target.password]),
    run: (transfer) => runFtpTransfer(session, transfer),
  };
  return session;
}
