import type { RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'bullmq';
import { DownloadError, ErrorCodes } from '@dl/core';

/**
 * Where the fleet's Redis is: a `redis://[user:password@]host:port/db` URL
 * (`rediss://` for TLS) or ioredis options. Every BullMQ object of the fleet
 * opens its own connections from it, with `maxRetriesPerRequest: null` (as
 * BullMQ requires) so a Redis restart is waited out instead of failing.
 */
export type FleetConnection = string | RedisOptions;

/** The ioredis options BullMQ is given for a {@link FleetConnection}. */
export function connectionOptions(connection: FleetConnection): ConnectionOptions {
  if (typeof connection !== 'string') {
    return { ...connection, maxRetriesPerRequest: null } as ConnectionOptions;
  }
  let url: URL;
  try {
    url = new URL(connection);
  } catch (cause) {
    throw badUrl(connection, cause);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw badUrl(connection);
  const db = url.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw badUrl(connection);
  return {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? 6379 : Number(url.port),
    ...(db === '' ? {} : { db: Number(db) }),
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

function badUrl(text: string, cause?: unknown): DownloadError {
  return new DownloadError(
    `Invalid Redis connection ${text}: expected redis://HOST:PORT/DB or rediss://…`,
    { code: ErrorCodes.InvalidRequest, cause, details: { field: 'connection' } },
  );
}
