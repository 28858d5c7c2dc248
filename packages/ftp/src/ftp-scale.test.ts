import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDownloaderFactory, type DownloadRequest } from '@dl/core';
import { generatedContent, startVsftpd, waitFor } from '@dl/testkit';
import { expect, it } from 'vitest';
import { ftp } from './index.js';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

it('downloads 1,000 files of 16 KiB at per-host 4; vsftpd never sees more than 4 connections', async () => {
  // max_per_ip 4: a fifth connection would be refused with 421 and show up as a second attempt.
  const server = await startVsftpd({ maxPerIp: 4 });
  const dir = await mkdtemp(join(tmpdir(), 'dl-ftp-scale-'));
  const factory = createDownloaderFactory({ adapters: [ftp()], limits: { total: 16, perHost: 4 } });
  try {
    const count = 1000;
    const size = 16 * 1024;
    await mkdir(join(server.root, 'many'));
    const digests: string[] = [];
    for (let i = 0; i < count; i++) {
      const data = generatedContent(`/many/${i}.bin`, size);
      digests.push(sha256(data));
      await writeFile(join(server.root, 'many', `${i}.bin`), data);
    }
    function* requests(): Generator<DownloadRequest<number>> {
      for (let i = 0; i < count; i++) {
        yield {
          url: server.url(`many/${i}.bin`),
          destination: join(dir, `${i}.bin`),
          size,
          digests: { sha256: digests[i] as string },
          context: i,
        };
      }
    }
    const watch = server.watchConnections(20);
    const started = Date.now();
    let ok = 0;
    let retried = 0;
    const failures: string[] = [];
    for await (const outcome of factory.downloadAll(requests())) {
      if (outcome.ok) {
        ok++;
        if (outcome.result.attempts > 1) retried++;
      } else failures.push(`${outcome.context}: ${outcome.error.code} ${outcome.error.message}`);
    }
    const elapsed = Date.now() - started;
    const max = watch.stop();
    console.log(
      `ftp: ${count} files in ${elapsed} ms, server saw at most ${max} connections (${watch.samples} samples)`,
    );
    expect(failures).toEqual([]);
    expect(ok).toBe(count);
    expect(retried).toBe(0);
    expect(max).toBeLessThanOrEqual(4);
    expect(max).toBeGreaterThanOrEqual(1);
    expect((await readdir(dir)).length).toBe(count);
  } finally {
    await factory.close();
    await waitFor(() => server.connections() === 0, 3000);
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}, 60_000);
