import { createHash } from 'node:crypto';
import { makeBigFile, makeFiles } from './data.mjs';
import { ANY_BODY } from './nginx.mjs';
import {
  aria2Tool,
  curlOpensslTool,
  curlTool,
  dlTool,
  lftpMirrorTool,
  naiveTool,
  nodeFloorTool,
  wget2Tool,
} from './tools.mjs';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Sizes of the full run and of `--quick` (a smoke run). */
export function sizes(quick) {
  return quick
    ? {
        w1: 500,
        w2: 64 * MiB,
        w3: 200,
        w4: 200,
        w5: 20_000,
        w5small: 2_000,
        s1: 64 * MiB,
        s1clients: 100,
      }
    : {
        w1: 5_000,
        w2: 2 * GiB,
        w3: 1_000,
        w4: 1_000,
        w5: 200_000,
        w5small: 20_000,
        s1: 1 * GiB,
        s1clients: 100,
      };
}

const toItems = (entries, urlOf) => () =>
  entries.map((e) => ({ url: urlOf(e.rel), path: e.rel, size: e.size, sha256: e.sha256 }));

/**
 * Builds the workload definitions (generating their data on the servers'
 * folders). `env`: { quick, runs, tmpfs, disk, www, nginx, ftp, sshd,
 * sftpAuth, dlBin, dlProblem, missing, watch }
 */
