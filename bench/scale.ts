/**
 * S1, the scale workload: `composync watch` on a million small files in 10,000 directories that
 * are already in sync. How long it takes to watch, its peak memory, its idle CPU, the latency of
 * one edit in that tree (as L1 measures it), and the inotify watches it holds against the
 * machine's limits. Too long for the full run, so a command of its own:
 *
 *   npm run bench:scale                     # a million files (about 15 minutes)
 *   node dist/bench/scale.js [--tiny] [--name NAME] [--out DIR] [--report FILE] [--keep]
 *
 * `--tiny` (2,000 files) checks that the harness works, in well under a minute; its figures
 * mean nothing. `--keep` leaves the project running and its directory in place (to profile by
 * hand; it prints how to remove both). Writes `<out>/<name>.json`, then regenerates the report
 * (bench/RESULTS.md) from every result file in `<out>`.
 *
 * To profile composync while it runs: BENCH_COMPOSYNC_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=DIR".
 */
import { readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  cpuSeconds,
  inotifyLimits,
  inotifyUse,
  memoryMb,
  now,
  round,
  sleep,
  writeTree,
  type Distribution,
} from './lib.js';
import { Probe } from './probe-client.js';
import { evaluateScaleTargets, printTargets, writeReport, type ScaleResult } from './report.js';
import { finishRun, startRun } from './run-info.js';
import { repoRoot, Stack, type LongRunning } from './stack.js';
import { editLatency, verifySample, type Lane } from './workloads.js';

/** The sizes of an S1 run. */
export interface ScaleSizes {
  files: number;
  /** Leaf directories the files are spread over (writeTree adds 50 top directories above). */
  dirs: number;
  /** Mean file size in bytes (sizes run from a quarter to 1.75 times it). */
  avgSize: number;
  /** L1 in the tree: edits of one file, and the least gap between them. */
  edits: number;
  gapMs: number;
  /** Seconds of idle watching measured. */
  idleS: number;
}

const SIZES: Record<ScaleResult['kind'], ScaleSizes> = {
  scale: { files: 1_000_000, dirs: 10_000, avgSize: 550, edits: 100, gapMs: 200, idleS: 60 },
  'scale-tiny': { files: 2_000, dirs: 20, avgSize: 550, edits: 5, gapMs: 100, idleS: 2 },
};

export interface S1Result {
  files: number;
  /** Directories of the tree, the root included: what a watch per directory needs. */
  dirs: number;
  bytes: number;
  minSize: number;
  maxSize: number;
  /**
   * How both sides were brought in sync: the local write, then `composync sync` into the empty
   * target (ms, its peak RSS in MB, the files it uploaded).
   */
  setup: {
    writeMs: number;
    syncMs: number;
    syncPeakRssMb: number;
    syncUploaded: number;
  };
  readyMs: number;
  idleS: number;
  idleCpuS: number;
  idleCpuPct: number;
  /** VmHWM at the end: start, idle period and edits. */
  peakRssMb: number;
  rssAfterIdleMb: number;
  edits: number;
  gapMs: number;
  l1: Distribution & { bySweep: number };
  /** What the watcher holds once watching, and the machine's limits. */
  inotify: {
    instances: number;
    watches: number;
    maxUserWatches: number;
    maxUserInstances: number;
    maxQueuedEvents: number;
  };
  /** Lines of the watcher's output that are warnings (a fallback to polling would show here). */
  warnings: string[];
  loadavg: { start: number[]; end: number[] };
}

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);
const loads = () => loadavg().map((x) => round(x, 2));

/** Directories of a tree, its root included. */
function countDirs(root: string): number {
  let n = 1;
  for (const e of readdirSync(root, { withFileTypes: true }))
    if (e.isDirectory()) n += countDirs(join(root, e.name));
  return n;
}

