import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ProtocolAdapter } from '@dl/core';
import { ftp } from '@dl/ftp';
import { http } from '@dl/http';
import { sftp } from '@dl/sftp';
import {
  startFaultProxy,
  startHttpFixture,
  startSshd,
  startVsftpd,
  type FaultProxy,
  type FaultSchedule,
  type HttpFixture,
  type RunningSshd,
  type RunningVsftpd,
} from '@dl/testkit';

export type Protocol = 'http' | 'ftp' | 'sftp';
export const PROTOCOLS: readonly Protocol[] = ['http', 'ftp', 'sftp'];

/** One real server with fault proxies in front of it, each proxy a mirror. */
export interface Site {
  readonly protocol: Protocol;
  readonly proxies: readonly FaultProxy[];
  /** Base URLs of the server's `pub/` folder through each proxy. */
  readonly bases: readonly string[];
  /** Base URL of `pub/` on the server itself. */
  readonly directBase: string;
  /** Serves `data` at `pub/<path>`. */
  put(path: string, data: Uint8Array): Promise<void>;
  /** Connections the server sees now (control and data connections for FTP). */
  serverConnections(): number;
}

/** The three servers, each behind `mirrorsPerSite` fault proxies. */
export interface Sites {
  readonly web: HttpFixture;
  readonly ftpd: RunningVsftpd;
  readonly sshd: RunningSshd;
  readonly site: Readonly<Record<Protocol, Site>>;
  /** Adapters for the three protocols with short timeouts, trusting the sshd's host key on any port. */
  adapters(): ProtocolAdapter[];
  stop(): Promise<void>;
}

/** How long a client waits in silence before it gives up: stalls are made longer than this. */
export const IDLE_MS = 1000;

/**
 * Starts an HTTP fixture, a vsftpd and an sshd, each behind
 * `mirrorsPerSite` fault proxies with `schedule(protocol, index)` (seeded
 * per proxy).
 */
export async function startSites(
  mirrorsPerSite: number,
  schedule: (protocol: Protocol, index: number) => FaultSchedule,
): Promise<Sites> {
  const [web, ftpd, sshd] = await Promise.all([
    startHttpFixture({ keepAliveTimeoutMs: 10_000, requestLogSize: 20_000 }),
    startVsftpd({ passivePorts: 128 }),
    startSshd({ maxStartups: '200', maxSessions: 100 }),
  ]);
  const proxiesOf = (protocol: Protocol, port: number) =>
    Promise.all(
      Array.from({ length: mirrorsPerSite }, (_, index) =>
        startFaultProxy({
          target: { host: '127.0.0.1', port },
          seed: 1000 * (PROTOCOLS.indexOf(protocol) + 1) + index,
          ftp: protocol === 'ftp',
          ...schedule(protocol, index),
        }),
      ),
    );
  const [httpProxies, ftpProxies, sftpProxies] = await Promise.all([
    proxiesOf('http', web.port),
    proxiesOf('ftp', ftpd.port),
    proxiesOf('sftp', sshd.port),
  ]);
  const putFile = async (root: string, path: string, data: Uint8Array) => {
    const file = join(root, 'pub', path);
    await mkdir(dirname(file), { recursive: true, mode: 0o755 });
    await writeFile(file, data, { mode: 0o644 });
  };
  const site: Record<Protocol, Site> = {
    http: {
      protocol: 'http',
      proxies: httpProxies,
      bases: httpProxies.map((p) => `http://127.0.0.1:${p.port}/pub/`),
      directBase: web.url('/pub/'),
      put: async (path, data) => web.put(`/pub/${path}`, data),
      serverConnections: () => web.stats().connections,
    },
    ftp: {
      protocol: 'ftp',
      proxies: ftpProxies,
      bases: ftpProxies.map((p) => `ftp://127.0.0.1:${p.port}/pub/`),
      directBase: ftpd.url('pub/'),
      put: (path, data) => putFile(ftpd.root, path, data),
      serverConnections: () => ftpd.connections() + ftpd.dataConnections(),
    },
    sftp: {
      protocol: 'sftp',
      proxies: sftpProxies,
      bases: sftpProxies.map(
        (p) => `sftp://${encodeURIComponent(sshd.username)}@127.0.0.1:${p.port}${sshd.root}/pub/`,
      ),
      directBase: sshd.url('pub/'),
      put: (path, data) => putFile(sshd.root, path, data),
      serverConnections: () => sshd.connections(),
    },
  };
  return {
    web,
    ftpd,
    sshd,
    site,
    adapters: () => [
      http({ timeouts: { connect: 3000, headers: IDLE_MS, idle: IDLE_MS } }),
      ftp({ timeoutMs: IDLE_MS, keepAliveIntervalMs: 0 }),
      sftp({
        username: sshd.username,
        privateKey: sshd.privateKey,
        // The proxies listen on other ports than the daemon: trust its key on any port of the host.
        hostFingerprints: { '127.0.0.1': sshd.hostKey.fingerprint },
        knownHosts: [],
        keepAliveIntervalMs: IDLE_MS / 3,
        readyTimeoutMs: 5000,
      }),
    ],
    async stop() {
      await Promise.all([...httpProxies, ...ftpProxies, ...sftpProxies].map((p) => p.stop()));
      await Promise.all([web.stop(), ftpd.stop(), sshd.stop()]);
    },
  };
}