export async function buildWorkloads(env, only) {
  const s = sizes(env.quick);
  // `--only W1-TMPFS` must still build the W1 block; the list is filtered by full id at the end.
  const want = (prefix) =>
    only === undefined || only.some((o) => o.startsWith(prefix) || prefix.startsWith(o));
  const selected = (id) => only === undefined || only.some((o) => id.toUpperCase().startsWith(o));
  const unavailableFor = (tools) => {
    const out = {};
    for (const t of tools) {
      if (t.name === 'dl' && env.dlProblem) out[t.name] = env.dlProblem;
      const program = t.program ?? t.name.split(/[ |]/)[0];
      if (env.missing.includes(program)) out[t.name] = `${program} is not installed`;
    }
    return out;
  };
  const timeoutMs = env.quick ? 180_000 : 900_000;
  const w = [];
  const httpWatch = [{ name: 'http', start: () => env.watch(env.nginx.port) }];
  const count = (n) => n.toLocaleString('en-US');

  if (want('W1')) {
    const entries = await makeFiles(env.www, 'w1', s.w1, 16 * KiB);
    const items = toItems(entries, (rel) => env.nginx.url(rel));
    for (const [where, outBase, sync] of [
      ['tmpfs', env.tmpfs, false],
      ['disk', env.disk, true],
    ]) {
      const tools = [
        dlTool({ bin: env.dlBin, concurrency: 16 }),
        aria2Tool({ concurrency: 16 }),
        naiveTool({ concurrency: 16 }),
        curlTool({ concurrency: 16 }),
        nodeFloorTool({ concurrency: 16 }),
      ];
      w.push({
        id: `W1-${where}`,
        title: `HTTP ${count(s.w1)} files × 16 KiB, 16 connections, sha256 each, output on ${where}`,
        unit: 'files',
        amount: s.w1,
        items,
        outBase,
        sync,
        watch: httpWatch,
        tools,
        unavailable: unavailableFor(tools),
        runs: env.runs,
        timeoutMs,
        goals: [
          { peer: 'aria2c', ratio: 1.5 },
          { peer: 'naive Node', ratio: 2 },
          { peer: 'curl --parallel + sha256sum', ratio: 1.0 },
        ],
      });
    }
  }

  if (want('W2')) {
    const entry = await makeBigFile(env.www, 'w2/big.bin', s.w2);
    const items = toItems([entry], (rel) => env.nginx.url(rel));
    const tools = [
      dlTool({ bin: env.dlBin, concurrency: 1 }),
      curlOpensslTool(),
      aria2Tool({ concurrency: 1 }),
      naiveTool({ concurrency: 1 }),
      wget2Tool(),
      nodeFloorTool({ concurrency: 1 }),
    ];
    w.push({
      id: 'W2',
      title: `HTTP one ${s.w2 / MiB} MiB file, sha256, output on disk`,
      unit: 'bytes',
      amount: s.w2,
      items,
      outBase: env.disk,
      sync: true,
      watch: httpWatch,
      tools,
      unavailable: unavailableFor(tools),
      runs: env.runs,
      timeoutMs,
      goals: [
        { peer: 'curl | openssl dgst', ratio: 1.5 },
        { peer: 'aria2c', ratio: 1.5 },
        { peer: 'naive Node', ratio: 1.5 },
        { peer: 'wget2 (no hash)', ratio: 1.0 },
      ],
      notes: [
        'Goal: ≥ 1.5 × the best peer that verifies; wget2 does not hash (the rate to aim at). aria2c runs with one connection (-x1 -s1) like dl.',
      ],
    });
  }

  if (want('W3') && env.ftp) {
    const entries = await makeFiles(env.ftp.root, 'w3', s.w3, 16 * KiB);
    const items = toItems(entries, (rel) => env.ftp.url(rel));
    const tools = [
      dlTool({ bin: env.dlBin, concurrency: 8 }),
      curlTool({ concurrency: 8 }),
      lftpMirrorTool({
        concurrency: 8,
        site: `ftp://127.0.0.1:${env.ftp.port}`,
        remoteDir: '/w3',
        localDir: 'w3',
      }),
    ];
    w.push({
      id: 'W3',
      title: `FTP ${count(s.w3)} files × 16 KiB, 8 connections, sha256 each, output on tmpfs`,
      unit: 'files',
      amount: s.w3,
      items,
      outBase: env.tmpfs,
      watch: [{ name: 'control', start: () => env.watch(env.ftp.port) }],
      tools,
      unavailable: unavailableFor(tools),
      runs: env.runs,
      timeoutMs,
      goals: [
        { peer: 'curl --parallel + sha256sum', ratio: 1.0 },
        { peer: 'lftp mirror + sha256sum', ratio: 1.0 },
      ],
      notes: [
        'vsftpd, anonymous login, passive mode. curl and lftp do not verify digests: `sha256sum -c` runs after them inside the timing, as dl verifies every file.',
        'Conns counts control connections only (data connections use the passive port range).',
      ],
    });
  }

  if (want('W4') && env.sshd) {
    const entries = await makeFiles(env.sshd.root, 'w4', s.w4, 16 * KiB);
    const items = toItems(entries, (rel) => env.sshd.url(rel, env.sftpAuth));
    const tools = [
      dlTool({
        bin: env.dlBin,
        concurrency: 8,
        // dl takes credentials by reference, never in the URL.
        mapUrl: (url) => {
          const u = new URL(url);
          u.password = '';
          return u.href;
        },
        env: { DL_BENCH_SFTP_PASSWORD: env.sftpAuth.password },
        extraArgs: [
          '--sftp-password-env',
          'DL_BENCH_SFTP_PASSWORD',
          '--sftp-user',
          env.sftpAuth.user,
          '--known-hosts',
          env.sshd.knownHostsFile,
        ],
      }),
      curlTool({
        concurrency: 8,
        extraArgs: ['--hostpubsha256', env.sshd.hostKey.fingerprint.replace(/^SHA256:/, '')],
      }),
      aria2Tool({
        concurrency: 8,
        extraArgs: [`--ssh-host-key-md=sha-1=${sha1OfKey(env.sshd.hostKey.openssh)}`],
      }),
    ];
    w.push({
      id: 'W4',
      title: `SFTP ${count(s.w4)} files × 16 KiB, 8 connections, sha256 each, output on tmpfs`,
      unit: 'files',
      amount: s.w4,
      items,
      outBase: env.tmpfs,
      watch: [{ name: 'ssh', start: () => env.watch(env.sshd.port) }],
      tools,
      unavailable: unavailableFor(tools),
      runs: env.runs,
      timeoutMs,
      goals: [
        { peer: 'curl --parallel + sha256sum', ratio: 1.0 },
        { peer: 'aria2c', ratio: 1.0 },
      ],
      notes: [
        'OpenSSH sshd (internal-sftp), password login (aria2c supports no other), host key pinned for every tool.',
      ],
    });
  }

  if (want('W5')) {
    const sha256 = createHash('sha256').update(ANY_BODY).digest('hex');
    const manyItems = (n) =>
      function* () {
        for (let i = 0; i < n; i++) {
          const name = String(i).padStart(6, '0');
          yield {
            url: env.nginx.url(`any/${name}`),
            path: `w5/${name.slice(0, 3)}/${name}`,
            size: 1024,
            sha256,
          };
        }
      };
    const tools = [
      dlTool({ bin: env.dlBin, concurrency: 16 }),
      aria2Tool({ concurrency: 16, extraArgs: ['--deferred-input=true'] }),
      naiveTool({ concurrency: 16 }),
      nodeFloorTool({ concurrency: 16 }),
    ];
    w.push({
      id: 'W5',
      title: `${count(s.w5)}-line manifest, 1 KiB bodies, 16 connections, output on tmpfs`,
      unit: 'files',
      amount: s.w5,
      items: manyItems(s.w5),
      outBase: env.tmpfs,
      watch: httpWatch,
      tools,
      unavailable: unavailableFor(tools),
      runs: env.runs,
      timeoutMs: env.quick ? 300_000 : 1_800_000,
      goals: [
        { peer: 'aria2c', ratio: 1.0 },
        { peer: 'naive Node', ratio: 2 },
      ],
      notes: [
        'aria2c runs with --deferred-input=true (reads its input file as it goes, as dl does).',
      ],
    });
    const small = [dlTool({ bin: env.dlBin, concurrency: 16 })];
    w.push({
      id: 'W5-small',
      title: `the same with a ${count(s.w5small)}-line manifest (dl only: RSS flatness)`,
      unit: 'files',
      amount: s.w5small,
      items: manyItems(s.w5small),
      outBase: env.tmpfs,
      watch: httpWatch,
      tools: small,
      unavailable: unavailableFor(small),
      runs: env.runs,
      timeoutMs,
      rssCheck: true,
    });
  }
  return w.filter((workload) => selected(workload.id));
}

/** aria2's `--ssh-host-key-md=sha-1=…`: SHA-1 of the host key blob, hex. */
function sha1OfKey(openssh) {
  const blob = Buffer.from(openssh.split(/\s+/)[1], 'base64');
  return createHash('sha1').update(blob).digest('hex');
}
