import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { which } from './install.mjs';
import { measure } from './proc.mjs';
import { REBUILDING } from './runner.mjs';

/** Which package a profile frame belongs to. */
function category(frame) {
  const url = frame.url ?? '';
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  for (const pkg of ['core', 'http', 'ftp', 'sftp', 'cli', 'mirrorlist']) {
    if (url.includes(`/packages/${pkg}/`)) return `@dl/${pkg}`;
  }
  if (url.includes('/undici/')) return 'undici';
  if (url.includes('/node_modules/'))
    return url.replace(/.*\/node_modules\/((@[^/]+\/)?[^/]+).*/, '$1');
  if (url.startsWith('node:')) return 'node internals';
  return url;
}

const shortUrl = (url) =>
  (url ?? '')
    .replace(/^file:\/\//, '')
    .replace(/.*\/node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, '')
    .replace(/^\/work\/main\//, '');

/**
 * Self time per function and per package from a V8 `.cpuprofile`
 * (`samples` + `timeDeltas`: each sample's time goes to the sampled node).
 */
export function summarizeProfile(profile, top = 40) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
  }
  const fns = new Map();
  const cats = new Map();
  let total = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'}  ${shortUrl(f.url)}:${f.lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const c = category(f);
    cats.set(c, (cats.get(c) ?? 0) + us);
    total += us;
  }
  const sorted = (m) => [...m].sort((a, b) => b[1] - a[1]);
  const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
  const ms = (us) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  const lines = [`total sampled: ${(total / 1000).toFixed(0)} ms`, '', 'self time by package:'];
  for (const [c, us] of sorted(cats)) lines.push(`${ms(us)} ${pct(us)}  ${c}`);
  lines.push('', `top ${top} functions by self time:`);
  for (const [k, us] of sorted(fns).slice(0, top)) lines.push(`${ms(us)} ${pct(us)}  ${k}`);
  return {
    text: lines.join('\n'),
    totalMs: total / 1000,
    packages: Object.fromEntries(sorted(cats).map(([c, us]) => [c, +(us / 1000).toFixed(1)])),
  };
}

/** `strace -f -c` summary: the syscalls of a whole run, counted. */
function summarizeStrace(text, files) {
  const rows = [];
  for (const line of text.split('\n')) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?(\w+)\s*$/.exec(line);
    if (m && m[3] !== 'total')
      rows.push({ name: m[3], calls: Number(m[1]), errors: Number(m[2] ?? 0) });
  }
  rows.sort((a, b) => b.calls - a.calls);
  const lines = [`syscalls per downloaded file (strace -f -c, ${files} files):`];
  for (const r of rows.slice(0, 30))
    lines.push(
      `${(r.calls / files).toFixed(2).padStart(9)}  ${r.name}${r.errors ? ` (${r.errors} errors)` : ''}`,
    );
  return {
    text: lines.join('\n'),
    perFile: Object.fromEntries(rows.map((r) => [r.name, +(r.calls / files).toFixed(2)])),
  };
}

/** Runs dl (after `prepare`), again when it died because a package was being rebuilt. */
async function runRetrying(file, args, options, prepare) {
  for (let attempt = 1; ; attempt++) {
    await prepare();
    const m = await measure(file, args, options);
    if (m.exitCode === 0 || !REBUILDING.test(m.stderr) || attempt >= 4) return m;
    await new Promise((resolve) => setTimeout(resolve, 15_000));
  }
}

/**
 * Profiles `dl get` on the given workloads (their dl tool and items):
 * `node --cpu-prof` on the bin, self time summarised into
 * `<outDir>/profile-<id>.txt` (the raw `.cpuprofile` beside it), plus a
 * syscall count with `strace -f -c` where strace exists.
 */
export async function profileDl({ workloads, scratch, log, outDir }) {
  await mkdir(outDir, { recursive: true });
  const out = [];
  for (const w of workloads) {
    const dl = w.tools.find((t) => t.name === 'dl');
    if (!dl || w.unavailable?.dl) continue;
    log(`bench: profiling dl on ${w.id}`);
    const profDir = await mkdtemp(join(scratch, 'prof-'));
    const command = await dl.prepare(scratch, w.items, `${w.id}-prof`);
    const outputDir = await mkdtemp(join(w.outBase, 'dl-bench-prof-'));
    try {
      const [node, args, env] = command(outputDir);
      const m = await runRetrying(
        node,
        ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', '250', ...args],
        { cwd: outputDir, env, scratch, timeoutMs: w.timeoutMs },
        async () => {
          await rm(outputDir, { recursive: true, force: true });
          await mkdir(outputDir, { recursive: true });
          await rm(profDir, { recursive: true, force: true });
          await mkdir(profDir);
        },
      );
      if (m.exitCode !== 0) {
        log(`  dl failed under the profiler (exit ${m.exitCode}): ${m.stderr.slice(-300)}`);
        out.push({ id: w.id, failed: `exit ${m.exitCode}: ${m.stderr.slice(-300)}` });
        continue;
      }
      const [file] = (await readdir(profDir)).filter((f) => f.endsWith('.cpuprofile'));
      if (!file) {
        log(`  no profile written (exit ${m.exitCode}): ${m.stderr.slice(-300)}`);
        continue;
      }
      const raw = await readFile(join(profDir, file), 'utf8');
      const summary = summarizeProfile(JSON.parse(raw));
      let syscalls;
      const strace = which('strace');
      if (strace) {
        const straceOut = join(scratch, `strace-${w.id}.txt`);
        const traced = await runRetrying(
          strace,
          ['-f', '-c', '-o', straceOut, node, ...args],
          { cwd: outputDir, env, scratch, timeoutMs: w.timeoutMs },
          async () => {
            await rm(outputDir, { recursive: true, force: true });
            await mkdir(outputDir, { recursive: true });
          },
        );
        if (traced.exitCode !== 0) {
          syscalls = {
            text: `dl under strace failed (exit ${traced.exitCode}): ${traced.stderr.slice(-300)}`,
          };
        } else {
          syscalls = summarizeStrace(await readFile(straceOut, 'utf8').catch(() => ''), w.amount);
        }
      }
      const header =
        `dl get on ${w.id} (${w.title}): ${(m.wallMs / 1000).toFixed(2)} s wall with the profiler on, ` +
        `${w.amount} files\n` +
        `node --cpu-prof --cpu-prof-interval 250 (µs); self time = time the sampled frame was on top.\n\n`;
      const text = `${header}${summary.text}\n\n${syscalls?.text ?? 'strace not installed: no syscall counts'}\n`;
      const name = `profile-${w.id}`;
      await writeFile(join(outDir, `${name}.txt`), text);
      await writeFile(join(outDir, `${name}.cpuprofile`), raw);
      out.push({
        id: w.id,
        file: `${name}.txt`,
        wallMs: m.wallMs,
        packages: summary.packages,
        syscallsPerFile: syscalls?.perFile,
      });
      log(`  wrote ${join(outDir, `${name}.txt`)}`);
    } finally {
      await rm(outputDir, { recursive: true, force: true });
      await rm(profDir, { recursive: true, force: true });
    }
  }
  return out;
}
