import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type RunningDaemon } from './daemon-process.js';
import { findBinary } from './find-binary.js';
import { descendants, openFilesUnder } from './process-tree.js';
import { runChecked } from './run-command.js';
import type { SshdOptions } from './sshd-options.js';
import { ensureSystemUser } from './system-user.js';

/** A public key as OpenSSH prints it, with its SHA256 fingerprint. */
export interface SshPublicKey {
  /** `ssh-ed25519 AAAA…` (type and base64 blob, no comment). */
  readonly openssh: string;
  /** `SHA256:…` as `ssh-keygen -l` prints it. */
  readonly fingerprint: string;
  /** The key type, e.g. `ssh-ed25519`. */
  readonly type: string;
}

/** An sshd started by {@link startSshd}. */
export interface RunningSshd extends RunningDaemon {
  /** A folder readable by {@link username}, for test files. SFTP paths to it are absolute. */
  readonly root: string;
  /** The login. */
  readonly username: string;
  /** Its password, when password authentication was set up. */
  readonly password: string | undefined;
  /** PEM (OpenSSH format) of the user's private key, authorized on this server. */
  readonly privateKey: string;
  /** Path of that private key file. */
  readonly privateKeyPath: string;
  /** The passphrase of the private key, when it is encrypted. */
  readonly passphrase: string | undefined;
  /** The server's host key. */
  readonly hostKey: SshPublicKey;
  /** Files under {@link root} the server's sessions hold open now: SFTP transfers in flight. */
  openFiles(): number;
  /** A `known_hosts` line for this server (`[127.0.0.1]:PORT ssh-ed25519 AAAA…`). */
  readonly knownHostsLine: string;
  /** A `known_hosts` file holding {@link knownHostsLine}. */
  readonly knownHostsFile: string;
  /** `sftp://user@127.0.0.1:PORT/<root>/<path>`, `path` relative to {@link root}. */
  url(path: string, auth?: { user?: string; password?: string }): string;
  /** Generates another key pair (not authorized anywhere), e.g. to test a changed host key. */
  generateKey(
    type?: 'ed25519' | 'ecdsa' | 'rsa',
  ): Promise<{ privateKey: string; publicKey: SshPublicKey }>;
}

/** Parses an OpenSSH public key line into its type, blob and fingerprint. */
export function parseSshPublicKey(line: string): SshPublicKey {
  const [type, blob] = line.trim().split(/\s+/);
  if (type === undefined || blob === undefined)
    throw new Error(`Not an OpenSSH public key: ${line}`);
  const digest = createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64');
  return { openssh: `${type} ${blob}`, type, fingerprint: `SHA256:${digest.replace(/=+$/, '')}` };
}

async function keyPair(
  keygen: string,
  file: string,
  type: 'ed25519' | 'ecdsa' | 'rsa',
  passphrase = '',
): Promise<{ privateKey: string; publicKey: SshPublicKey }> {
  await runChecked(keygen, [
    '-q',
    '-t',
    type,
    ...(type === 'rsa' ? ['-b', '2048'] : []),
    '-N',
    passphrase,
    '-C',
    'dl-test',
    '-f',
    file,
  ]);
  return {
    privateKey: await readFile(file, 'utf8'),
    publicKey: parseSshPublicKey(await readFile(`${file}.pub`, 'utf8')),
  };
}

/**
 * Starts a real OpenSSH sshd on 127.0.0.1 (`sshd -D -e -f <own config>`):
 * a free port, a generated host key and user key, no PAM, the authorized
 * keys in its temp folder, `internal-sftp` as the sftp subsystem. Needs the
 * privilege separation folder `/run/sshd` (created when missing) and, for a
 * password login or another user, root. Throws with an install hint when
 * sshd is missing.
 */
export async function startSshd(options: SshdOptions = {}): Promise<RunningSshd> {
  const binary = findBinary('sshd', 'apt-get install -y openssh-server');
  const keygen = findBinary('ssh-keygen', 'apt-get install -y openssh-client');
  const current = userInfo().username;
  const username = options.user?.name ?? current;
  const password = options.user?.password;
  if (password !== undefined || username !== current) {
    await ensureSystemUser({ name: username, password: password ?? `!${Math.random()}` });
  }
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 }).catch((error: unknown) => {
    throw new Error(
      `sshd needs /run/sshd (privilege separation); creating it failed: ${String(error)}`,
    );
  });

  const dir = await mkdtemp(join(tmpdir(), 'dl-sshd-'));
  const root = join(dir, 'root');
  await mkdir(root);
  await chmod(dir, 0o755);
  await chmod(root, 0o755);
  const hostKeyType = options.hostKeyType ?? 'ed25519';
  const host = await keyPair(keygen, join(dir, 'host_key'), hostKeyType);
  const user = await keyPair(keygen, join(dir, 'user_key'), 'ed25519', options.userKeyPassphrase);
  const authorizedKeys = join(dir, 'authorized_keys');
  await writeFile(authorizedKeys, `${user.publicKey.openssh} dl-test\n`, { mode: 0o644 });

  const knownHostsFile = join(dir, 'known_hosts');
  const configFile = join(dir, 'sshd_config');
  const settings: Record<string, string | number> = {
    ...options.config,
    ListenAddress: '127.0.0.1',
    HostKey: join(dir, 'host_key'),
    PidFile: 'none',
    UsePAM: 'no',
    StrictModes: 'no',
    AuthorizedKeysFile: authorizedKeys,
    PubkeyAuthentication: 'yes',
    PasswordAuthentication: password === undefined ? 'no' : 'yes',
    KbdInteractiveAuthentication: 'no',
    PermitRootLogin: username === 'root' ? 'yes' : 'no',
    PermitEmptyPasswords: 'no',
    AllowUsers: username,
    Subsystem: 'sftp internal-sftp',
    MaxSessions: options.maxSessions ?? 10,
    MaxStartups: options.maxStartups ?? '100',
    LoginGraceTime: 30,
    UseDNS: 'no',
    LogLevel: 'VERBOSE',
  };

  const daemon = await startDaemon({
    name: 'sshd',
    binary,
    async prepare(port) {
      await writeFile(
        configFile,
        `Port ${port}\n${Object.entries(settings)
          .map(([key, value]) => `${key} ${value}`)
          .join('\n')}\n`,
        { mode: 0o600 },
      );
      return ['-D', '-e', '-f', configFile];
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  });
  const knownHostsLine = `[127.0.0.1]:${daemon.port} ${host.publicKey.openssh}`;
  await writeFile(knownHostsFile, `${knownHostsLine}\n`);
  return {
    ...daemon,
    root,
    username,
    password,
    privateKey: user.privateKey,
    privateKeyPath: join(dir, 'user_key'),
    passphrase: options.userKeyPassphrase,
    hostKey: host.publicKey,
    knownHostsLine,
    knownHostsFile,
    openFiles: () => openFilesUnder(descendants(daemon.pid), root),
    url(path, auth = {}) {
      const name = auth.user ?? username;
      const userinfo = `${encodeURIComponent(name)}${auth.password === undefined ? '' : `:${encodeURIComponent(auth.password)}`}@`;
      const full = `${root}/${path.replace(/^\/+/, '')}`;
      return `sftp://${userinfo}${daemon.host}:${daemon.port}${full.split('/').map(encodeURIComponent).join('/')}`;
    },
    async generateKey(type = 'ed25519') {
      const file = join(dir, `extra_${Date.now()}_${Math.random().toString(36).slice(2)}`);
      return keyPair(keygen, file, type);
    },
  };
}
