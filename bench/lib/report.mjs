const fmt = (n, digits = 1) =>
  n === undefined || !Number.isFinite(n)
    ? '–'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const cell = (text) => String(text).replaceAll('|', '\\|');

function goalText(result, row) {
  const goals = result.goals.filter((g) => g.peer === row.tool);
  const texts = goals.map((g) => {
    if (g.atMost !== undefined) {
      if (row.dlRatio === undefined) return g.text;
      return `${g.text} ${row.dlRatio <= g.atMost ? 'met' : 'not met'}`;
    }
    if (row.dlRatio === undefined) return `≥ ${g.ratio}`;
    return `≥ ${g.ratio} ${row.dlRatio >= g.ratio ? 'met' : 'not met'}`;
  });
  if (row.tool === FLOOR && row.dlRatioPerRun?.length)
    texts.push(`the floor; per run ${row.dlRatioPerRun.map((r) => fmt(r, 2)).join(', ')}`);
  return texts.join(', ');
}

const FLOOR = 'node floor';

/** dl ÷ node floor of every workload that ran it: the first table of the report. */
function floorSummary(results) {
  const lines = [];
  for (const result of results) {
    const row = result.rows?.find((r) => r.tool === FLOOR);
    if (!row) continue;
    const ratio = row.unavailable
      ? `not available: ${cell(row.unavailable)}`
      : row.dlRatio === undefined
        ? '– (dl not available)'
        : fmt(row.dlRatio, 2);
    const perRun = (row.dlRatioPerRun ?? []).map((r) => fmt(r, 2)).join(', ');
    lines.push(`| ${result.id} | ${cell(result.reference ?? 'dl')} | ${ratio} | ${perRun} |`);
  }
  if (lines.length === 0) return [];
  return [
    '## dl ÷ node floor',
    '',
    'dl rate ÷ the rate of `node-floor.mjs` (undici `dispatch()`, no streams, the least a Node process does): ' +
      'how close dl is to the floor of its own runtime (1.0 = as fast).',
    '',
    '| workload | dl row | dl ÷ node floor (medians) | per run |',
    '| --- | --- | ---: | --- |',
    ...lines,
    '',
  ];
}