async function s1(stack: Stack, sizes: ScaleSizes): Promise<S1Result> {
  const src = stack.src('big');
  log(`S1: writing ${sizes.files} files in ${sizes.dirs} directories`);
  const t = now();
  let tree = writeTree(src, { ...sizes, tag: 'scale' });
  const writeMs = now() - t;
  const dirs = countDirs(src);
  let bytes = 0;
  let minSize = Infinity;
  let maxSize = 0;
  for (const f of tree) {
    bytes += f.size;
    minSize = Math.min(minSize, f.size);
    maxSize = Math.max(maxSize, f.size);
  }

  // Into the empty target with composync itself: a raw copy first (4 min here) left a sync
  // that must read both sides to record them (16-18 min, most of it the engine's archive of
  // the target); the upload is 8 min.
  log('S1: composync sync big, into the empty target');
  await stack.wipeTarget('big');
  await stack.settle(3000);
  const logAt = await stack.syncLogOffset();
  let syncPeak = 0;
  let sampler: NodeJS.Timeout | undefined;
  const sync = await stack.composync(['sync', 'big'], 30 * 60_000, (pid) => {
    sampler = setInterval(() => {
      try {
        syncPeak = Math.max(syncPeak, memoryMb(pid).peak);
      } catch {
        // exited
      }
    }, 100);
  });
  clearInterval(sampler);
  if (sync.code !== 0) throw new Error(`composync sync failed: ${sync.stdout}${sync.stderr}`);
  const syncUploaded = (await stack.syncLogSince(logAt))
    .filter((r) => r.event === 'sync' && r.service === 'big')
    .reduce((n, r) => n + (r.files ?? 0), 0);
  log(`S1: sync ${round(sync.ms)} ms, peak ${round(syncPeak)} MB, ${syncUploaded} uploaded`);
  await verifySample(stack, 'big', tree);
  // the edited file sits in a directory of the tree, beside a hundred others
  const edited = `${dirname(tree[tree.length >> 1]!.rel)}/edited.txt`;
  tree = []; // a million records the harness no longer needs

  await stack.settle(3000);
  log('S1: composync watch big');
  const start = loads();
  const w = await stack.watchComposync(['big'], 30 * 60_000);
  let probe: Probe | undefined;
  try {
    const use = inotifyUse(w.pid);
    log(`S1: watching after ${round(w.readyMs)} ms, ${use.watches} inotify watches`);
    const cpu0 = cpuSeconds(w.pid);
    let rss = 0;
    for (let s = 0; s < sizes.idleS; s++) {
      await sleep(1000);
      rss = memoryMb(w.pid).rss;
    }
    const idleCpuS = cpuSeconds(w.pid) - cpu0;
    log(`S1: idle ${round(idleCpuS, 2)} CPU s in ${sizes.idleS} s; L1, ${sizes.edits} edits`);

    probe = await Probe.start(stack.id('big'));
    const lane: Lane = { contender: 'composync', service: 'big', src, probe, lastWrite: -Infinity };
    const l1 = await editLatency(
      [lane],
      { l1Files: sizes.files, l1Edits: sizes.edits, l1GapMs: sizes.gapMs },
      edited,
    );
    const mem = memoryMb(w.pid);
    return {
      files: sizes.files,
      dirs,
      bytes,
      minSize,
      maxSize,
      setup: {
        writeMs: round(writeMs),
        syncMs: round(sync.ms),
        syncPeakRssMb: round(syncPeak),
        syncUploaded,
      },
      readyMs: round(w.readyMs),
      idleS: sizes.idleS,
      idleCpuS: round(idleCpuS, 2),
      idleCpuPct: round((100 * idleCpuS) / sizes.idleS, 2),
      peakRssMb: round(mem.peak),
      rssAfterIdleMb: round(rss),
      edits: sizes.edits,
      gapMs: sizes.gapMs,
      l1: l1.contenders.composync!,
      inotify: { ...use, ...inotifyLimits() },
      warnings: warnings(w),
      loadavg: { start, end: loads() },
    };
  } finally {
    probe?.close();
    await w.stop();
  }
}

/** composync's own warnings and problems in a watcher's output. */
function warnings(w: LongRunning): string[] {
  return w.output.split('\n').filter((l) => /^composync\s+! |watcher:/.test(l));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tiny: { type: 'boolean', default: false },
      name: { type: 'string' },
      out: { type: 'string', default: join(repoRoot, 'bench', 'results') },
      report: { type: 'string', default: join(repoRoot, 'bench', 'RESULTS.md') },
      keep: { type: 'boolean', default: false },
    },
  });
  const kind: ScaleResult['kind'] = values.tiny ? 'scale-tiny' : 'scale';
  const sizes = SIZES[kind];
  const name = values.name ?? kind;
  const out = resolve(values.out!);
  const info = await startRun(kind, name, 'dist/bench/scale.js');
  const stack = await Stack.create({ quietDisk: kind === 'scale' });
  let result: S1Result;
  try {
    log(`${kind} run, project ${stack.name} in ${stack.dir}`);
    await stack.up(['big']);
    result = await s1(stack, sizes);
  } finally {
    if (values.keep)
      log(`kept: docker compose -p ${stack.name} down -v -t 0 && rm -rf ${stack.dir} removes it`);
    else await stack.destroy();
  }
  const partial: Omit<ScaleResult, 'targets'> = { ...info, kind, sizes, s1: result };
  finishRun(partial);
  const res: ScaleResult = { ...partial, targets: evaluateScaleTargets(partial) };
  await mkdir(out, { recursive: true });
  await writeFile(join(out, `${name}.json`), JSON.stringify(res, null, 2) + '\n');
  await writeReport(out, resolve(values.report!));
  printTargets(res.targets);
  process.stdout.write(`wrote ${join(out, `${name}.json`)} and ${values.report}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
