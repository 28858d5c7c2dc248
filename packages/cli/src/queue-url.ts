import { redactUrl } from '@dl/core';
import { UsageError } from './exit-codes.js';

/** The `redis://` (or `rediss://`) URL `--queue` names, checked: a usage error otherwise. */
export function queueUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--queue "${raw}": expected redis://HOST:PORT/DB`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new UsageError(`--queue "${redactUrl(url)}": expected redis://HOST:PORT/DB`);
  }
  return url.href;
}
