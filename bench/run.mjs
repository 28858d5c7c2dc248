// pnpm bench [--quick] [--runs N] [--only W1,W5] [--no-install] [--no-profile] [--profile-only] [--keep]
//
// Starts nginx, vsftpd and sshd on 127.0.0.1 with generated configs, makes
// the data in a temp folder, runs every workload for dl and its peers
// (alternating, several runs each), verifies every file, and writes
// bench/results/latest.md and latest.json. See bench/README.md.
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensurePrograms, which } from './lib/install.mjs';
import { startNginx } from './lib/nginx.mjs';
import { killCurrent, run } from './lib/proc.mjs';
import { runWorkload } from './lib/runner.mjs';
import { buildWorkloads, sizes } from './lib/workloads.mjs';
import { toMarkdown } from './lib/report.mjs';
import { runServeBench } from './lib/serve-bench.mjs';
import { profileDl } from './lib/profile.mjs';
import { toolVersions } from './lib/versions.mjs';

const repo = new URL('..', import.meta.url).pathname;
const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    only: { type: 'string' },
    'no-install': { type: 'boolean', default: false },
    'no-profile': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'profile-only': { type: 'boolean', default: false },
    out: { type: 'string', default: join(repo, 'bench', 'results') },
  },
});
const quick = opts.quick;
const runs = Number(opts.runs ?? (quick ? 1 : 3));
const only = opts.only?.split(',').map((s) => s.trim().toUpperCase());
const log = (...args) => console.error(...args);

const cleanups = [];
let cleaning;
async function cleanup() {
  cleaning ??= (async () => {
    killCurrent();
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (error) {
        log(`bench: cleanup: ${error}`);
      }
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    log(`\nbench: ${signal}, cleaning up…`);
    void cleanup().then(() => process.exit(130));
  });
}

