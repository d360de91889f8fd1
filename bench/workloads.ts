/**
 * The workloads of issue 6, each run for every contender it applies to, in one run on one stack:
 * composync, `docker compose watch`, and the raw limit (`tar -c | docker cp -` and
 * `tar -c | docker exec -i CONTAINER tar -x`).
 *
 * Latencies are taken from the return of the local write to the moment the in-container probe
 * reads the expected content. Contenders take turns edit by edit (round robin), so a change in
 * the machine's load during the run weighs on all of them alike.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { loadavg } from 'node:os';
import {
  content,
  cpuSeconds,
  distribution,
  median,
  memoryMb,
  now,
  resetPeak,
  round,
  sha1,
  sleep,
  writeTree,
  type Distribution,
  type TreeFile,
} from './lib.js';
import { Probe, type Expected } from './probe-client.js';
import { TARGET, type LongRunning, type Service, type Stack } from './stack.js';

/** Sizes of one run (full, quick, or tiny for the test of the harness). */
export interface Sizes {
  /** L1: files in the watched tree, edits, and the gap between edits. */
  l1Files: number;
  l1Edits: number;
  l1GapMs: number;
  /** B1: files written at once, over how many directories, their size, repetitions. */
  b1Files: number;
  b1Dirs: number;
  b1Size: number;
  b1Reps: number;
  /** I1 (and R1, F1): the large tree. */
  i1Files: number;
  i1Dirs: number;
  i1AvgSize: number;
  i1Reps: number;
  /** R1: seconds of idle watching measured. */
  r1IdleS: number;
  /** F1: size of the large file in MB, repetitions. */
  f1Mb: number;
  f1Reps: number;
}

export type Contender =
  | 'composync'
  | 'composync-replica'
  | 'compose-watch'
  | 'compose-watch-2.26'
  | 'raw-cp'
  | 'raw-exec';

const loads = () => loadavg().map((x) => round(x, 2));

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

/** Expected container file for a tree-relative path. */
const expected = (rel: string, buf: Buffer): Expected => ({
  path: `${TARGET}/${rel}`,
  size: buf.length,
  sha1: sha1(buf),
});

// ---------------------------------------------------------------------------------------------
// L1 and B1: edits in a watched tree

export interface Lane {
  contender: Contender;
  service: Service;
  /** The local tree the contender watches (raw: the tree copied from). */
  src: string;
  probe: Probe;
  /** Raw contenders copy the given tree-relative paths themselves after each write. */
  copy?: (paths: string[]) => Promise<unknown>;
  lastWrite: number;
}

export interface L1Result {
  files: number;
  edits: number;
  gapMs: number;
  loadavg: { start: number[]; end: number[] };
  contenders: Partial<Record<Contender, Distribution & { bySweep: number }>>;
}

export interface B1Run {
  ms: number;
  writeMs: number;
  archives: number | null;
  ok: boolean;
  /** Files the probe found by polling rather than on an inotify event. */
  bySweep: number;
}

export interface B1Result {
  files: number;
  dirs: number;
  size: number;
  loadavg: { start: number[]; end: number[] };
  contenders: Partial<Record<Contender, { median: number; runs: B1Run[] }>>;
}

/**
 * L1 and B1 share one setup: each contender watches (or copies from) its own copy of a tree of
 * `l1Files` files; composync and compose watch run side by side, on different services.
 */
