/**
 * A `NO_PROXY`-style exclusion list: comma- or space-separated entries, each
 * `*` (everything), a host name (matching it and its subdomains; a leading
 * `.` or `*.` means the same), an IP address, or either with `:port`.
 */
export type NoProxyMatcher = (url: URL) => boolean;

/** Builds the matcher of an exclusion list. */
export function parseNoProxy(list: string | readonly string[] | undefined): NoProxyMatcher {
  const entries = (typeof list === 'string' ? list.split(/[\s,]+/) : (list ?? []))
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean)
    .map(parseEntry);
  if (entries.length === 0) return () => false;
  return (url) => {
    const host = stripBrackets(url.hostname.toLowerCase());
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    return entries.some((entry) => {
      if (entry.any) return true;
      if (entry.port !== undefined && entry.port !== port) return false;
      return host === entry.host || host.endsWith(`.${entry.host}`);
    });
  };
}

interface Entry {
  any: boolean;
  host: string;
  port?: string;
}

function parseEntry(raw: string): Entry {
  if (raw === '*') return { any: true, host: '' };
  let value = raw.replace(/^\*?\./, '');
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (bracketed) {
    value = bracketed[1] ?? '';
    port = bracketed[2];
  } else if ((value.match(/:/g) ?? []).length === 1) {
    const [host, p] = value.split(':');
    value = host ?? '';
    port = p;
  }
  return port === undefined ? { any: false, host: value } : { any: false, host: value, port };
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