/** One Markdown table per workload, plus the notes. */
export function toMarkdown(report) {
  const out = [];
  out.push(`# dl benchmark — ${report.mode} run`, '');
  out.push(
    `${report.startedAt}, ${report.machine.cpus} cores, ${report.machine.memoryGb} GB, Node ${report.machine.node}, ` +
      `${report.runs} run(s) per tool, tools alternated. Medians of wall time; rate = amount ÷ median wall time ` +
      '(MB = 10⁶ bytes). CPU s: median user + system time of the tool\'s processes (steadier than wall time on a busy machine). Peak RSS: GNU time "Maximum resident set size" (the largest process of the tool), highest run. ' +
      'Conns: most established connections the server saw (ss, every 20 ms). Failed: files missing or not matching ' +
      'the generated data, verified afterwards, summed over runs. dl ÷ tool: dl rate ÷ tool rate (> 1: dl is faster).',
    '',
  );
  for (const note of report.notes) out.push(`> ${note}`, '');
  out.push(
    'Tool versions: ' +
      Object.entries(report.versions)
        .map(([k, v]) => `${k} ${v}`)
        .join('; '),
    '',
  );
  out.push(...floorSummary(report.results));
  for (const result of report.results) {
    out.push(`## ${result.id}: ${result.title}`, '');
    if (result.skipped) {
      out.push(`Not run: ${result.skipped}`, '');
      continue;
    }
    if (result.serve) {
      const { bigFile: b, latency: l } = result.serve;
      out.push(
        '| measure | direct from nginx | through dl serve | dl serve ÷ direct or added | goal |',
        '| --- | ---: | ---: | ---: | --- |',
        `| one big file, MB/s | ${fmt(b.directMBps)} | ${fmt(b.serveMBps)} | ${fmt(b.ratio, 2)} | ${b.goal} ${b.met ? 'met' : 'not met'} |`,
        `| ${l.clients} clients × 16 KiB all at once, median latency ms | ${fmt(l.directMedianMs, 2)} | ${fmt(l.serveMedianMs, 2)} | +${fmt(l.addedMedianMs, 2)} | ${l.goal} ${l.met ? 'met' : 'not met'} |`,
        `| the same paced at ${l.pacedRate}/s, median latency ms | ${fmt(l.pacedDirectMedianMs, 2)} | ${fmt(l.pacedServeMedianMs, 2)} | +${fmt(l.pacedAddedMedianMs, 2)} | ${l.goal} ${l.pacedMet ? 'met' : 'not met'} |`,
        '',
        `Failures: big file direct ${b.failures.direct}, served ${b.failures.serve}; latency requests direct ${l.failures.direct}, served ${l.failures.serve}. dl serve peak RSS: ${fmt(result.serve.servePeakRssMb, 0)} MB.`,
        '',
      );
      for (const note of result.notes) out.push(`- ${note}`);
      out.push('');
      continue;
    }
    const extraColumns = result.extraColumns ?? [];
    const extraHead = extraColumns.map((c) => ` ${c.label} |`).join('');
    const extraRule = extraColumns.map(() => ' ---: |').join('');
    const ratioHead =
      result.reference && result.reference !== 'dl' ? `${result.reference} ÷ tool` : 'dl ÷ tool';
    out.push(
      `| tool | median s | ${result.unit} | CPU s | peak RSS MB | conns |${extraHead} failed | ${cell(ratioHead)} | goal |`,
      `| --- | ---: | ---: | ---: | ---: | ---: |${extraRule} ---: | ---: | --- |`,
    );
    for (const row of result.rows) {
      if (row.unavailable) {
        out.push(
          `| ${cell(row.tool)} | – | – | – | – | – |${extraColumns.map(() => ' – |').join('')} – | – | not available: ${cell(row.unavailable)} |`,
        );
        continue;
      }
      const conns = Object.entries(row.maxConnections)
        .map(([k, v]) => (Object.keys(row.maxConnections).length > 1 ? `${k} ${v}` : String(v)))
        .join(', ');
      const failed =
        row.failedRuns > 0 ? `${row.failedFiles} (${row.failedRuns} run(s) failed)` : '0';
      out.push(
        `| ${cell(row.tool)} | ${fmt(row.medianWallS, 2)} | ${fmt(row.rate, result.unit === 'MB/s' ? 1 : 0)} | ${fmt(row.medianCpuS, 2)} | ${fmt(row.peakRssMb, 0)} | ${conns} |${extraColumns.map((c) => ` ${fmt(row.extra?.[c.key], 2)} |`).join('')} ${failed} | ${row.dlRatio === undefined ? '' : fmt(row.dlRatio, 2)} | ${goalText(result, row)} |`,
      );
    }
    out.push('');
    for (const note of result.notes) out.push(`- ${note}`);
    if (result.notes.length > 0) out.push('');
  }
  if (report.profiles?.length) {
    out.push('## Where dl spends its time', '');
    for (const p of report.profiles) {
      if (p.failed) {
        out.push(`- ${p.id}: dl failed under the profiler (${cell(p.failed)}).`);
        continue;
      }
      const top = Object.entries(p.packages)
        .slice(0, 8)
        .map(([k, v]) => `${k} ${fmt(v, 0)} ms`)
        .join(', ');
      const sys = p.syscallsPerFile
        ? Object.entries(p.syscallsPerFile)
            .filter(([k]) =>
              /^(openat|write|writev|pwrite64|read|close|rename|statx|newfstatat|fsync|fdatasync|mkdir|futex)$/.test(
                k,
              ),
            )
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')
        : 'not counted';
      out.push(
        `- ${p.id}: self time by package: ${top}. Syscalls per file: ${sys}. Details: \`${p.file}\`.`,
      );
    }
    out.push('');
  }
  return `${out.join('\n')}\n`;
}
