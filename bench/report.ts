/**
 * What a benchmark run produces besides its JSON: the targets of issue 6 judged against the
 * figures, bench/RESULTS.md (every result file in the results directory, the full run first) and
 * an SVG chart of the latency distributions per run. The chart is plain hand-written SVG.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { S1Result, ScaleSizes } from './scale.js';
import { repoRoot } from './stack.js';
import type {
  B1Result,
  Contender,
  F1Result,
  I1Result,
  L1Result,
  R1Result,
  Sizes,
} from './workloads.js';

/** What every run records about itself, the machine and the software measured. */
export interface RunInfo {
  name: string;
  kind: RunKind;
  /** The command that produced it. */
  command: string;
  startedAt: string;
  finishedAt: string;
  durationS: number;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGb: number;
    kernel: string;
    node: string;
    loadavg: { start: number[]; end: number[] };
  };
  engine: { server: string; compose: string };
  composync: { commit: string; dirty: boolean };
}

/** `npm run bench` (full, quick, tiny) and `npm run bench:scale` (scale, scale-tiny). */
export type RunKind = BenchResult['kind'] | ScaleResult['kind'];
const KINDS: RunKind[] = ['full', 'quick', 'scale', 'tiny', 'scale-tiny'];

/** One run of `npm run bench`, as stored in bench/results/<name>.json. */
export interface BenchResult extends RunInfo {
  kind: 'full' | 'quick' | 'tiny';
  sizes: Sizes;
  /** ms from start to watching, per watcher, for the L1/B1 trees. */
  ready?: Record<string, number>;
  l1?: L1Result;
  b1?: B1Result;
  i1?: I1Result;
  r1?: R1Result;
  f1?: F1Result;
  targets: Target[];
}

/** One run of `npm run bench:scale` (S1), as stored in bench/results/<name>.json. */
export interface ScaleResult extends RunInfo {
  kind: 'scale' | 'scale-tiny';
  sizes: ScaleSizes;
  s1: S1Result;
  targets: Target[];
}

/** A target of the issue beside the measured figure; `met` is null when not measured. */
export interface Target {
  workload: 'L1' | 'B1' | 'I1' | 'R1' | 'F1' | 'S1';
  figure: string;
  value: number | null;
  unit: string;
  target: string;
  met: boolean | null;
}

const ratio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b > 0
    ? Math.round((a / b) * 100) / 100
    : null;

/**
 * composync's time over the faster raw copy, per repetition (the runs of one repetition are
 * next to each other in time, so they share the disk's state), then the median of those. Every
 * repetition holds the same runs, in either order (I1 copies raw first, F1 composync first).
 */
function pairedRatio(runs: { contender: Contender; ms: number }[]): number | null {
  const reps = runs.filter((r) => r.contender === 'composync').length;
  if (reps === 0 || runs.length % reps !== 0) return null;
  const per = runs.length / reps;
  const ratios: number[] = [];
  for (let i = 0; i < runs.length; i += per) {
    const rep = runs.slice(i, i + per);
    const ours = rep.find((r) => r.contender === 'composync')?.ms;
    const raw = Math.min(
      ...rep.filter((r) => r.contender === 'raw-cp' || r.contender === 'raw-exec').map((r) => r.ms),
    );
    if (ours === undefined || !Number.isFinite(raw) || !Number.isFinite(ours)) continue;
    ratios.push(ours / raw);
  }
  if (ratios.length === 0) return null;
  ratios.sort((a, b) => a - b);
  const m = ratios.length >> 1;
  const med = ratios.length % 2 ? ratios[m]! : (ratios[m - 1]! + ratios[m]!) / 2;
  return Math.round(med * 100) / 100;
}

/** Adds one figure to `t`, judged by `ok` (not measured when the value is missing). */
function judge(t: Target[]) {
  return (
    workload: Target['workload'],
    figure: string,
    value: number | null | undefined,
    unit: string,
    target: string,
    ok: (v: number) => boolean,
  ) => {
    const v = value === undefined || value === null || !Number.isFinite(value) ? null : value;
    t.push({ workload, figure, value: v, unit, target, met: v === null ? null : ok(v) });
  };
}

