import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeBigFile, makeFiles } from './data.mjs';
import { ANY_BODY } from './nginx.mjs';
import { startDelayServer } from './h2-server.mjs';
import { run } from './proc.mjs';
import { fleetTool, stopChild, workerHelp } from './fleet.mjs';
import {
  aria2Tool,
  curlOpensslTool,
  curlTool,
  dlTool,
  lftpMirrorTool,
  naiveTool,
  nodeFloorTool,
  wget2ListTool,
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
        w6: 500,
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
        w6: 5_000,
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
      if ((t.name === 'dl' || t.name.startsWith('dl ')) && env.dlProblem)
        out[t.name] = env.dlProblem;
      const program = t.program ?? t.name.split(/[ |]/)[0];
      if (env.missing.includes(program)) out[t.name] = `${program} is not installed`;
    }
    return out;
  };
  const timeoutMs = env.quick ? 180_000 : 900_000;
  const w = [];
  const httpWatch = [{ name: 'http', start: () => env.watch(env.nginx.port) }];
  const count = (n) => n.toLocaleString('en-US');

  let w1Files;
  const w1Entries = () => (w1Files ??= makeFiles(env.www, 'w1', s.w1, 16 * KiB));
  if (want('W1')) {
    const entries = await w1Entries();
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
      dlTool({
        name: 'dl --split 4',
        bin: env.dlBin,
        concurrency: 1,
        perHost: 4,
        extraArgs: ['--split', '4'],
      }),
      curlOpensslTool(),
      aria2Tool({ concurrency: 1 }),
      aria2Tool({ name: 'aria2c -x4', concurrency: 1, connections: 4 }),
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
        'dl --split 4 (4 range connections, --per-host 4) next to aria2c -x4 -s4: on loopback there is no per-connection cap to beat, so these rows show the cost of splitting; the gain is against a distant or per-connection-capped server.',
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
  if (want('W6')) w.push(await buildW6(env, s, timeoutMs, unavailableFor, count));
  if (want('F1')) w.push(await buildF1(env, s, timeoutMs, w1Entries, count));
  return w.filter((workload) => selected(workload.id));
}

/**
 * F1: the fleet. Plain `dl get` against `dl get --queue` with 1, 2 and 4
 * `dl worker` processes on the W1 files, all through one redis-server of
 * the bench's own (testkit's startRedis: loopback, its own folder).
 */
async function buildF1(env, s, timeoutMs, w1Entries, count) {
  const base = {
    id: 'F1',
    title: `fleet: dl get --queue with 1, 2 and 4 dl workers vs plain dl get, HTTP ${count(s.w1)} files × 16 KiB (W1), 16 connections, output on tmpfs`,
  };
  if (env.dlProblem) return { ...base, skipped: `not available: ${env.dlProblem}` };
  const help = await workerHelp(env.dlBin);
  if (help === undefined)
    return { ...base, skipped: 'not available: dl worker missing (`dl worker --help`)' };
  let redis;
  try {
    const dir = join(env.tmpfs, 'redis');
    await mkdir(dir, { recursive: true });
    redis = await env.testkit.startRedis({ dir });
  } catch (error) {
    return { ...base, skipped: `not available: redis-server: ${error?.message ?? error}` };
  }
  env.addCleanup(() => redis.stop());
  const live = new Set();
  env.addCleanup(() => Promise.all([...live].map(stopChild)));
  const entries = await w1Entries();
  const tools = [
    dlTool({ bin: env.dlBin, concurrency: 16 }),
    ...[1, 2, 4].map((workers) =>
      fleetTool({ bin: env.dlBin, redis, workers, concurrency: 16, help, live }),
    ),
  ];
  return {
    ...base,
    unit: 'files',
    amount: s.w1,
    items: toItems(entries, (rel) => env.nginx.url(rel)),
    outBase: env.tmpfs,
    watch: [{ name: 'http', start: () => env.watch(env.nginx.port) }],
    cpuOf: [{ key: 'redis', pid: () => redis.pid }],
    extraColumns: [
      { key: 'redis', label: 'redis-server CPU s per 1,000 files', per: 1000 },
      { key: 'workers', label: 'workers CPU s' },
    ],
    tools,
    unavailable: {},
    runs: env.runs,
    timeoutMs,
    goals: [{ peer: 'dl --queue, 1 worker', atMost: 1.25, text: 'fleet ≥ 0.8 × local' }],
    notes: [
      "`dl ÷ tool` here is plain `dl get` ÷ the fleet: ≤ 1.25 means the fleet reaches ≥ 0.8 × the local rate. CPU s is the `dl get --queue` process only; the workers' CPU (user + system from /proc, read before they are stopped) and redis-server's (from /proc/PID/stat before and after the run) have their own columns.",
      `redis-server ${redis.url}: testkit's startRedis, append-only file with fsync every second, data on tmpfs, flushed before every run. Workers are started before each run (the run starts once each holds a redis connection) and stopped after it, outside the timing; ${/--per-host\b/.test(help) ? 'they get `--per-host 16`' : '`dl worker` takes no --per-host: workers run with their defaults'}.`,
    ],
  };
}

/** How `dl get` is told to negotiate HTTP/2, if its help lists such an option. */
async function dlHttp2Flag(env) {
  if (env.dlProblem) return undefined;
  const help = await run(process.execPath, [env.dlBin, 'get', '--help'], { allowFailure: true });
  return /(--http2|--allow-h2|--h2)\b/.exec(help.stdout)?.[1];
}

