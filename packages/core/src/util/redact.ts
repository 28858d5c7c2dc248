const SECRET_PARAM = /token|sig|signature|secret|password|passwd|pwd|key|auth|credential|session/i;
const USERINFO_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@'"<>]*)@/gi;
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>()]+/gi;
const AUTH_IN_TEXT =
  /\b(authorization|proxy-authorization|cookie|set-cookie)(["']?\s*[:=]\s*["']?)([^\r\n"',}]+)/gi;

/**
 * A URL with its credentials removed: userinfo dropped and the values of
 * query parameters that look like secrets (token, signature, key, …) replaced.
 * Used for every URL that appears in an error, a log line or a result.
 */
export function redactUrl(url: string | URL): string {
  // Most URLs carry nothing to remove: skip the reparse (it runs for every download).
  if (url instanceof URL && url.username === '' && url.password === '' && url.search === '') {
    return url.href;
  }
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : new URL(url.href);
  } catch {
    return redactText(String(url));
  }
  parsed.username = '';
  parsed.password = '';
  for (const name of [...parsed.searchParams.keys()]) {
    if (SECRET_PARAM.test(name)) parsed.searchParams.set(name, 'REDACTED');
  }
  return parsed.href;
}

function redactQuery(url: string): string {
  const [head, query = ''] = url.split('?', 2) as [string, string?];
  const params = query.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    return eq > 0 && SECRET_PARAM.test(pair.slice(0, eq)) ? `${pair.slice(0, eq)}=REDACTED` : pair;
  });
  return `${head}?${params.join('&')}`;
}

/**
 * Text with the secrets we can recognise removed: URL userinfo, credential
 * headers, and any literal secrets the caller names (passwords, tokens).
 */
export function redactText(text: string, secrets: Iterable<string> = []): string {
  let out = text
    .replace(URL_IN_TEXT, (url) => (url.includes('?') ? redactQuery(url) : url))
    .replace(USERINFO_IN_TEXT, (_m, scheme: string) => `${scheme}REDACTED@`)
    .replace(AUTH_IN_TEXT, (_m, name: string, sep: string) => `${name}${sep}REDACTED`);
  for (const secret of secrets) {
    if (secret.length >= 3) out = out.split(secret).join('REDACTED');
  }
  return out;
}