/** Judge the figures of a run against the targets of this round (issue 16). */
export function evaluateTargets(r: Omit<BenchResult, 'targets'>): Target[] {
  const t: Target[] = [];
  const add = judge(t);
  const l1 = r.l1?.contenders;
  add('L1', 'composync p50', l1?.composync?.p50, 'ms', '<= 4 ms', (v) => v <= 4);
  add('L1', 'composync p95', l1?.composync?.p95, 'ms', '<= 8 ms', (v) => v <= 8);
  add(
    'L1',
    'composync (one-way-replica) p50',
    l1?.['composync-replica']?.p50,
    'ms',
    '<= 3 ms',
    (v) => v <= 3,
  );
  add(
    'L1',
    'composync (one-way-replica) p95',
    l1?.['composync-replica']?.p95,
    'ms',
    '<= 8 ms',
    (v) => v <= 8,
  );
  // compose 2.26 is a figure for reference where it ran (not in --tiny)
  const peers = (['compose-watch', 'compose-watch-2.26'] as const).filter(
    (c) => c === 'compose-watch' || r.l1?.contenders[c] || r.b1?.contenders[c],
  );
  for (const cw of peers)
    add(
      'L1',
      `${cw === 'compose-watch' ? 'compose watch' : 'compose 2.26 watch'} p50 / composync p50`,
      ratio(l1?.[cw]?.p50, l1?.composync?.p50),
      'x',
      '>= 100',
      (v) => v >= 100,
    );
  const b1 = r.b1?.contenders;
  const rawB1 = Math.min(b1?.['raw-cp']?.median ?? Infinity, b1?.['raw-exec']?.median ?? Infinity);
  add(
    'B1',
    'composync / faster raw copy',
    ratio(b1?.composync?.median, Number.isFinite(rawB1) ? rawB1 : undefined),
    'x',
    '<= 1.2',
    (v) => v <= 1.2,
  );
  for (const cw of peers)
    add(
      'B1',
      `${cw === 'compose-watch' ? 'compose watch' : 'compose 2.26 watch'} / composync`,
      ratio(b1?.[cw]?.median, b1?.composync?.median),
      'x',
      '>= 3',
      (v) => v >= 3,
    );
  add(
    'I1',
    'composync / faster raw copy, per repetition',
    r.i1 && pairedRatio(r.i1.runs),
    'x',
    '<= 1.1',
    (v) => v <= 1.1,
  );
  add('I1', 'second sync, nothing changed', r.i1?.noChange, 'ms', '<= 1.5 s', (v) => v <= 1500);
  add(
    'I1',
    'peak RSS of the initial copy',
    r.i1?.peakRssMb?.length ? Math.max(...r.i1.peakRssMb) : undefined,
    'MB',
    '<= 200 MB',
    (v) => v <= 200,
  );
  add('R1', 'start to watching', r.r1?.readyMs, 'ms', '<= 2 s', (v) => v <= 2000);
  add('R1', 'idle CPU', r.r1?.idleCpuPct, '% of a core', '<= 0.3 %', (v) => v <= 0.3);
  add('R1', 'peak RSS', r.r1?.peakRssMb, 'MB', '<= 120 MB', (v) => v <= 120);
  add(
    'F1',
    'composync / faster raw copy, per repetition',
    r.f1 && pairedRatio(r.f1.runs),
    'x',
    '<= 1.2',
    (v) => v <= 1.2,
  );
  add('F1', 'RSS growth', r.f1?.rssGrowthMb, 'MB', '<= 64 MB', (v) => v <= 64);
  return t;
}

/** Judge an S1 run against the targets of the scale issue. */
export function evaluateScaleTargets(r: Omit<ScaleResult, 'targets'>): Target[] {
  const t: Target[] = [];
  const add = judge(t);
  const s = r.s1;
  add('S1', 'start to watching', s.readyMs, 'ms', '<= 20 s', (v) => v <= 20_000);
  add('S1', 'peak RSS', s.peakRssMb, 'MB', '<= 600 MB', (v) => v <= 600);
  add('S1', 'idle CPU', s.idleCpuPct, '% of a core', '<= 0.5 %', (v) => v <= 0.5);
  add('S1', 'L1 in that tree, p50', s.l1.p50, 'ms', '<= 10 ms', (v) => v <= 10);
  add(
    'S1',
    'inotify watches',
    s.inotify.watches,
    '',
    `one per directory (${s.dirs.toLocaleString('en-US')})`,
    (v) => v >= s.dirs,
  );
  return t;
}

