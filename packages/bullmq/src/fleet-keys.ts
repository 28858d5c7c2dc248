import { HOST_TAG } from '@dl/core';

/** BullMQ's key prefix, unless another is passed. */
export const DEFAULT_PREFIX = 'bull';

/** The key holding a run's factory configuration (plain data, no secret values). */
export function runKey(prefix: string, queue: string, runId: string): string {
  return `${prefix}:${queue}:dlrun:${runId}`;
}

/** This process as core's temp files name their owner: `HOST_TAG-pid`. */
export function selfOwner(): string {
  return `${HOST_TAG}-${process.pid}`;
}

/** The heartbeat key of a worker process `owner` (`host-pid`): present while it lives. */
export function heartbeatKey(prefix: string, owner: string): string {
  return `${prefix}:worker:${owner}`;
}
