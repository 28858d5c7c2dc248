import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { OpenInterceptor, RemoteResource } from '@dl/core';
import {
  adapterConformance,
  startVsftpd,
  type ConformanceFixture,
  type RunningVsftpd,
  type VsftpdOptions,
} from '@dl/testkit';
import { it } from 'vitest';
import { ftp, type FtpAdapterOptions } from './index.js';

interface VsftpdFixture extends ConformanceFixture {
  readonly server: RunningVsftpd;
}

/**
 * A conformance fixture over a real vsftpd. Transfers are slowed down
 * (`maxRate`) so that `cutAfter` lands mid-file: it kills the daemon's
 * session processes once the body passed the given byte count, which is a
 * real dropped connection, not a simulated one.
 */
function vsftpdFixture(options: VsftpdOptions): () => Promise<VsftpdFixture> {
  return async () => {
    const server = await startVsftpd({ maxRate: 4_000_000, ...options });
    let watch = server.watchConnections(2);
    const cuts = new Map<string, number>();
    const cutter: OpenInterceptor = (next) => async (request) => {
      const resource = await next(request);
      const at = cuts.get(request.url.pathname);
      const cutAt = at ?? 0;
      if (at === undefined) return resource;
      cuts.delete(request.url.pathname);
      const body = resource.body as AsyncIterable<Uint8Array>;
      async function* cutting(): AsyncGenerator<Uint8Array> {
        let seen = 0;
        let killed = false;
        for await (const chunk of body) {
          yield chunk;
          seen += chunk.byteLength;
          if (!killed && seen >= cutAt) {
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
      activeTransfers: () => server.dataConnections(),
      interceptors: [cutter],
      async stop() {
        watch.stop();
        await server.stop();
      },
    };
  };
}

const variants: {
  name: string;
  server: VsftpdOptions;
  adapter: (server: RunningVsftpd) => FtpAdapterOptions;
}[] = [
  { name: 'ftp', server: {}, adapter: () => ({}) },
  {
    name: 'ftps (explicit AUTH TLS)',
    server: { tls: 'explicit' },
    adapter: (server) => ({ tls: 'explicit', ca: server.ca as string }),
  },
  {
    name: 'ftps (implicit)',
    server: { tls: 'implicit' },
    adapter: (server) => ({ ca: server.ca as string }),
  },
];

for (const variant of variants) {
  adapterConformance(it, {
    name: variant.name,
    fixture: vsftpdFixture(variant.server),
    adapter: (fixture) => ftp({ idleTimeoutMs: 5_000, ...variant.adapter(fixture.server) }),
    builder: ftp,
    timeoutMs: 30_000,
  });
}
