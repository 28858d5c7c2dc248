import { hostname } from 'node:os';

/** BullMQ's key prefix, unless another is passed. */
export const DEFAULT_PREFIX = 'bull';

/** The key holding a run's factory configuration (plain data, no secret values). */
export function runKey(prefix: string, queue: string, runId: string): string {
  return `${prefix}:${queue}:dlrun:${runId}`;
}

/** This process as a temp-file owner: `host-pid`. */
export function selfOwner(): string {
  return `${hostname()}-${process.pid}`;
}

/** The heartbeat key of a worker process `owner` (`host-pid`): present while it lives. */
export function heartbeatKey(prefix: string, owner: string): string {
  return `${prefix}:worker:${owner}`;
}
