const DEFAULT_PORTS: Record<string, string> = {
  'http:': '80',
  'https:': '443',
  'ftp:': '21',
  'ftps:': '990',
  'sftp:': '22',
};

/**
 * The key per-host limits count by: scheme, host and port. `URL.origin` is
 * "null" for schemes Node does not know (sftp:), so it is built by hand.
 */
export function originOf(url: URL): string {
  const port = url.port || DEFAULT_PORTS[url.protocol] || '';
  return `${url.protocol}//${url.hostname}${port ? `:${port}` : ''}`;
}
