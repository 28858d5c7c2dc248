import { setTimeout as sleep } from 'node:timers/promises';
import { userInfo } from 'node:os';
import { findBinary } from './find-binary.js';
import { runCommand } from './run-command.js';

/**
 * A login on this machine that daemons authenticate with a password. Its
 * password is set on every start: test files that may run at the same time
 * must use different names (or the same password).
 */
export interface SystemUser {
  readonly name: string;
  readonly password: string;
}

const ensured = new Map<string, Promise<void>>();

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/**
 * Makes sure the system user `name` exists with `password`, creating it with
 * `useradd` (shell `/bin/sh`, listed in /etc/shells as PAM's `pam_shells`
 * wants) and setting the password with `chpasswd`. Needs root: daemons that
 * check passwords against the system (vsftpd local users, sshd without PAM)
 * cannot be given a user any other way. Concurrent test processes may race
 * here, so "already exists" counts as success and a locked password file is
 * retried.
 */
export function ensureSystemUser(user: SystemUser): Promise<void> {
  const key = `${user.name}\0${user.password}`;
  let pending = ensured.get(key);
  if (pending === undefined) {
    pending = create(user);
    ensured.set(key, pending);
    pending.catch(() => ensured.delete(key));
  }
  return pending;
}

async function create(user: SystemUser): Promise<void> {
  if (!/^[a-z_][a-z0-9_-]{0,30}$/.test(user.name)) throw new Error(`Bad user name ${user.name}`);
  if (user.password.includes('\n') || user.password.includes(':')) {
    throw new Error('A system user password may not contain a newline or a colon');
  }
  if (!isRoot()) {
    if (userInfo().username === user.name) return;
    throw new Error(
      `Creating the system user ${user.name} needs root (running as ${userInfo().username}). ` +
        'Run the tests as root, or create the user yourself: useradd -M -s /bin/sh NAME && chpasswd',
    );
  }
  const useradd = findBinary('useradd', 'apt-get install -y passwd');
  const chpasswd = findBinary('chpasswd', 'apt-get install -y passwd');
  const added = await runCommand(useradd, ['-M', '-N', '-d', '/tmp', '-s', '/bin/sh', user.name]);
  // 9: the user already exists (another test process may have just made it).
  if (added.code !== 0 && added.code !== 9) {
    throw new Error(`useradd ${user.name} failed (${added.code}): ${added.stderr.trim()}`);
  }
  for (let attempt = 0; ; attempt++) {
    const set = await runCommand(chpasswd, [], { input: `${user.name}:${user.password}\n` });
    if (set.code === 0) return;
    if (attempt >= 20) throw new Error(`chpasswd for ${user.name} failed: ${set.stderr.trim()}`);
    await sleep(100 + Math.random() * 200);
  }
}