export async function editWorkloads(
  stack: Stack,
  sizes: Sizes,
  opts: { composeWatch: boolean; compose226?: string },
): Promise<{ l1: L1Result; b1: B1Result; ready: Record<string, number> }> {
  log(`L1/B1: writing ${sizes.l1Files}-file trees`);
  const treeOpts = { files: sizes.l1Files, dirs: Math.max(1, sizes.l1Files / 100), avgSize: 1024 };
  // compose watch: today's (the machine's compose) and, with its DOCKER_CONFIG, compose 2.26
  const composes: { contender: Contender; service: 'cw' | 'cw26'; config?: string }[] = [];
  if (opts.composeWatch) {
    composes.push({ contender: 'compose-watch', service: 'cw' });
    if (opts.compose226)
      composes.push({ contender: 'compose-watch-2.26', service: 'cw26', config: opts.compose226 });
  }
  const services: Service[] = ['cs', 'csr', ...composes.map((c) => c.service)];
  for (const s of services) writeTree(stack.src(s), { ...treeOpts, tag: 'tree' });
  const rawSrc = stack.src('raw');
  const tree = writeTree(rawSrc, { ...treeOpts, tag: 'tree' });
  // the edited file sits in a directory of the tree, beside a hundred others
  const edited = `${dirname(tree[tree.length >> 1]!.rel)}/edited.txt`;
  // compose watch has no initial sync: its containers and the raw one get the tree copied
  for (const s of ['raw', ...composes.map((c) => c.service)] as Service[]) {
    await stack.wipeTarget(s);
    await stack.rawCopy('exec', s === 'raw' ? rawSrc : stack.src(s), ['.'], s);
  }

  const watchers: LongRunning[] = [];
  const probes: Probe[] = [];
  try {
    log('L1/B1: starting composync watch cs csr');
    const cs = await stack.watchComposync(['cs', 'csr']);
    watchers.push(cs);
    const ready: Record<string, number> = { composync: round(cs.readyMs) };
    const composeWatchers: Partial<Record<Contender, LongRunning>> = {};
    for (const c of composes) {
      log(`L1/B1: starting docker compose watch ${c.service}`);
      const w = await stack.watchCompose(c.service, c.config);
      watchers.push(w);
      composeWatchers[c.contender] = w;
      ready[c.contender] = round(w.readyMs);
    }
    const probe = async (s: Service) => {
      const p = await Probe.start(stack.id(s));
      probes.push(p);
      return p;
    };
    const lanes: Lane[] = [
      { contender: 'composync', service: 'cs', src: stack.src('cs'), probe: await probe('cs') },
      {
        contender: 'composync-replica',
        service: 'csr',
        src: stack.src('csr'),
        probe: await probe('csr'),
      },
    ].map((l) => ({ ...l, lastWrite: -Infinity }) as Lane);
    for (const c of composes)
      lanes.push({
        contender: c.contender,
        service: c.service,
        src: stack.src(c.service),
        probe: await probe(c.service),
        lastWrite: -Infinity,
      });
    const rawProbe = await probe('raw');
    for (const via of ['exec', 'cp'] as const)
      lanes.push({
        contender: via === 'cp' ? 'raw-cp' : 'raw-exec',
        service: 'raw',
        src: rawSrc,
        probe: rawProbe,
        copy: (paths) => stack.rawCopy(via, rawSrc, paths),
        lastWrite: -Infinity,
      });

    const l1 = await editLatency(lanes, sizes, edited);
    const b1 = await burst(stack, lanes, sizes, composeWatchers);
    return { l1, b1, ready };
  } finally {
    for (const p of probes) p.close();
    for (const w of watchers) await w.stop();
  }
}

/** L1's measurement: `rel` rewritten `l1Edits` times per lane, the lanes taking turns. */
export async function editLatency(
  lanes: Lane[],
  sizes: Pick<Sizes, 'l1Files' | 'l1Edits' | 'l1GapMs'>,
  rel: string,
): Promise<L1Result> {
  const start = loads();
  const samples = new Map<Contender, number[]>(lanes.map((l) => [l.contender, []]));
  const bySweep = new Map<Contender, number>(lanes.map((l) => [l.contender, 0]));
  const warmup = 2;
  log(`L1: ${sizes.l1Edits} edits of ${rel} per contender, ${sizes.l1GapMs} ms apart`);
  for (let i = -warmup; i < sizes.l1Edits; i++) {
    for (const lane of lanes) {
      const buf = content(rel, `edit-${lane.contender}-${i}`, 1024);
      await sleep(lane.lastWrite + sizes.l1GapMs - now());
      const armed = await lane.probe.arm([expected(rel, buf)], { timeoutMs: 10_000 });
      writeFileSync(join(lane.src, rel), buf);
      const t0 = now();
      lane.lastWrite = t0;
      await lane.copy?.([rel]);
      const d = await armed.done;
      if (i < 0) continue;
      samples.get(lane.contender)!.push(d.ok ? d.t - t0 : NaN);
      bySweep.set(lane.contender, bySweep.get(lane.contender)! + d.bySweep);
    }
  }
  const contenders: L1Result['contenders'] = {};
  for (const [c, xs] of samples) contenders[c] = { ...distribution(xs), bySweep: bySweep.get(c)! };
  return {
    files: sizes.l1Files,
    edits: sizes.l1Edits,
    gapMs: sizes.l1GapMs,
    loadavg: { start, end: loads() },
    contenders,
  };
}