/**
 * W6: a polite mirror. 5,000 × 16 KiB over HTTPS (ALPN h2 + http/1.1) from
 * bench/h2-delay-server.mjs, every answer 20 ms late, 2 connections per host.
 */
async function buildW6(env, s, timeoutMs, unavailableFor, count) {
  const DELAY_MS = 20;
  const MAX_STREAMS = 100;
  const root = join(env.tmpfs, 'w6-www');
  const entries = await makeFiles(root, 'w6', s.w6, 16 * KiB);
  const server = await startDelayServer({
    testkit: env.testkit,
    root,
    dir: join(env.tmpfs, 'w6-tls'),
    delayMs: DELAY_MS,
    maxStreams: MAX_STREAMS,
  });
  env.addCleanup(() => server.stop());
  const ca = server.certFile;
  const h2Flag = await dlHttp2Flag(env);
  const tools = [
    // Over HTTP/2 --per-host counts connections, each carrying up to MAX_STREAMS transfers; -j caps them all.
    dlTool({
      name: 'dl (HTTP/2)',
      bin: env.dlBin,
      concurrency: 2 * MAX_STREAMS,
      perHost: 2,
      extraArgs: [...(h2Flag ? [h2Flag] : []), '--ca-bundle', ca],
    }),
    dlTool({
      name: 'dl (HTTP/1.1)',
      bin: env.dlBin,
      concurrency: 2,
      extraArgs: ['--ca-bundle', ca],
    }),
    // As many transfers as the server allows streams on one connection: curl
    // multiplexes them on one connection (more transfers than that, and curl
    // 7.88 opens a new connection for each transfer that does not fit).
    curlTool({
      concurrency: MAX_STREAMS,
      name: 'curl --http2 --parallel',
      extraArgs: ['--http2', '--cacert', ca],
    }),
    wget2ListTool({
      concurrency: 2,
      name: 'wget2 (HTTP/1.1) + sha256sum',
      extraArgs: ['--no-http2', `--ca-certificate=${ca}`],
    }),
    aria2Tool({ concurrency: 2, name: 'aria2c (HTTP/1.1)', extraArgs: [`--ca-certificate=${ca}`] }),
    nodeFloorTool({ concurrency: 2, env: { NODE_EXTRA_CA_CERTS: ca } }),
  ];
  const unavailable = unavailableFor(tools);
  if (!h2Flag && !unavailable['dl (HTTP/2)'])
    unavailable['dl (HTTP/2)'] =
      '`dl get` has no option to negotiate HTTP/2 (@dl/http has `allowH2`, the CLI does not expose it)';
  return {
    id: 'W6',
    title: `HTTPS ${count(s.w6)} files × 16 KiB, each answered after ${DELAY_MS} ms, 2 connections per host (h2 or HTTP/1.1), sha256 each, output on tmpfs`,
    unit: 'files',
    amount: s.w6,
    items: toItems(entries, (rel) => server.url(rel)),
    outBase: env.tmpfs,
    watch: [{ name: 'https', start: () => env.watch(server.port) }],
    cpuOf: [{ key: 'server', pid: () => server.pid }],
    extraColumns: [{ key: 'server', label: 'server CPU s' }],
    tools,
    unavailable,
    reference: ['dl (HTTP/2)', 'dl (HTTP/1.1)'],
    runs: env.runs,
    timeoutMs,
    goals: [],
    notes: [
      `Server: bench/h2-delay-server.mjs in its own Node process (node:http2 createSecureServer, allowHTTP1, ALPN h2 + http/1.1, SETTINGS_MAX_CONCURRENT_STREAMS ${MAX_STREAMS}, every response after a ${DELAY_MS} ms timer, files kept in memory after the first read). "server CPU s": its user + system time during the run; on 2 cores it competes with the tool.`,
      `"2 connections": dl (HTTP/1.1) \`-j 2 --per-host 2\`; dl (HTTP/2) \`--http2 -j ${2 * MAX_STREAMS} --per-host 2\` (--per-host counts connections, each carrying up to ${MAX_STREAMS} streams); ` +
        'wget2 `--max-threads=2 --no-http2` and aria2c `-j2 -x1` (HTTP/1.1: 2 connections, 2 requests in flight); node floor: an undici Agent with `connections: 2`, 2 requests in flight; curl `--http2 --parallel --parallel-max 100` multiplexes 100 streams on one connection (100 = the server stream limit: with `--parallel-max 200` curl 7.88 opened a new connection for every transfer beyond it, 101 in all; curl has no per-host connection cap on its command line). Conns shows what the server saw.',
      'Every tool trusts the self-signed certificate through its own option: dl `--ca-bundle`, curl `--cacert`, wget2 and aria2c `--ca-certificate`, node floor `NODE_EXTRA_CA_CERTS`.',
      'dl ÷ tool is taken against `dl (HTTP/2)` when it ran, else `dl (HTTP/1.1)` (the column heading names it).',
    ],
  };
}

/** aria2's `--ssh-host-key-md=sha-1=…`: SHA-1 of the host key blob, hex. */
function sha1OfKey(openssh) {
  const blob = Buffer.from(openssh.split(/\s+/)[1], 'base64');
  return createHash('sha1').update(blob).digest('hex');
}
