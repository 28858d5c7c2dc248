/**
 * One challenge of a `WWW-Authenticate` header: the scheme (lowercase) and
 * its parameters (names lowercase, values unquoted), e.g. the OCI registry's
 * `Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"`.
 */
export interface AuthChallenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parses every challenge of one or more `WWW-Authenticate` values (RFC 9110 §11.6.1). */
export function parseAuthChallenges(
  header: string | readonly string[] | undefined,
): AuthChallenge[] {
  if (header === undefined) return [];
  const values = typeof header === 'string' ? [header] : header;
  return values.flatMap(parseOne);
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;

function parseOne(value: string): AuthChallenge[] {
  const challenges: { scheme: string; params: Record<string, string> }[] = [];
  let i = 0;
  const skip = (chars: RegExp) => {
    while (i < value.length && chars.test(value[i] ?? '')) i++;
  };
  const token = (): string | undefined => {
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(value);
    if (!m) return undefined;
    i = TOKEN.lastIndex;
    return m[0];
  };
  while (i < value.length) {
    skip(/[\s,]/);
    const start = i;
    const name = token();
    if (name === undefined) {
      i++;
      continue;
    }
    skip(/\s/);
    if (value[i] === '=' && challenges.length > 0 && !/^=+\s*(,|$)/.test(value.slice(i))) {
      i++;
      skip(/\s/);
      const param = readValue();
      const last = challenges[challenges.length - 1];
      if (last) last.params[name.toLowerCase()] = param;
      continue;
    }
    if (value[i] === '=' && challenges.length > 0) {
      // token68 (base64-ish blob) after the scheme: kept whole.
      skip(/=/);
      const last = challenges[challenges.length - 1];
      if (last) last.params.token68 = value.slice(start, i);
      continue;
    }
    challenges.push({ scheme: name.toLowerCase(), params: {} });
  }
  return challenges;

  function readValue(): string {
    if (value[i] !== '"') return token() ?? '';
    let out = '';
    i++;
    while (i < value.length && value[i] !== '"') {
      if (value[i] === '\\' && i + 1 < value.length) i++;
      out += value[i];
      i++;
    }
    i++;
    return out;
  }
}
