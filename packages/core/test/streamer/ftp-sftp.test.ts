import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ftp } from '@dl/ftp';
import { sftp } from '@dl/sftp';
import {
  generatedContent,
  startSshd,
  startVsftpd,
  waitFor,
  type RunningSshd,
  type RunningVsftpd,
} from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDownloaderFactory,
  createStreamer,
  type DownloaderFactory,
} from '../../src/index.js';
import { fetchRaw, openRaw, sha256, startStreamerServer, type StreamerServer } from './support.js';

const SIZE = 3 * 1024 * 1024;
const DATA = generatedContent('/proto.bin', SIZE);

let vsftpd: RunningVsftpd;
let sshd: RunningSshd;
let factory: DownloaderFactory;
let server: StreamerServer;

beforeAll(async () => {
  [vsftpd, sshd] = await Promise.all([startVsftpd(), startSshd()]);
  await writeFile(join(vsftpd.root, 'proto.bin'), DATA);
  await writeFile(join(sshd.root, 'proto.bin'), DATA);
  factory = createDownloaderFactory({
    adapters: [ftp(), sftp({ privateKey: sshd.privateKey, knownHosts: sshd.knownHostsFile })],
  });
  server = await startStreamerServer(createStreamer({ downloader: factory }), (path) => {
    const [, scheme] = path.split('/');
    const url = scheme === 'ftp' ? vsftpd.url('proto.bin') : sshd.url('proto.bin');
    return { url, size: SIZE, digests: { sha256: sha256(DATA) } };
  });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await factory?.destroy();
  await Promise.all([vsftpd?.[Symbol.asyncDispose](), sshd?.[Symbol.asyncDispose]()]);
});

describe.each(['ftp', 'sftp'])('streamer in front of %s', (scheme) => {
  it('streams the validated file with its length', async () => {
    const got = await fetchRaw(server.url(`/${scheme}`));
    expect(got.status).toBe(200);
    expect(got.complete).toBe(true);
    expect(got.headers['content-length']).toBe(String(SIZE));
    expect(got.headers['content-type']).toBe('application/octet-stream');
    expect(sha256(got.body)).toBe(sha256(DATA));
  });

  it('serves a Range by starting the remote read at the offset', async () => {
    const got = await fetchRaw(server.url(`/${scheme}`), {
      headers: { range: 'bytes=2000000-2000099' },
    });
    expect(got.status).toBe(206);
    expect(got.headers['content-range']).toBe(`bytes 2000000-2000099/${SIZE}`);
    expect(Buffer.compare(got.body, Buffer.from(DATA.subarray(2_000_000, 2_000_100)))).toBe(0);
  });

  it('a client that leaves ends the remote transfer', async () => {
    const outcome = server.nextOutcomes(1);
    const client = await openRaw(server.url(`/${scheme}`));
    await new Promise((resolve) => client.res.once('data', resolve));
    client.destroy();
    expect((await outcome)[0]).toMatchObject({ ok: false, error: { code: 'aborted' } });
    await waitFor(() => factory.stats().active === 0, 1000);
    if (scheme === 'ftp') await waitFor(() => vsftpd.dataConnections() === 0, 1000);
  });
});