/** One line per target on stdout, for the person who ran the benchmark. */
export function printTargets(targets: Target[]): void {
  for (const t of targets)
    process.stdout.write(
      `${t.workload}  ${t.figure}: ${t.value ?? 'n/a'} ${t.unit} (target ${t.target}) ${
        t.met === null ? 'not measured' : t.met ? 'met' : 'MISSED'
      }\n`,
    );
}

const LABEL: Record<Contender, string> = {
  composync: 'composync (one-way)',
  'composync-replica': 'composync (one-way-replica)',
  'compose-watch': 'docker compose watch',
  'compose-watch-2.26': 'docker compose watch (compose 2.26)',
  'raw-cp': 'raw copy (docker cp)',
  'raw-exec': 'raw copy (docker exec tar -x)',
};
const ORDER: Contender[] = [
  'composync',
  'composync-replica',
  'compose-watch',
  'compose-watch-2.26',
  'raw-exec',
  'raw-cp',
];
const COLOR: Record<Contender, string> = {
  composync: '#1f77b4',
  'composync-replica': '#17becf',
  'compose-watch': '#d62728',
  'compose-watch-2.26': '#ff9896',
  'raw-exec': '#7f7f7f',
  'raw-cp': '#bcbd22',
};

const fmt = (v: number | null | undefined, digits = 1): string =>
  v === null || v === undefined || !Number.isFinite(v)
    ? 'n/a'
    : v >= 100
      ? Math.round(v).toLocaleString('en-US')
      : String(Math.round(v * 10 ** digits) / 10 ** digits);

const mark = (met: boolean | null) => (met === null ? 'not measured' : met ? 'met' : '**missed**');

/** bench/RESULTS.md: one section per run (full first), then the notes on what limited them. */
export function renderMarkdown(results: (BenchResult | ScaleResult)[], notes: string): string {
  const out: string[] = [
    '# Benchmark results',
    '',
    'Generated by `npm run bench` (full), `npm run bench:quick` and `npm run bench:scale` (S1)',
    'from `bench/results/*.json`; do not edit by hand (the notes at the end come from',
    '`bench/notes.md`). How each figure is taken: `bench/workloads.ts` and `bench/scale.ts`.',
    'Every figure of a run comes from one run on one stack, the contenders side by side; compare',
    'ratios rather than absolute times across machines.',
    '',
  ];
  const rank = (r: RunInfo) => KINDS.indexOf(r.kind);
  for (const r of [...results].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name)))
    out.push(...('s1' in r ? renderScale(r) : renderRun(r)));
  out.push('## What limited it', '', notes.trim(), '');
  return out.join('\n');
}

