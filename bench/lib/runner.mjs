import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { measure, run } from './proc.mjs';
import { verifyOutput } from './data.mjs';
import { processCpuSeconds } from './cpu.mjs';

export const median = (values) => {
  const sorted = values.filter((v) => v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * Runs one workload: every tool gets a one-file probe (a tool that cannot do
 * the protocol, or is missing, gets a row saying why instead of N failed
 * runs), then `runs` rounds in which every tool runs once, the order rotated
 * each round. Every run writes to a fresh folder, every file is verified
 * against the generated data afterwards (outside the timing) and the folder
 * is removed.
 *
 * workload: { id, title, unit: 'files' | 'bytes', amount, items(), outBase,
 *             watch: [{ name, start() }], tools: [tool], runs, timeoutMs,
 *             unavailable?: { [toolName]: reason }, skipped?: reason,
 *             reference?: [toolName] (the rows ratios are taken against, first available; default ['dl']),
 *             cpuOf?: [{ key, pid() }] (server processes whose CPU seconds each run adds to `extra[key]`),
 *             extraColumns?: [{ key, label, per? }] (medians of `extra[key]`, × per ÷ amount when `per` is set) }
 *
 * A tool may have `before(outDir)` and `after(state)` hooks around each run
 * (start and stop helper processes, outside the timing); `after` may return
 * figures to add to the run's `extra`.
 */
export async function runWorkload(workload, ctx) {
  const { log, scratch } = ctx;
  if (workload.skipped) {
    log(`  ${workload.id}: not run — ${workload.skipped}`);
    return { id: workload.id, title: workload.title, skipped: workload.skipped, rows: [] };
  }
  const itemsOf = () => workload.items();
  const entries = () =>
    map(itemsOf(), (it) => ({ path: it.path, size: it.size, sha256: it.sha256 }));
  const rows = [];
  const active = [];
  for (const tool of workload.tools) {
    const row = { tool: tool.name, runs: [], unavailable: workload.unavailable?.[tool.name] };
    rows.push(row);
    if (row.unavailable) continue;
    const first = () => take(itemsOf(), 1);
    const probeCommand = await tool.prepare(scratch, first, `${workload.id}-probe`);
    const probe = await once(probeCommand, {
      outBase: workload.outBase,
      scratch,
      entries: () => map(first(), (it) => ({ path: it.path, size: it.size, sha256: it.sha256 })),
      timeoutMs: 60_000,
      watch: [],
      tool,
    });
    if (probe.failed > 0 || probe.exitCode !== 0) {
      row.unavailable = `probe of one file failed (exit ${probe.exitCode}): ${summarize(probe.stderr || probe.stdout)}`;
      log(`  ${tool.name}: unavailable — ${row.unavailable}`);
      continue;
    }
    active.push({ tool, row, command: await tool.prepare(scratch, itemsOf, workload.id) });
  }
  for (let round = 0; round < workload.runs; round++) {
    const order = active.map((_, i) => active[(i + round) % active.length]);
    for (const { tool, row, command } of order) {
      const result = await once(command, {
        outBase: workload.outBase,
        scratch,
        entries,
        timeoutMs: workload.timeoutMs,
        watch: workload.watch,
        sync: workload.sync,
        tool,
        cpuOf: workload.cpuOf,
      });
      row.runs.push(result);
      log(
        `  ${workload.id} run ${round + 1}/${workload.runs} ${tool.name}: ${(result.wallMs / 1000).toFixed(2)} s (CPU ${result.cpuS?.toFixed(2) ?? '?'} s), ` +
          `${result.maxRssKb === undefined ? '?' : Math.round(result.maxRssKb / 1024)} MB RSS, ` +
          `conns ${JSON.stringify(result.connections)}, failed ${result.failed}` +
          `${result.exitCode !== 0 ? `, exit ${result.exitCode}: ${summarize(result.stderr)}` : ''}`,
      );
    }
  }
  return summarizeWorkload(workload, rows);
}

// Other engineers rebuild packages in this checkout (tsup empties dist/ first):
// a run that died because a module was missing at that moment runs again.
export const REBUILDING =
  /ERR_MODULE_NOT_FOUND|Cannot find module|does not provide an export named/;

async function once(command, options) {
  for (let attempt = 1; ; attempt++) {
    const result = await onceInner(command, options);
    if (result.exitCode === 0 || !REBUILDING.test(result.stderr) || attempt >= 4) {
      return attempt > 1 ? { ...result, retriedForRebuild: attempt - 1 } : result;
    }
    await new Promise((resolve) => setTimeout(resolve, 15_000));
  }
}

async function onceInner(
  command,
  { outBase, scratch, entries, timeoutMs, watch, sync, tool, cpuOf = [] },
) {
  const outDir = await mkdtemp(join(outBase, 'dl-bench-out-'));
  try {
    const [file, args, env] = command(outDir);
    const extra = {};
    const cpuBefore = cpuOf.map((c) => processCpuSeconds(c.pid()));
    let state;
    try {
      state = await tool?.before?.(outDir);
    } catch (error) {
      const message = `before the run: ${error?.message ?? error}`;
      const expected = [...entries()].length;
      return {
        wallMs: NaN,
        exitCode: -1,
        connections: {},
        extra: {},
        expected,
        ok: 0,
        failed: expected,
        missing: expected,
        corrupt: 0,
        extraFiles: 0,
        examples: [],
        stderr: message,
        stdout: '',
      };
    }
    let m;
    try {
      m = await measure(file, args, { cwd: outDir, env, scratch, timeoutMs, watch });
      cpuOf.forEach((c, i) => {
        const now = processCpuSeconds(c.pid());
        if (now !== undefined && cpuBefore[i] !== undefined) extra[c.key] = now - cpuBefore[i];
      });
    } finally {
      Object.assign(extra, await tool?.after?.(state));
    }
    const v = await verifyOutput(outDir, entries());
    return {
      wallMs: m.wallMs,
      exitCode: m.exitCode,
      timedOut: m.timedOut,
      maxRssKb: m.maxRssKb,
      cpuS: m.cpuS,
      connections: m.connections,
      extra,
      expected: v.expected,
      ok: v.ok,
      failed: v.missing + v.corrupt,
      missing: v.missing,
      corrupt: v.corrupt,
      extraFiles: v.extra,
      examples: v.examples,
      stderr: m.stderr.slice(-1500),
      stdout: m.stdout.slice(-500),
    };
  } finally {
    await rm(outDir, { recursive: true, force: true });
    // Dirty pages of one run must not be flushed during the next one.
    if (sync) await run('sync', [], { allowFailure: true });
  }
}

function summarizeWorkload(workload, rows) {
  const per = workload.unit === 'bytes' ? 1e6 : 1;
  for (const row of rows) {
    if (row.unavailable) continue;
    const wall = median(row.runs.map((r) => r.wallMs));
    row.medianWallS = wall / 1000;
    row.rate = workload.amount / per / row.medianWallS;
    row.medianCpuS = median(row.runs.map((r) => r.cpuS));
    row.peakRssMb = Math.max(...row.runs.map((r) => r.maxRssKb ?? 0)) / 1024;
    row.medianRssMb = median(row.runs.map((r) => r.maxRssKb)) / 1024;
    row.maxConnections = {};
    for (const r of row.runs)
      for (const [name, n] of Object.entries(r.connections))
        row.maxConnections[name] = Math.max(row.maxConnections[name] ?? 0, n);
    row.failedFiles = row.runs.reduce((sum, r) => sum + r.failed, 0);
    row.failedRuns = row.runs.filter((r) => r.failed > 0 || r.exitCode !== 0).length;
    row.extraFiles = Math.max(...row.runs.map((r) => r.extraFiles));
    row.extra = {};
    for (const { key, per } of workload.extraColumns ?? []) {
      const value = median(row.runs.map((r) => r.extra?.[key]));
      row.extra[key] = per && value !== undefined ? (value * per) / workload.amount : value;
    }
  }
  // The row the ratios are taken against: 'dl' unless the workload names others (first available).
  const reference = (workload.reference ?? ['dl'])
    .map((name) => rows.find((r) => r.tool === name && !r.unavailable))
    .find(Boolean);
  for (const row of rows) {
    if (row === reference || row.unavailable || !reference) continue;
    row.dlRatio = reference.rate / row.rate;
    // Round by round (the tools alternate, so run i of both is side by side).
    row.dlRatioPerRun = row.runs.map((r, i) =>
      reference.runs[i] ? r.wallMs / reference.runs[i].wallMs : undefined,
    );
  }
  return {
    id: workload.id,
    title: workload.title,
    reference: reference?.tool,
    unit: workload.unit === 'bytes' ? 'MB/s' : 'files/s',
    amount: workload.amount,
    runs: workload.runs,
    goals: workload.goals ?? [],
    extraColumns: workload.extraColumns ?? [],
    notes: workload.notes ?? [],
    rows,
  };
}

function summarize(text) {
  const lines = String(text ?? '')
    .trim()
    .split('\n')
    .filter(Boolean);
  return lines.slice(-3).join(' | ').slice(0, 400) || '(no output)';
}

function* map(iterable, fn) {
  for (const x of iterable) yield fn(x);
}

function* take(iterable, n) {
  if (n <= 0) return;
  let i = 0;
  for (const x of iterable) {
    yield x;
    if (++i >= n) return;
  }
}
