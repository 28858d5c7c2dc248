import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { OpenInterceptor, RemoteResource } from '@dl/core';
import {
  adapterConformance,
  startSshd,
  type ConformanceFixture,
  type RunningSshd,
} from '@dl/testkit';
import { it } from 'vitest';
import { sftp } from './index.js';

interface SshdFixture extends ConformanceFixture {
  readonly server: RunningSshd;
}

/**
 * A conformance fixture over a real OpenSSH sshd. `cutAfter` kills the
 * daemon's session processes once the body passed the given byte count: a
 * real dropped connection. Transfers in flight are the files the sessions
 * hold open under the served folder.
 */
async function sshdFixture(): Promise<SshdFixture> {
  const server = await startSshd();
  let watch = server.watchConnections(2);
  const cuts = new Map<string, number>();
  const cutter: OpenInterceptor = (next) => async (request) => {
    const resource = await next(request);
    const at = cuts.get(request.url.pathname);
    if (at === undefined) return resource;
    cuts.delete(request.url.pathname);
    const body = resource.body as AsyncIterable<Uint8Array>;
    async function* cutting(): AsyncGenerator<Uint8Array> {
      let seen = 0;
      let killed = false;
      for await (const chunk of body) {
        yield chunk;
        seen += chunk.byteLength;
        if (!killed && seen >= (at ?? 0)) {
          killed = true;
          server.killSessions();
        }
      }
    }
    return { ...resource, body: cutting() } satisfies RemoteResource;
  };
  return {
    server,
    url: (path) => server.url(path),
    async put(path, data) {
      const file = join(server.root, path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, data);
    },
    cutAfter(path, bytes) {
      cuts.set(new URL(server.url(path)).pathname, bytes);
    },
    peakConnections: () => watch.max,
    resetPeak() {
      watch.stop();
      watch = server.watchConnections(2);
    },
    activeTransfers: () => server.openFiles(),
    interceptors: [cutter],
    async stop() {
      watch.stop();
      await server.stop();
    },
  };
}

adapterConformance(it, {
  name: 'sftp',
  fixture: sshdFixture,
  adapter: (fixture) =>
    sftp({
      username: fixture.server.username,
      // By reference, so the plain-data handoff can carry it.
      privateKey: { file: fixture.server.privateKeyPath },
      knownHosts: fixture.server.knownHostsFile,
      idleTimeoutMs: 5_000,
    }),
  builder: sftp,
  timeoutMs: 30_000,
});