/** Regenerate the report from every result file in `out` (and bench/notes.md). */
export async function writeReport(out: string, report: string): Promise<void> {
  const results: (BenchResult | ScaleResult)[] = [];
  for (const f of (await readdir(out)).filter((n) => n.endsWith('.json')).sort()) {
    const r = JSON.parse(await readFile(join(out, f), 'utf8')) as Partial<RunInfo>;
    // other benchmarks keep their results here too
    if ('targets' in r && Array.isArray(r.targets) && r.kind && KINDS.includes(r.kind))
      results.push(r as BenchResult | ScaleResult);
  }
  const notes = await readFile(join(repoRoot, 'bench', 'notes.md'), 'utf8').catch(() => '');
  let md = renderMarkdown(results, notes);
  const rel = relative(dirname(report), out).split('\\').join('/') || '.';
  if (rel !== 'results') md = md.replace(/\]\(results\//g, `](${rel}/`);
  await writeFile(report, md);
}

/** The head of a run's section: what ran, where, and the targets table. */
function renderHead(r: BenchResult | ScaleResult, chart: boolean): string[] {
  const m = r.machine;
  return [
    `## ${r.kind} run: \`${r.name}\` (${r.startedAt.slice(0, 10)})`,
    '',
    `- Command: \`${r.command}\` (${fmt(r.durationS / 60)} min)`,
    `- Machine: ${m.cpus} cores (${m.cpuModel}), ${fmt(m.memoryGb)} GB memory, Linux ${m.kernel}, ` +
      `Node ${m.node}; load average (1, 5, 15 min) ${m.loadavg.start.join(', ')} at the start, ` +
      `${m.loadavg.end.join(', ')} at the end`,
    `- Docker Engine ${r.engine.server}, Docker Compose ${r.engine.compose}; composync ` +
      `${r.composync.commit.slice(0, 10)}${r.composync.dirty ? ' (with uncommitted changes)' : ''}`,
    '',
    ...(chart ? [`![latency distributions](results/${r.name}.svg)`, ''] : []),
    '| workload | figure | value | target | |',
    '| --- | --- | --- | --- | --- |',
    ...r.targets.map(
      (t) =>
        `| ${t.workload} | ${t.figure} | ${fmt(t.value, 2)} ${t.value === null ? '' : t.unit} | ${t.target} | ${mark(t.met)} |`,
    ),
    '',
  ];
}

function renderScale(r: ScaleResult): string[] {
  const s = r.s1;
  const n = (x: number) => x.toLocaleString('en-US');
  const sec = (ms: number) => `${fmt(ms / 1000)} s`;
  const i = s.inotify;
  return [
    ...renderHead(r, false),
    `**S1 scale**: \`composync watch\` on a tree of ${n(s.files)} files (${fmt(s.bytes / 2 ** 20)} ` +
      `MB, ${s.minSize}-${s.maxSize} bytes each) in ${n(s.dirs - 1)} directories below the root, ` +
      `already in sync: written locally in ${sec(s.setup.writeMs)}, then \`composync sync\` ` +
      `uploaded ${n(s.setup.syncUploaded)} files into the empty target in ` +
      `${sec(s.setup.syncMs)} (peak RSS ${fmt(s.setup.syncPeakRssMb)} MB). ` +
      `Then ${fmt(s.readyMs)} ms from start to watching, with ${n(i.watches)} inotify watches on ` +
      `${n(i.instances)} inotify instance${i.instances === 1 ? '' : 's'} (the machine's limits: ` +
      `\`fs.inotify.max_user_watches\` ${n(i.maxUserWatches)}, \`max_user_instances\` ` +
      `${n(i.maxUserInstances)}); ${s.idleS} s idle: ${s.idleCpuS} CPU seconds ` +
      `(${s.idleCpuPct} % of a core); peak RSS ${fmt(s.peakRssMb)} MB, RSS after the idle period ` +
      `${fmt(s.rssAfterIdleMb)} MB. L1 in that tree: one 1 kB file rewritten ${s.edits} times, at ` +
      `least ${s.gapMs} ms apart, p50 ${fmt(s.l1.p50)} ms, p95 ${fmt(s.l1.p95)} ms, max ` +
      `${fmt(s.l1.max)} ms, ${s.l1.lost} lost. Load ${s.loadavg.start[0]} → ${s.loadavg.end[0]}.`,
    '',
  ];
}

function renderRun(r: BenchResult): string[] {
  const out = renderHead(r, true);
  if (r.l1) {
    const l = r.l1;
    out.push(
      `**L1 edit latency**: one 1 kB file in a watched tree of ${l.files.toLocaleString('en-US')} ` +
        `files rewritten ${l.edits} times, at least ${l.gapMs} ms apart; ms from the return of the ` +
        `local write to the moment a process in the container reads the new content. Load ` +
        `${l.loadavg.start[0]} → ${l.loadavg.end[0]}.`,
      '',
      '| contender | p50 | p95 | max | lost |',
      '| --- | --- | --- | --- | --- |',
      ...ORDER.filter((c) => l.contenders[c]).map((c) => {
        const d = l.contenders[c]!;
        return `| ${LABEL[c]} | ${fmt(d.p50)} | ${fmt(d.p95)} | ${fmt(d.max)} | ${d.lost} |`;
      }),
      '',
    );
  }
  if (r.b1) {
    const b = r.b1;
    out.push(
      `**B1 burst**: ${b.files.toLocaleString('en-US')} files of ${b.size / 1024} kB in ` +
        `${b.dirs} new directories written at once; ms from the end of the writes until every ` +
        `file is in the container with the right content; archives sent (composync: sync log ` +
        `records; compose watch: its "Syncing" lines).`,
      '',
      '| contender | median | runs (ms) | archives | local writes took (ms) |',
      '| --- | --- | --- | --- | --- |',
      ...ORDER.filter((c) => b.contenders[c]).map((c) => {
        const d = b.contenders[c]!;
        return (
          `| ${LABEL[c]} | ${fmt(d.median)} | ${d.runs.map((x) => fmt(x.ms)).join(', ')} | ` +
          `${d.runs.map((x) => x.archives ?? 'n/a').join(', ')} | ` +
          `${d.runs.map((x) => fmt(x.writeMs)).join(', ')} |`
        );
      }),
      '',
    );
  }
  if (r.ready)
    out.push(
      `Start to watching on the ${r.l1?.files.toLocaleString('en-US') ?? ''}-file trees: ` +
        Object.entries(r.ready)
          .map(([k, v]) => `${k} ${fmt(v)} ms`)
          .join(', ') +
        ' (composync includes the initial sync of two trees).',
      '',
    );
  if (r.i1) {
    const i = r.i1;
    const runs = (c: Contender) =>
      i.runs
        .filter((x) => x.contender === c)
        .map((x) => fmt(x.ms))
        .join(', ');
    out.push(
      `**I1 initial sync**: ${i.files.toLocaleString('en-US')} files, ` +
        `${fmt(i.bytes / 2 ** 20)} MB, into an empty target; wall time of the whole command ` +
        `(composync: \`composync sync\`, including loading the compose model).`,
      '',
      '| contender | runs (ms) |',
      '| --- | --- |',
      `| composync sync, empty target | ${runs('composync')} |`,
      `| composync sync again, nothing changed | ${i.noChangeRuns.map((x) => fmt(x)).join(', ')} |`,
      `| ${LABEL['raw-cp']} | ${runs('raw-cp')} |`,
      `| ${LABEL['raw-exec']} | ${runs('raw-exec')} |`,
      '',
    );
    if (i.peakRssMb?.length)
      out.push(
        `Peak RSS of composync: ${i.peakRssMb.map((x) => fmt(x)).join(', ')} MB (initial copy), ` +
          `${(i.noChangePeakRssMb ?? []).map((x) => fmt(x)).join(', ')} MB (nothing changed).`,
        '',
      );
  }
  if (r.r1) {
    const x = r.r1;
    out.push(
      `**R1 resources**: \`composync watch\` on the ${x.files.toLocaleString('en-US')}-file ` +
        `tree (already in sync): ${fmt(x.readyMs)} ms from start to watching; then ${x.idleS} s ` +
        `idle: ${x.idleCpuS} CPU seconds (${x.idleCpuPct} % of a core); peak RSS ` +
        `${fmt(x.peakRssMb)} MB, RSS after the idle period ${fmt(x.rssAfterIdleMb)} MB.`,
      '',
    );
  }
  if (r.f1) {
    const f = r.f1;
    const runs = (c: Contender) =>
      f.runs
        .filter((x) => x.contender === c)
        .map((x) => fmt(x.ms) + (x.ok ? '' : ' (wrong content)'))
        .join(', ');
    out.push(
      `**F1 large file**: one ${f.mb} MB file moved into the watched tree (composync) or copied ` +
        `(raw); ms until the container holds all of it (content verified afterwards). Peak RSS ` +
        `growth of composync: ${f.runs
          .filter((x) => x.rssGrowthMb !== undefined)
          .map((x) => `${fmt(x.rssGrowthMb)} MB`)
          .join(', ')}.`,
      '',
      '| contender | runs (ms) |',
      '| --- | --- |',
      ...(['composync', 'raw-cp', 'raw-exec'] as Contender[]).map(
        (c) => `| ${LABEL[c]} | ${runs(c)} |`,
      ),
      '',
    );
  }
  return out;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/**
 * The latency distributions of a run as an SVG: per workload (L1, B1) one row per contender on a
 * logarithmic axis, every sample a dot, p50 a bar and p95 a tick.
 */
export function renderSvg(r: BenchResult): string {
  const panels: { title: string; rows: { c: Contender; xs: number[] }[] }[] = [];
  if (r.l1)
    panels.push({
      title: `L1 edit latency, ms (${r.l1.edits} edits, ${r.l1.files.toLocaleString('en-US')}-file tree)`,
      rows: ORDER.filter((c) => r.l1!.contenders[c]).map((c) => ({
        c,
        xs: r.l1!.contenders[c]!.samples,
      })),
    });
  if (r.b1)
    panels.push({
      title: `B1 burst of ${r.b1.files.toLocaleString('en-US')} files, ms until all are in`,
      rows: ORDER.filter((c) => r.b1!.contenders[c]).map((c) => ({
        c,
        xs: r.b1!.contenders[c]!.runs.map((x) => x.ms),
      })),
    });
  const all = panels.flatMap((p) => p.rows.flatMap((x) => x.xs)).filter((x) => x > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(1, ...all)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(10, ...all)));
  const W = 760;
  const left = 230;
  const right = 20;
  const rowH = 30;
  const x = (v: number) =>
    left +
    ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / Math.log10(hi / lo)) * (W - left - right);
  const parts: string[] = [];
  let y = 10;
  for (const p of panels) {
    parts.push(`<text x="10" y="${y + 14}" font-weight="bold">${esc(p.title)}</text>`);
    y += 26;
    const top = y;
    for (const row of p.rows) {
      const cy = y + rowH / 2;
      parts.push(
        `<text x="10" y="${cy + 4}">${esc(LABEL[row.c])}</text>`,
        `<line x1="${left}" x2="${W - right}" y1="${cy}" y2="${cy}" stroke="#eee"/>`,
      );
      const ok = row.xs.filter((v) => Number.isFinite(v));
      ok.forEach((v, i) => {
        const jitter = ((i * 7) % 11) - 5;
        parts.push(
          `<circle cx="${x(v).toFixed(1)}" cy="${cy + jitter}" r="2" fill="${COLOR[row.c]}" fill-opacity="0.45"/>`,
        );
      });
      const sorted = [...ok].sort((a, b) => a - b);
      const q = (pct: number) =>
        sorted[Math.min(sorted.length - 1, Math.ceil((pct / 100) * sorted.length) - 1)];
      const p50 = q(50);
      const p95 = q(95);
      if (p50 !== undefined)
        parts.push(
          `<line x1="${x(p50).toFixed(1)}" x2="${x(p50).toFixed(1)}" y1="${cy - 10}" y2="${cy + 10}" stroke="#000" stroke-width="3"/>`,
        );
      if (p95 !== undefined && ok.length >= 10)
        parts.push(
          `<line x1="${x(p95).toFixed(1)}" x2="${x(p95).toFixed(1)}" y1="${cy - 7}" y2="${cy + 7}" stroke="#000" stroke-width="1"/>`,
        );
      y += rowH;
    }
    for (let v = lo; v <= hi; v *= 10) {
      parts.push(
        `<line x1="${x(v)}" x2="${x(v)}" y1="${top}" y2="${y}" stroke="#ccc" stroke-dasharray="2,3"/>`,
        `<text x="${x(v)}" y="${y + 14}" text-anchor="middle">${v >= 1000 ? `${v / 1000} s` : `${v} ms`}</text>`,
      );
    }
    y += 30;
  }
  parts.push(
    `<text x="10" y="${y + 4}" fill="#555">dot: one sample; thick bar: p50; thin tick: p95 (10 samples or more). ${esc(r.name)}, ${r.startedAt.slice(0, 10)}</text>`,
  );
  y += 14;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" ` +
    `font-family="sans-serif" font-size="12">\n<rect width="100%" height="100%" fill="#fff"/>\n` +
    parts.join('\n') +
    '\n</svg>\n'
  );
}
