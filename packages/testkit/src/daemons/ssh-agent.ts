import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findBinary } from './find-binary.js';
import { runChecked } from './run-command.js';

/** An ssh-agent started by {@link startSshAgent}. */
export interface RunningSshAgent extends AsyncDisposable {
  /** The agent's socket: what `SSH_AUTH_SOCK` would be. */
  readonly socket: string;
  /** Adds a private key file (unencrypted, or with its passphrase) to the agent. */
  add(privateKeyPath: string): Promise<void>;
  /** Kills the agent and removes its socket. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a private ssh-agent (`ssh-agent -D -a <socket>`) in a temp folder. */
export async function startSshAgent(): Promise<RunningSshAgent> {
  const agent = findBinary('ssh-agent', 'apt-get install -y openssh-client');
  const sshAdd = findBinary('ssh-add', 'apt-get install -y openssh-client');
  const dir = await mkdtemp(join(tmpdir(), 'dl-agent-'));
  const socket = join(dir, 'agent.sock');
  const child = spawn(agent, ['-D', '-a', socket], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; !existsSync(socket); i++) {
    if (i > 500 || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error('ssh-agent did not create its socket');
    }
    await sleep(10);
  }
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  return {
    socket,
    async add(privateKeyPath) {
      await runChecked(sshAdd, ['-q', privateKeyPath], {
        env: { ...process.env, SSH_AUTH_SOCK: socket },
      });
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