async function main() {
  const startedAt = new Date().toISOString();
  const missing = await ensurePrograms({ install: !opts['no-install'], log });
  if (missing.length > 0)
    log(`bench: missing programs (their peers are left out): ${missing.join(', ')}`);

  // testkit's daemon launchers and connection sampler (built by `pnpm build`).
  const testkitEntry = join(repo, 'packages/testkit/dist/index.js');
  if (!existsSync(testkitEntry))
    await run('pnpm', ['--filter', '@dl/testkit...', 'build'], { cwd: repo });
  const testkit = await import(testkitEntry);
  const watch = (port) => testkit.watchConnections(port, 20);

  const dlBin = join(repo, 'packages/cli/dist/bin.js');
  let dlProblem;
  if (!existsSync(dlBin)) dlProblem = 'packages/cli/dist/bin.js is missing (build @dl/cli)';
  else {
    const help = await run(process.execPath, [dlBin, 'get', '--help'], { allowFailure: true });
    if (help.code !== 0)
      dlProblem = `\`dl get --help\` exited ${help.code}: ${help.stderr.trim().slice(0, 200)}`;
  }

  const tmpfsBase = existsSync('/dev/shm') ? '/dev/shm' : '/tmp';
  const tmpfs = await mkdtemp(join(tmpfsBase, 'dl-bench-'));
  const disk = await mkdtemp(join(existsSync('/var/tmp') ? '/var/tmp' : '/tmp', 'dl-bench-'));
  if (!opts.keep) {
    cleanups.push(() => rm(tmpfs, { recursive: true, force: true }));
    cleanups.push(() => rm(disk, { recursive: true, force: true }));
  }
  const scratch = join(tmpfs, 'scratch');
  const www = join(tmpfs, 'www');
  await mkdir(scratch, { recursive: true });
  await mkdir(www, { recursive: true, mode: 0o755 });
  await chmod(tmpfs, 0o755);

  const nginx = await startNginx({
    binary: which('nginx'),
    dir: join(tmpfs, 'nginx'),
    root: www,
    port: await testkit.freePort(),
  });
  cleanups.push(() => nginx.stop());
  log(`bench: nginx on ${nginx.port}, data in ${tmpfs}, disk output in ${disk}`);

  const wants = (id) =>
    only === undefined ||
    only.some((o) => id.toUpperCase().startsWith(o) || o.startsWith(id.toUpperCase()));
  let ftp;
  if (wants('W3') && !missing.includes('vsftpd')) {
    ftp = await testkit.startVsftpd({ passivePorts: 64 });
    cleanups.push(() => ftp.stop());
    log(`bench: vsftpd on ${ftp.port}`);
  }
  let sshd;
  let sftpAuth;
  if (wants('W4') && !missing.includes('sshd')) {
    const password = `Bench-${Math.random().toString(36).slice(2, 10)}`;
    sshd = await testkit.startSshd({
      user: { name: 'dlbench', password },
      maxSessions: 64,
      maxStartups: '200',
    });
    sftpAuth = { user: 'dlbench', password };
    cleanups.push(() => sshd.stop());
    log(`bench: sshd on ${sshd.port}`);
  }

  const env = {
    quick,
    runs,
    tmpfs,
    disk,
    www,
    nginx,
    ftp,
    sshd,
    sftpAuth,
    dlBin,
    dlProblem,
    missing,
    watch,
    testkit,
    addCleanup: (fn) => cleanups.push(fn),
  };
  const workloads = await buildWorkloads(env, only);
  const results = [];
  const ctx = { log, scratch };
  for (const workload of opts['profile-only'] ? [] : workloads) {
    log(`bench: ${workload.id} — ${workload.title}`);
    results.push(await runWorkload(workload, ctx));
  }
  const rssNote = w5RssNote(results);

  if (wants('S1') && !opts['profile-only']) {
    log('bench: S1 — dl serve vs nginx direct');
    results.push(
      await runServeBench({
        ...env,
        scratch,
        log,
        size: sizes(quick).s1,
        clients: sizes(quick).s1clients,
      }),
    );
  }

  let profiles = [];
  if (!opts['no-profile'] && !dlProblem) {
    const targets = workloads.filter((w) => ['W1-tmpfs', 'W3', 'W4', 'W5-small'].includes(w.id));
    profiles = await profileDl({ workloads: targets, scratch, log, outDir: opts.out });
  }

  const report = {
    mode: quick ? 'quick' : 'full',
    startedAt,
    finishedAt: new Date().toISOString(),
    runs,
    machine: {
      cpus: cpus().length,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      tmpfs: tmpfsBase,
      disk,
    },
    versions: await toolVersions(),
    notes: [
      'The machine is shared (other engineers run test suites at the same time): absolute numbers are noisy; compare the ratios, measured side by side. Final figures are to be re-measured on a quiet machine.',
      ...(rssNote ? [rssNote] : []),
      ...(dlProblem ? [`dl: ${dlProblem}`] : []),
    ],
    results,
    profiles,
  };
  await mkdir(opts.out, { recursive: true });
  if (opts['profile-only']) {
    log(`bench: profiles only: ${JSON.stringify(profiles, null, 2)}`);
    return;
  }
  const md = toMarkdown(report);
  await writeFile(join(opts.out, 'latest.md'), md);
  await writeFile(join(opts.out, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  // Keep the repo's `prettier --check .` happy when the results are committed.
  await run(
    join(repo, 'node_modules/.bin/prettier'),
    ['--write', join(opts.out, 'latest.md'), join(opts.out, 'latest.json')],
    {
      allowFailure: true,
    },
  );
  process.stdout.write(md);
  log(`bench: wrote ${join(opts.out, 'latest.md')} and latest.json`);
}

/** W5's RSS goals: dl ≤ 64 MB and ≤ 1.2 × its RSS on the small manifest. */
function w5RssNote(results) {
  const big = results.find((r) => r.id === 'W5')?.rows.find((r) => r.tool === 'dl');
  const small = results.find((r) => r.id === 'W5-small')?.rows.find((r) => r.tool === 'dl');
  if (!big || !small || big.unavailable || small.unavailable) return undefined;
  const ratio = big.peakRssMb / small.peakRssMb;
  const ok = big.peakRssMb <= 64 && ratio <= 1.2;
  return (
    `W5 memory: dl peak RSS ${big.peakRssMb.toFixed(1)} MB on ${big.runs[0]?.expected ?? '?'} lines vs ` +
    `${small.peakRssMb.toFixed(1)} MB on ${small.runs[0]?.expected ?? '?'} lines (× ${ratio.toFixed(2)}); ` +
    `goal ≤ 64 MB and ≤ 1.2 ×: ${ok ? 'met' : 'not met'}.`
  );
}

try {
  await main();
} catch (error) {
  log(`bench: ${error?.stack ?? error}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