async function burst(
  stack: Stack,
  lanes: Lane[],
  sizes: Sizes,
  composeWatchers: Partial<Record<Contender, LongRunning>>,
): Promise<B1Result> {
  const start = loads();
  const runs = new Map<Contender, B1Run[]>(lanes.map((l) => [l.contender, []]));
  log(`B1: ${sizes.b1Files} files of ${sizes.b1Size} B in ${sizes.b1Dirs} directories`);
  for (let rep = 0; rep < sizes.b1Reps; rep++) {
    for (const lane of lanes) {
      const top = `burst-${lane.contender}-${rep}`;
      const files: { rel: string; buf: Buffer }[] = [];
      for (let i = 0; i < sizes.b1Files; i++) {
        const rel = `${top}/d${String(i % sizes.b1Dirs).padStart(2, '0')}/f${String(i).padStart(4, '0')}.txt`;
        files.push({ rel, buf: content(rel, `burst-${rep}`, sizes.b1Size) });
      }
      await stack.settle(); // the previous burst's batches and writes done
      const logAt = await stack.syncLogOffset();
      const cw = composeWatchers[lane.contender];
      const composeBatches = cw?.count(/Syncing/) ?? 0;
      const armed = await lane.probe.arm(
        files.map((f) => expected(f.rel, f.buf)),
        { timeoutMs: 120_000 },
      );
      const tw = now();
      for (let d = 0; d < sizes.b1Dirs; d++)
        mkdirSync(join(lane.src, top, `d${String(d).padStart(2, '0')}`), { recursive: true });
      for (const f of files) writeFileSync(join(lane.src, f.rel), f.buf);
      const t0 = now();
      await lane.copy?.([top]);
      const d = await armed.done;
      let archives: number | null = null;
      if (lane.contender.startsWith('composync')) {
        archives = await archivesSent(stack, logAt, lane.service, sizes.b1Files);
      } else if (cw) {
        await sleep(300);
        archives = cw.count(/Syncing/) - composeBatches;
      } else {
        archives = 1;
      }
      runs.get(lane.contender)!.push({
        ms: round(d.ok ? d.t - t0 : NaN),
        writeMs: round(t0 - tw),
        archives,
        ok: d.ok,
        bySweep: d.bySweep,
      });
      log(
        `B1 ${lane.contender} #${rep}: ${round(d.t - t0)} ms, ${archives} archives, ${d.bySweep} by sweep`,
      );
    }
  }
  const contenders: B1Result['contenders'] = {};
  for (const [c, rs] of runs)
    contenders[c] = { median: round(median(rs.map((r) => r.ms))), runs: rs };
  return {
    files: sizes.b1Files,
    dirs: sizes.b1Dirs,
    size: sizes.b1Size,
    loadavg: { start, end: loads() },
    contenders,
  };
}

