// The embedded default (`pnpm demo`): starts local HTTP, FTP and SFTP
// servers on 127.0.0.1 with generated content and a mirror list whose first
// mirror is down, then runs the built `dl get` over a manifest mixing all of
// them (every line with its sha256), shows its progress display and summary,
// checks every file once more on its own, and cleans up. No outside network.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dlBin = join(root, 'packages/cli/dist/bin.js');
// The root is not a workspace package, so the built testkit is imported by path.
const testkit = await import(pathToFileURL(join(root, 'packages/testkit/dist/index.js')).href);
const { freePort, generatedContent, startHttpFixture, startSshd, startVsftpd } = testkit;

const sha256 = (data) => createHash('sha256').update(data).digest('hex');
const say = (text) => process.stdout.write(`\x1b[1m${text}\x1b[22m\n`);

const KiB = 1024;
const MiB = 1024 * KiB;
// [protocol, folder, how many, size of each]
const PLAN = [
  ['http', 'http', 24, 96 * KiB],
  ['http', 'http-large', 3, 8 * MiB],
  ['ftp', 'ftp', 12, 128 * KiB],
  ['sftp', 'sftp', 12, 128 * KiB],
  ['file', 'local', 6, 64 * KiB],
  ['mirror', 'mirrored', 18, 256 * KiB],
];

const work = await mkdtemp(join(tmpdir(), 'dl-demo-'));
const servers = [];
let child;
let interrupted = false;
const onSignal = (signal) => {
  interrupted = true;
  child?.kill(signal);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

let status = 1;
try {
  say('dl demo: starting local servers (HTTP, vsftpd, OpenSSH sshd) on 127.0.0.1…');
  const [web, ftpd, sshd] = await Promise.all([
    startHttpFixture(),
    // A per-session rate limit, so the progress display has something to show.
    startVsftpd({ maxRate: 1.5 * MiB }),
    startSshd(),
  ]);
  servers.push(web, ftpd, sshd);
  const downPort = await freePort();

  const lines = [];
  const expected = new Map();
  const local = join(work, 'local');
  for (const [protocol, folder, count, size] of PLAN) {
    for (let i = 0; i < count; i++) {
      const name = `${folder}/file-${String(i).padStart(2, '0')}.bin`;
      const data = generatedContent(`/${name}`, size);
      let url;
      if (protocol === 'http') {
        web.put(`/${name}`, data);
        url = web.url(`/${name}`);
      } else if (protocol === 'ftp') {
        await put(join(ftpd.root, name), data);
        url = ftpd.url(name);
      } else if (protocol === 'sftp') {
        await put(join(sshd.root, name), data);
        url = sshd.url(name);
      } else if (protocol === 'file') {
        await put(join(local, name), data);
        url = pathToFileURL(join(local, name)).href;
      } else {
        // One copy on each working mirror; the manifest names the file relative to the list.
        web.put(`/mirror/${name}`, data);
        await put(join(ftpd.root, 'mirror', name), data);
        await put(join(sshd.root, 'mirror', name), data);
        url = name;
      }
      lines.push(JSON.stringify({ url, path: name, size, digests: { sha256: sha256(data) } }));
      expected.set(name, sha256(data));
    }
  }
  // Real-world trouble the run recovers from: a connection cut mid-file
  // (resumed from where it stopped) and a 503 with Retry-After.
  web.fault('/http/file-00.bin', { resetAfter: 40 * KiB });
  web.fault('/http/file-01.bin', { status: 503, retryAfter: 1 });
  for (let i = 0; i < 3; i++)
    web.fault(`/http/file-0${i + 2}.bin`, { stallAfter: 32 * KiB, stallMs: 700 });

  const sftpMirror = new URL(sshd.url('mirror/'));
  sftpMirror.username = '';
  await writeFile(
    join(work, 'mirrors.txt'),
    [
      '# the first mirror is down on purpose',
      `http://127.0.0.1:${downPort}/mirror/`,
      web.url('/mirror/'),
      ftpd.url('mirror/'),
      sftpMirror.href,
      '',
    ].join('\n'),
  );
  await writeFile(join(work, 'manifest.jsonl'), `${lines.join('\n')}\n`);

  const args = [
    'get',
    '-i',
    'manifest.jsonl',
    '--mirrorlist',
    'mirrors.txt',
    '-o',
    'out',
    '-j',
    '8',
    '--per-host',
    '4',
    '--ssh-key',
    sshd.privateKeyPath,
    '--known-hosts',
    sshd.knownHostsFile,
  ];
  say(
    `dl demo: ${lines.length} files (HTTP, FTP, SFTP, file: and ${PLAN.at(-1)[2]} through a mirror list whose first mirror is down), every one with its sha256`,
  );
  say(`dl demo: in ${work}`);
  say(`dl demo: $ dl ${args.join(' ')}`);
  status = await new Promise((resolve, reject) => {
    child = spawn(process.execPath, [dlBin, ...args], { cwd: work, stdio: 'inherit' });
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 1)));
  });

  if (status === 0) {
    let checked = 0;
    for (const [name, digest] of expected) {
      const actual = sha256(await readFile(join(work, 'out', name)));
      if (actual !== digest) throw new Error(`${name}: sha256 ${actual}, expected ${digest}`);
      checked++;
    }
    say(`dl demo: checked all ${checked} files again outside dl: every sha256 matches`);
  } else {
    say(`dl demo: dl exited with status ${status}${interrupted ? ' (interrupted)' : ''}`);
  }
} catch (error) {
  console.error(`dl demo: ${error instanceof Error ? error.message : String(error)}`);
  status = status === 0 ? 1 : status;
} finally {
  await Promise.allSettled(servers.map((server) => server.stop()));
  await rm(work, { recursive: true, force: true });
  say('dl demo: servers stopped, temporary files removed');
}
process.exit(status);

async function put(path, data) {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, data);
}
