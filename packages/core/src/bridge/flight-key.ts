import type { StreamTarget } from './streamer-options.js';

/**
 * What makes two targets the same download for sharing: URL, expected size
 * and digests, request headers and cache path. Targets with custom
 * validators are never shared (functions cannot be compared meaningfully),
 * nor are those whose URL does not parse (the download will say why).
 */
export function flightKey(target: StreamTarget<unknown>): string | undefined {
  if (target.validators !== undefined && target.validators.length > 0) return undefined;
  let url: string;
  try {
    url = (target.url instanceof URL ? target.url : new URL(String(target.url))).href;
  } catch {
    return undefined;
  }
  const digests = Object.entries(target.digests ?? {})
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .map(([algorithm, hex]) => [algorithm, hex.toLowerCase()])
    .sort(byName);
  const headers = Object.entries(target.headers ?? {})
    .map(([name, value]) => [name.toLowerCase(), value])
    .sort(byName);
  return JSON.stringify([url, target.size ?? null, digests, headers, target.cache ?? null]);
}

function byName(a: string[], b: string[]): number {
  return a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0;
}
