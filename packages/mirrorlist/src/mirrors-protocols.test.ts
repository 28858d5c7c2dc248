import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  DownloadError,
  ErrorCodes,
  createDownloaderFactory,
  type DownloaderFactory,
} from '@dl/core';
import { ftp } from '@dl/ftp';
import { http } from '@dl/http';
import { sftp } from '@dl/sftp';
import {
  freePort,
  startHttpFixture,
  startSshd,
  startVsftpd,
  type HttpFixture,
  type RunningSshd,
  type RunningVsftpd,
} from '@dl/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mirrors, type MirrorsOptions } from './index.js';
import { hashes, metalink4 } from './test-support/documents.js';
import { content, rejection } from './test-support/mirror-fixtures.js';

let web: HttpFixture;
let ftpd: RunningVsftpd;
let sshd: RunningSshd;
let dead: string;
let factory: DownloaderFactory | undefined;

beforeAll(async () => {
  [web, ftpd, sshd] = await Promise.all([startHttpFixture(), startVsftpd(), startSshd()]);
  dead = `http://127.0.0.1:${await freePort()}/pub/`;
}, 60_000);

afterAll(async () => {
  await Promise.all([web?.stop(), ftpd?.stop(), sshd?.stop()]);
});

afterEach(async () => {
  await factory?.close();
  factory = undefined;
});

async function put(root: string, path: string, data: Uint8Array): Promise<void> {
  const file = join(root, path);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, data);
}

/** The three protocols' bases, HTTP first. */
const bases = () => ({
  http: web.url('/pub/'),
  ftp: ftpd.url('pub/'),
  sftp: sshd.url('pub/'),
});

function build(options: MirrorsOptions): DownloaderFactory {
  factory = createDownloaderFactory({
    adapters: [
      http(),
      ftp(),
      sftp({
        username: sshd.username,
        privateKey: sshd.privateKey,
        knownHosts: sshd.knownHostsFile,
        idleTimeoutMs: 5_000,
      }),
    ],
    interceptors: [mirrors(options)],
    retry: { maxAttempts: 4, baseDelayMs: 5, maxDelayMs: 40 },
  });
  return factory;
}

describe('mirrors of three protocols together', () => {
  it('a dead HTTP mirror and a stale FTP mirror: the file comes from SFTP', async () => {
    const file = content(50_000);
    await put(sshd.root, 'pub/a/one.bin', file.data);
    const f = build({ sets: { repo: { mirrors: [dead, bases().ftp, bases().sftp] } } });
    const result = await f.download({
      url: 'mirror://repo/a/one.bin',
      digests: { sha256: file.sha256 },
    });
    expect(result.url).toMatch(/^sftp:/);
    expect(result.attempts).toBe(1);
    expect(result.digests.sha256).toBe(file.sha256);
  });

  it('an HTTP mirror cut mid-file: the rest is resumed over FTP from the offset reached', async () => {
    const file = content(400_000);
    web.put('/pub/b/big.bin', file.data);
    await put(ftpd.root, 'pub/b/big.bin', file.data);
    web.fault('/pub/b/big.bin', { resetAfter: 150_000, times: Infinity });
    const f = build({ sets: { repo: { mirrors: [bases().http, bases().ftp] } } });
    const result = await f.download({
      url: 'mirror://repo/b/big.bin',
      digests: { sha256: file.sha256 },
    });
    expect(result.url).toMatch(/^ftp:/);
    expect(result.attempts).toBe(2);
    expect(result.resumedBytes).toBeGreaterThan(0);
    expect(result.resumedBytes).toBeLessThanOrEqual(150_000);
    expect(result.digests.sha256).toBe(file.sha256);
  });

  it('an FTP mirror with corrupted bytes: failover to SFTP, then the FTP mirror cools down', async () => {
    const good = content(30_000);
    const bad = Buffer.from(good.data);
    bad[100] = bad[100]! ^ 0xff;
    const second = content(10_000);
    await put(ftpd.root, 'pub/c/1.bin', bad);
    await put(sshd.root, 'pub/c/1.bin', good.data);
    await put(sshd.root, 'pub/c/2.bin', second.data);
    await put(ftpd.root, 'pub/c/2.bin', second.data);
    const f = build({ sets: { repo: { mirrors: [bases().ftp, bases().sftp] } } });
    const first = await f.download({
      url: 'mirror://repo/c/1.bin',
      digests: { sha256: good.sha256 },
    });
    expect(first.url).toMatch(/^sftp:/);
    expect(first.attempts).toBe(2);
    // FTP is listed first and healthy for 2.bin, but it served bad bytes: SFTP is asked first.
    const next = await f.download({
      url: 'mirror://repo/c/2.bin',
      digests: { sha256: second.sha256 },
    });
    expect(next.url).toMatch(/^sftp:/);
    expect(next.attempts).toBe(1);
  });

  it('every mirror failing: the error lists the HTTP, FTP and SFTP mirror and each code', async () => {
    web.fault('/pub/d/gone.bin', { status: 503, times: Infinity });
    const f = build({ sets: { repo: { mirrors: [bases().http, bases().ftp, bases().sftp] } } });
    const error = (await rejection(
      f.download({ url: 'mirror://repo/d/gone.bin' }),
    )) as DownloadError;
    expect(error.code).toBe(ErrorCodes.AllSourcesFailed);
    const attempts = error.details.attempts as { url: string; code: string }[];
    const byScheme = new Map(attempts.map((x) => [new URL(x.url).protocol, x.code]));
    expect(byScheme.get('http:')).toBe('remote-unavailable');
    expect(byScheme.get('ftp:')).toBe('not-found');
    expect(byScheme.get('sftp:')).toBe('not-found');
    expect(error.message).toMatch(
      /http:\/\/127\.0\.0\.1:\d+\/pub\/d\/gone\.bin \(remote-unavailable/,
    );
    expect(error.message).toMatch(/ftp:\/\/127\.0\.0\.1:\d+\/pub\/d\/gone\.bin \(not-found/);
    expect(error.message).toMatch(/sftp:\/\/127\.0\.0\.1:\d+\/.*\/pub\/d\/gone\.bin \(not-found/);
  });

  it('a metalink fetched over FTP points at SFTP and HTTP mirrors; its hash catches a bad HTTP copy', async () => {
    const file = content(20_000);
    const h = hashes(file.data);
    const corrupt = Buffer.from(file.data);
    corrupt[0] = corrupt[0]! ^ 1;
    web.put('/pub/e/f.bin', corrupt);
    await put(sshd.root, 'pub/e/f.bin', file.data);
    await put(
      ftpd.root,
      'lists/e.meta4',
      Buffer.from(
        metalink4([
          {
            name: 'e/f.bin',
            size: file.data.length,
            hashes: { 'sha-256': h.sha256, 'sha-512': h.sha512 },
            urls: [
              { url: web.url('/pub/e/f.bin'), rank: 1 },
              { url: sshd.url('pub/e/f.bin'), rank: 2 },
            ],
          },
        ]),
      ),
    );
    const f = build({ sets: { meta: { list: ftpd.url('lists/e.meta4') } } });
    const result = await f.download({ url: 'mirror://meta/e/f.bin' });
    expect(result.url).toMatch(/^sftp:/);
    expect(result.attempts).toBe(2);
    expect(result.digests).toMatchObject({ sha256: h.sha256, sha512: h.sha512 });
  });
});
