import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { run } from './proc.mjs';

/** Each program the bench runs, and the Debian package that ships it. */
const PROGRAMS = [
  ['nginx', 'nginx-light'],
  ['vsftpd', 'vsftpd'],
  ['sshd', 'openssh-server'],
  ['ssh-keygen', 'openssh-client'],
  ['aria2c', 'aria2'],
  ['wget2', 'wget2'],
  ['lftp', 'lftp'],
  ['curl', 'curl'],
  ['openssl', 'openssl'],
  ['sha256sum', 'coreutils'],
  ['ss', 'iproute2'],
  ['ps', 'procps'],
  ['time', 'time'],
  ['strace', 'strace'],
];

const SBIN = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

/** The absolute path of `name` on PATH (or in an sbin folder), or undefined. */
export function which(name) {
  const folders = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SBIN];
  for (const folder of folders) {
    try {
      const candidate = join(folder, name);
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/**
 * Installs the Debian packages of the programs that are missing (apt-get,
 * needs root). Returns the programs still missing afterwards, so the caller
 * can leave out the peers that need them and say so.
 */
export async function ensurePrograms({ install = true, log = console.error } = {}) {
  const missing = () => PROGRAMS.filter(([name]) => which(name) === undefined);
  const before = missing();
  if (before.length > 0 && install) {
    const packages = [...new Set(before.map(([, pkg]) => pkg))];
    if (process.getuid?.() !== 0) {
      log(`bench: missing ${packages.join(', ')}; run as root to install them with apt-get`);
    } else {
      log(`bench: installing ${packages.join(', ')} with apt-get…`);
      const env = { DEBIAN_FRONTEND: 'noninteractive' };
      await run('apt-get', ['update', '-qq'], { env, allowFailure: true });
      const result = await run(
        'apt-get',
        ['install', '-y', '-qq', '--no-install-recommends', ...packages],
        { env, allowFailure: true },
      );
      if (result.code !== 0) log(`bench: apt-get install failed:\n${result.stderr.slice(-2000)}`);
    }
  }
  return missing().map(([name]) => name);
}