/** Upload records composync logged for a service since `offset`, once all files are counted. */
async function archivesSent(stack: Stack, offset: number, service: Service, files: number) {
  const deadline = now() + 10_000;
  for (;;) {
    const recs = (await stack.syncLogSince(offset)).filter(
      (r) => r.event === 'sync' && r.service === service,
    );
    const sent = recs.reduce((n, r) => n + (r.files ?? 0), 0);
    if (sent >= files || now() > deadline) return recs.length;
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------------------------
// I1, R1, F1: the large tree

export interface I1Result {
  files: number;
  bytes: number;
  loadavg: { start: number[]; end: number[] };
  /** Wall times in ms per repetition. */
  runs: { contender: Contender; ms: number; files: number }[];
  /** Wall times in ms of the second `composync sync`, nothing changed. */
  noChangeRuns: number[];
  /** Peak RSS (MB) of each initial `composync sync` and of each no-change one. */
  peakRssMb?: number[];
  noChangePeakRssMb?: number[];
  composync: number;
  noChange: number;
  raw: number;
  rawVia: 'cp' | 'exec';
}

/** I1: the first `composync sync` of the large tree into an empty target, then a second one. */
export async function initialSync(stack: Stack, sizes: Sizes): Promise<I1Result> {
  log(`I1: writing ${sizes.i1Files} files (about ${(sizes.i1Files * sizes.i1AvgSize) >> 20} MB)`);
  const tree = writeTree(stack.src('big'), {
    files: sizes.i1Files,
    dirs: sizes.i1Dirs,
    avgSize: sizes.i1AvgSize,
    tag: 'big',
  });
  const bytes = tree.reduce((n, f) => n + f.size, 0);
  const start = loads();
  const runs: I1Result['runs'] = [];
  const noChangeRuns: number[] = [];
  const peakRssMb: number[] = [];
  const noChangePeakRssMb: number[] = [];
  const rawSrc = stack.src('big');
  for (let rep = 0; rep < sizes.i1Reps; rep++) {
    for (const via of ['cp', 'exec'] as const) {
      await stack.wipeTarget('raw');
      await stack.settle(3000);
      const r = await stack.rawCopy(via, rawSrc, ['.']);
      runs.push({ contender: `raw-${via}`, ms: round(r.ms), files: await stack.countFiles('raw') });
      log(`I1 raw-${via}: ${round(r.ms)} ms`);
    }
    await stack.wipeTarget('big');
    await stack.settle(3000);
    const r = await stack.composync(['sync', 'big']);
    if (r.code !== 0) throw new Error(`composync sync failed (${r.code}): ${r.stdout}${r.stderr}`);
    runs.push({ contender: 'composync', ms: round(r.ms), files: await stack.countFiles('big') });
    peakRssMb.push(round(r.peakRssMb));
    log(`I1 composync: ${round(r.ms)} ms, peak RSS ${round(r.peakRssMb)} MB`);
    await stack.settle();
    const again = await stack.composync(['sync', 'big']);
    if (again.code !== 0) throw new Error(`composync sync (no change) failed: ${again.stdout}`);
    noChangeRuns.push(round(again.ms));
    noChangePeakRssMb.push(round(again.peakRssMb));
    log(
      `I1 composync, nothing changed: ${round(again.ms)} ms, peak RSS ${round(again.peakRssMb)} MB`,
    );
  }
  await stack.wipeTarget('raw');
  await verifySample(stack, 'big', tree);
  const med = (c: Contender) => median(runs.filter((r) => r.contender === c).map((r) => r.ms));
  const rawVia = med('raw-cp') <= med('raw-exec') ? 'cp' : 'exec';
  return {
    files: tree.length,
    bytes,
    loadavg: { start, end: loads() },
    runs,
    composync: round(med('composync')),
    noChangeRuns,
    noChange: round(median(noChangeRuns)),
    peakRssMb,
    noChangePeakRssMb,
    raw: round(med(`raw-${rawVia}`)),
    rawVia,
  };
}

/** Check a sample of the tree's files in a container through the probe. */
export async function verifySample(
  stack: Stack,
  service: Service,
  tree: TreeFile[],
): Promise<void> {
  const step = Math.max(1, Math.floor(tree.length / 200));
  const sample = tree.filter((_f, i) => i % step === 0);
  const probe = await Probe.start(stack.id(service));
  try {
    const armed = await probe.arm(
      sample.map((f) => ({ path: `${TARGET}/${f.rel}`, size: f.size, sha1: f.sha1 })),
      { timeoutMs: 10_000 },
    );
    const d = await armed.done;
    if (!d.ok) throw new Error(`files in ${service} differ from the local tree`);
  } finally {
    probe.close();
  }
}

export interface R1Result {
  files: number;
  readyMs: number;
  idleS: number;
  idleCpuS: number;
  idleCpuPct: number;
  peakRssMb: number;
  rssAfterIdleMb: number;
  loadavg: { start: number[]; end: number[] };
}

export interface F1Result {
  mb: number;
  runs: { contender: Contender; ms: number; ok: boolean; rssGrowthMb?: number }[];
  composync: number;
  raw: number;
  rawVia: 'cp' | 'exec';
  rssGrowthMb: number;
  loadavg: { start: number[]; end: number[] };
}

/**
 * R1 then F1, in one `composync watch big` session on the large tree (synced by I1, or here):
 * the time to watching, 60 s of idle CPU and memory, then the large file moved into the tree.
 */
export async function resources(
  stack: Stack,
  sizes: Sizes,
  opts: { synced: boolean },
): Promise<{ r1: R1Result; f1: F1Result }> {
  if (!opts.synced) {
    writeTree(stack.src('big'), {
      files: sizes.i1Files,
      dirs: sizes.i1Dirs,
      avgSize: sizes.i1AvgSize,
      tag: 'big',
    });
    await stack.wipeTarget('big');
    // F1's raw copies go into the raw container's target, which I1 would have made
    await stack.wipeTarget('raw');
    const r = await stack.composync(['sync', 'big']);
    if (r.code !== 0) throw new Error(`composync sync failed: ${r.stdout}${r.stderr}`);
  }
  log('R1: composync watch big');
  const start = loads();
  const w = await stack.watchComposync(['big']);
  const probes: Probe[] = [];
  try {
    const cpu0 = cpuSeconds(w.pid);
    let rss = 0;
    for (let s = 0; s < sizes.r1IdleS; s++) {
      await sleep(1000);
      rss = memoryMb(w.pid).rss;
    }
    const idleCpuS = cpuSeconds(w.pid) - cpu0;
    const mem = memoryMb(w.pid);
    const r1: R1Result = {
      files: sizes.i1Files,
      readyMs: round(w.readyMs),
      idleS: sizes.r1IdleS,
      idleCpuS: round(idleCpuS, 2),
      idleCpuPct: round((100 * idleCpuS) / sizes.r1IdleS, 2),
      peakRssMb: round(mem.peak),
      rssAfterIdleMb: round(rss),
      loadavg: { start, end: loads() },
    };
    log(`R1: ready ${r1.readyMs} ms, idle ${r1.idleCpuPct}% CPU, peak ${r1.peakRssMb} MB`);

    const f1Start = loads();
    const bigProbe = await Probe.start(stack.id('big'));
    const rawProbe = await Probe.start(stack.id('raw'));
    probes.push(bigProbe, rawProbe);
    const runs: F1Result['runs'] = [];
    const staging = join(stack.dir, 'f1-staging');
    mkdirSync(staging, { recursive: true });
    for (let rep = 0; rep < sizes.f1Reps; rep++) {
      const name = `large-${rep}.bin`;
      log(`F1: writing a ${sizes.f1Mb} MB file`);
      const want = await largeFile(join(staging, name), sizes.f1Mb);
      const exp = { path: `${TARGET}/${name}`, size: want.size, sha1: want.sha1 };
      // composync: moved into the watched tree in one step
      await stack.settle();
      const before = memoryMb(w.pid).rss;
      const resetOk = resetPeak(w.pid);
      let sampled = before;
      const sampler = setInterval(() => (sampled = Math.max(sampled, memoryMb(w.pid).rss)), 20);
      let armed = await bigProbe.arm([exp], { sizeOnly: true, timeoutMs: 600_000 });
      renameSync(join(staging, name), stack.src('big', name));
      let t0 = now();
      let d = await armed.done;
      clearInterval(sampler);
      const peak = Math.max(sampled, resetOk ? memoryMb(w.pid).peak : 0);
      runs.push({
        contender: 'composync',
        ms: round(d.t - t0),
        ok: d.ok,
        rssGrowthMb: round(peak - before),
      });
      log(`F1 composync: ${round(d.t - t0)} ms, RSS +${round(peak - before)} MB`);
      // raw: the same file, both ways
      for (const via of ['cp', 'exec'] as const) {
        await stack.settle();
        armed = await rawProbe.arm([exp], { sizeOnly: true, timeoutMs: 600_000 });
        t0 = now();
        await stack.rawCopy(via, stack.src('big'), [name]);
        d = await armed.done;
        runs.push({ contender: `raw-${via}`, ms: round(d.t - t0), ok: d.ok });
        log(`F1 raw-${via}: ${round(d.t - t0)} ms`);
        await stack.exec('raw', `rm -f ${TARGET}/${name}`);
      }
      rmSync(stack.src('big', name));
    }
    rmSync(staging, { recursive: true, force: true });
    const med = (c: Contender) => median(runs.filter((r) => r.contender === c).map((r) => r.ms));
    const rawVia = med('raw-cp') <= med('raw-exec') ? 'cp' : 'exec';
    const f1: F1Result = {
      mb: sizes.f1Mb,
      runs,
      composync: round(med('composync')),
      raw: round(med(`raw-${rawVia}`)),
      rawVia,
      rssGrowthMb: round(Math.max(...runs.map((r) => r.rssGrowthMb ?? 0))),
      loadavg: { start: f1Start, end: loads() },
    };
    return { r1, f1 };
  } finally {
    for (const p of probes) p.close();
    await w.stop();
  }
}

/** Write a file of random content, `mb` MB, returning its size and SHA-1. */
async function largeFile(path: string, mb: number): Promise<{ size: number; sha1: string }> {
  const h = createHash('sha1');
  const fh = await open(path, 'w');
  try {
    const chunk = 8 * 1024 * 1024;
    let left = mb * 1024 * 1024;
    while (left > 0) {
      const buf = randomBytes(Math.min(chunk, left));
      h.update(buf);
      await fh.write(buf);
      left -= buf.length;
    }
  } finally {
    await fh.close();
  }
  return { size: mb * 1024 * 1024, sha1: h.digest('hex') };
}
