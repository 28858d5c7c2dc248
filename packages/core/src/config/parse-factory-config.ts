import { DownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { FactoryConfig } from './factory-config.js';

/**
 * Checks plain data (parsed JSON) against the {@link FactoryConfig} shape.
 * Errors name the bad field, e.g. `config.limits.perHost`.
 */
export function parseFactoryConfig(data: unknown): FactoryConfig {
  const root = object(data, 'config');
  if (root.dl !== 1) throw bad('config.dl', 'must be 1 (the format version)');
  const limits = object(root.limits, 'config.limits');
  const retry = object(root.retry, 'config.retry');
  const adapters = array(root.adapters, 'config.adapters');
  const interceptors =
    root.interceptors === undefined ? [] : array(root.interceptors, 'config.interceptors');
  if (root.userAgent !== undefined && typeof root.userAgent !== 'string') {
    throw bad('config.userAgent', 'must be a string');
  }
  return {
    dl: 1,
    limits: {
      total: count(limits.total, 'config.limits.total'),
      perHost: count(limits.perHost, 'config.limits.perHost'),
      ...(limits.rate === undefined ? {} : { rate: rate(limits.rate, 'config.limits.rate') }),
      ...(limits.ratePerHost === undefined
        ? {}
        : { ratePerHost: rate(limits.ratePerHost, 'config.limits.ratePerHost') }),
    },
    retry: {
      maxAttempts: count(retry.maxAttempts, 'config.retry.maxAttempts'),
      baseDelayMs: duration(retry.baseDelayMs, 'config.retry.baseDelayMs'),
      maxDelayMs: duration(retry.maxDelayMs, 'config.retry.maxDelayMs'),
    },
    ...(root.userAgent === undefined ? {} : { userAgent: root.userAgent as string }),
    adapters: adapters.map((entry, i) => {
      const where = `config.adapters[${i}]`;
      const item = object(entry, where);
      if (typeof item.name !== 'string' || item.name === '')
        throw bad(`${where}.name`, 'must be a non-empty string');
      return { name: item.name, options: item.options ?? {} };
    }),
    interceptors: interceptors.map((entry, i) => {
      const where = `config.interceptors[${i}]`;
      const item = object(entry, where);
      if (typeof item.type !== 'string' || item.type === '')
        throw bad(`${where}.type`, 'must be a non-empty string');
      return { type: item.type, options: item.options ?? {} };
    }),
  };
}

function object(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw bad(where, 'must be an object');
  return value as Record<string, unknown>;
}

function array(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw bad(where, 'must be an array');
  return value;
}

function count(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw bad(where, `must be a whole number ≥ 1, got ${JSON.stringify(value)}`);
  }
  return value;
}

function rate(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1) {
    throw bad(where, `must be a number of bytes per second ≥ 1, got ${JSON.stringify(value)}`);
  }
  return value;
}

function duration(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw bad(where, `must be a number of milliseconds ≥ 0, got ${JSON.stringify(value)}`);
  }
  return value;
}

function bad(where: string, what: string): DownloadError {
  return new DownloadError(`Invalid factory configuration: ${where} ${what}`, {
    code: ErrorCodes.InvalidRequest,
    details: { field: where },
  });
}
