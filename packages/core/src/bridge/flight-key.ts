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
  // Computed for every request: plain loops, and no sort for the usual zero or one entry.
  const digests: string[][] = [];
  for (const algorithm in target.digests) {
    const hex = (target.digests as Record<string, unknown>)[algorithm];
    if (typeof hex === 'string') digests.push([algorithm, hex.toLowerCase()]);
  }
  const headers: string[][] = [];
  for (const name in target.headers) headers.push([name.toLowerCase(), target.headers[name]!]);
  if (digests.length > 1) digests.sort(byName);
  if (headers.length > 1) headers.sort(byName);
  return JSON.stringify([url, target.size ?? null, digests, headers, target.cache ?? null]);
}

function byName(a: string[], b: string[]): number {
  return a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0;
}
