/**
 * The soak harness: a seeded random workload on local source trees (and, for two-way rules, in
 * a container directory the local workload never touches), and tree comparison by content hash:
 * local files hashed here, container files hashed inside the container with its own `sha1sum`,
 * symlink targets and directory sets included. Shared by test/soak.test.ts, test/faults.test.ts
 * and `npm run soak`.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, rename, rm, symlink } from 'node:fs/promises';
import { appendFile, truncate, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { sh, type CliProcess, type TestProject, waitFor } from './helpers.js';

/** A small, fast, seedable PRNG (mulberry32): the same seed gives the same workload. */
export class Rng {
  private s: number;
  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  /** A key of `weights` drawn in proportion to its weight. */
  weighted<K extends string>(weights: Record<K, number>): K {
    const entries = Object.entries(weights) as [K, number][];
    let r = this.next() * entries.reduce((a, [, w]) => a + w, 0);
    for (const [k, w] of entries) if ((r -= w) < 0) return k;
    return entries[entries.length - 1]![0];
  }
}

/** The seed of CI runs: a gate replays the same workloads each time (see seedFromEnv). */
export const CI_SEED = 20261121;

/**
 * A seed from the environment (COMPOSYNC_SOAK_SEED), else the fixed CI seed when CI is set (a
 * merge gate that draws new workloads each run turns every new find into someone else's red
 * run), else a fresh one: local runs and `npm run soak` keep exploring.
 */
export function seedFromEnv(): number {
  const v = process.env.COMPOSYNC_SOAK_SEED;
  if (v && /^\d+$/.test(v)) return Number(v) >>> 0;
  if (process.env.CI) return CI_SEED;
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

/** Kinds of local operation the workload applies. */
export const LOCAL_OPS = {
  create: 16,
  modify: 12,
  sameSize: 5,
  append: 8,
  truncate: 4,
  delete: 8,
  rename: 7,
  mkdirDeep: 5,
  deleteDir: 2,
  renameDir: 2,
  symlink: 5,
  kindChange: 3,
  excluded: 3,
  large: 1,
} as const;
export type LocalOp = keyof typeof LOCAL_OPS;

const WORDS = ['a', 'src', 'lib', 'Data', 'x y', 'ünï', 'émoji✓', 'k-9', 'v1.2', '_p', '@at', '%p'];

/** Names that stay clear of the built-in excludes and of the patterns the soak excludes. */
function fileName(rng: Rng): string {
  const stem = `${rng.pick(WORDS)}${rng.int(1000)}`;
  const lead = rng.chance(0.05) ? '-' : rng.chance(0.05) ? '#' : '';
  return lead + stem + rng.pick(['', '.txt', '.ts', '.json', '.md', ' copy']);
}

function content(rng: Rng, size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (rng.int(256) ^ i) & 0xff;
  return b;
}

function smallSize(rng: Rng): number {
  return rng.pick([0, 1, 7, 100, 511, 512, 513, 4096, 10_000, 40_000]) + rng.int(64);
}

/**
 * One source tree under random change. It keeps an index of what it created (files, dirs,
 * links) so operations pick existing paths; `avoid` names a top-level directory it never
 * touches (the container-side workload's, in two-way rules).
 */
export class LocalWorkload {
  readonly files = new Set<string>();
  readonly dirs = new Set<string>();
  readonly links = new Set<string>();
  readonly counts: Record<string, number> = {};

  constructor(
    readonly root: string,
    private readonly rng: Rng,
    private readonly avoid?: string,
  ) {}

  private abs(rel: string): string {
    return join(this.root, rel);
  }

  private randomDir(): string {
    const dirs = [...this.dirs];
    return dirs.length === 0 || this.rng.chance(0.2) ? '' : this.rng.pick(dirs);
  }

  private freshPath(dir: string): string {
    for (;;) {
      const rel = dir === '' ? fileName(this.rng) : `${dir}/${fileName(this.rng)}`;
      if (rel === this.avoid) continue;
      if (!this.files.has(rel) && !this.dirs.has(rel) && !this.links.has(rel)) return rel;
    }
  }

  private pickFile(): string | undefined {
    return this.files.size ? this.rng.pick([...this.files]) : undefined;
  }

  private forgetBelow(dir: string): void {
    for (const set of [this.files, this.dirs, this.links])
      for (const p of [...set]) if (p === dir || p.startsWith(dir + '/')) set.delete(p);
  }

  private moveBelow(from: string, to: string): void {
    for (const set of [this.files, this.dirs, this.links])
      for (const p of [...set])
        if (p === from || p.startsWith(from + '/')) {
          set.delete(p);
          set.add(to + p.slice(from.length));
        }
  }

  /** Create the parents of `rel` (recording them). */
  private async parents(rel: string): Promise<void> {
    const dir = posix.dirname(rel);
    if (dir === '.') return;
    await mkdir(this.abs(dir), { recursive: true });
    let d = dir;
    while (d !== '.') {
      this.dirs.add(d);
      d = posix.dirname(d);
    }
  }

  /** Apply one random operation; returns its kind. */
  async step(): Promise<LocalOp> {
    const op = this.rng.weighted(LOCAL_OPS);
    const done = await this.apply(op);
    const kind = done ? op : 'create';
    if (!done) await this.apply('create');
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
    return kind;
  }

  private async apply(op: LocalOp): Promise<boolean> {
    const rng = this.rng;
    switch (op) {
      case 'create': {
        const rel = this.freshPath(this.randomDir());
        await this.parents(rel);
        await writeFile(this.abs(rel), content(rng, smallSize(rng)));
        this.files.add(rel);
        return true;
      }
      case 'large': {
        const rel = this.freshPath(this.randomDir());
        await this.parents(rel);
        await writeFile(this.abs(rel), content(rng, rng.range(600_000, 1_500_000)));
        this.files.add(rel);
        return true;
      }
      case 'modify': {
        const f = this.pickFile();
        if (!f) return false;
        await writeFile(this.abs(f), content(rng, smallSize(rng)));
        return true;
      }
      case 'sameSize': {
        // same size, same second: only the content tells the versions apart
        const f = this.pickFile();
        if (!f) return false;
        const size = (await lstat(this.abs(f))).size;
        await writeFile(this.abs(f), content(rng, size));
        return true;
      }
      case 'append': {
        const f = this.pickFile();
        if (!f) return false;
        await appendFile(this.abs(f), content(rng, rng.range(1, 3000)));
        return true;
      }
      case 'truncate': {
        const f = this.pickFile();
        if (!f) return false;
        const size = (await lstat(this.abs(f))).size;
        await truncate(this.abs(f), rng.chance(0.3) ? 0 : rng.int(size + 1));
        return true;
      }
      case 'delete': {
        const f = this.files.size && rng.chance(0.8) ? this.pickFile() : this.pickLink();
        if (!f) return false;
        await rm(this.abs(f));
        this.files.delete(f);
        this.links.delete(f);
        return true;
      }
      case 'rename': {
        const f = this.pickFile();
        if (!f) return false;
        // sometimes over an existing file (rename replaces it atomically)
        const other = rng.chance(0.2) ? this.pickFile() : undefined;
        const to = other && other !== f ? other : this.freshPath(this.randomDir());
        await this.parents(to);
        await rename(this.abs(f), this.abs(to));
        this.files.delete(f);
        this.files.add(to);
        return true;
      }
      case 'mkdirDeep': {
        let rel = this.randomDir();
        for (let i = rng.range(2, 7); i > 0; i--) rel = this.freshPath(rel);
        await mkdir(this.abs(rel), { recursive: true });
        await this.parents(`${rel}/x`);
        if (rng.chance(0.7)) {
          const f = `${rel}/${fileName(rng)}`;
          await writeFile(this.abs(f), content(rng, smallSize(rng)));
          this.files.add(f);
        }
        return true;
      }
      case 'deleteDir': {
        if (this.dirs.size === 0) return false;
        const d = rng.pick([...this.dirs]);
        await rm(this.abs(d), { recursive: true, force: true });
        this.forgetBelow(d);
        return true;
      }
      case 'renameDir': {
        if (this.dirs.size === 0) return false;
        const d = rng.pick([...this.dirs]);
        let parent = this.randomDir();
        if (parent === d || parent.startsWith(d + '/')) parent = '';
        const to = this.freshPath(parent);
        await rename(this.abs(d), this.abs(to));
        this.moveBelow(d, to);
        return true;
      }
      case 'symlink': {
        const rel = this.freshPath(this.randomDir());
        await this.parents(rel);
        const f = this.pickFile();
        const target = rng.pick([
          f ? posix.relative(posix.dirname(rel), f) : 'missing',
          'dangling-target',
          '/etc/passwd',
          '..',
          '.',
        ]);
        await symlink(target, this.abs(rel));
        this.links.add(rel);
        return true;
      }
      case 'kindChange': {
        const f = this.pickFile();
        if (!f) return false;
        await rm(this.abs(f));
        this.files.delete(f);
        if (rng.chance(0.5)) {
          await mkdir(this.abs(f));
          this.dirs.add(f);
          const inner = `${f}/${fileName(rng)}`;
          await writeFile(this.abs(inner), content(rng, smallSize(rng)));
          this.files.add(inner);
        } else {
          await symlink('elsewhere', this.abs(f));
          this.links.add(f);
        }
        return true;
      }
      case 'excluded': {
        const dir = this.randomDir();
        const rel = rng.pick([
          `${dir ? dir + '/' : ''}debug${rng.int(100)}.log`,
          `${dir ? dir + '/' : ''}node_modules/pkg${rng.int(10)}/index.js`,
          `tmp/scratch${rng.int(100)}`,
        ]);
        await mkdir(this.abs(posix.dirname(rel)), { recursive: true });
        await writeFile(this.abs(rel), content(rng, smallSize(rng)));
        return true;
      }
    }
  }

  private pickLink(): string | undefined {
    return this.links.size ? this.rng.pick([...this.links]) : undefined;
  }
}

/**
 * Container-side operations in a directory of a two-way target the local workload never
 * touches: one `sh` script per burst (names from a safe alphabet, so the script is plain).
 */
export class RemoteWorkload {
  readonly files = new Set<string>();
  readonly dirs = new Set<string>();
  ops = 0;

  constructor(
    private readonly rng: Rng,
    /** Absolute container directory, e.g. /t/remote. */
    readonly dir: string,
  ) {}

  /** A script of `n` operations. */
  script(n: number): string {
    const rng = this.rng;
    const q = (rel: string) => `'${this.dir}/${rel}'`;
    const lines = [`mkdir -p '${this.dir}'`];
    for (let i = 0; i < n; i++) {
      const dirs = ['', ...this.dirs];
      const dir = rng.pick(dirs);
      const op = rng.weighted({ create: 5, modify: 3, append: 2, delete: 2, mkdir: 2, rmdir: 1 });
      const files = [...this.files];
      const fresh = () => `${dir ? dir + '/' : ''}r${rng.int(100000)}`;
      if (op === 'create' || (files.length === 0 && op !== 'mkdir')) {
        const f = fresh();
        lines.push(`echo ${rng.int(1e9)} > ${q(f)}`);
        this.files.add(f);
      } else if (op === 'modify') {
        lines.push(`echo ${rng.int(1e9)} > ${q(rng.pick(files))}`);
      } else if (op === 'append') {
        lines.push(`echo more${rng.int(1e6)} >> ${q(rng.pick(files))}`);
      } else if (op === 'delete') {
        const f = rng.pick(files);
        lines.push(`rm -f ${q(f)}`);
        this.files.delete(f);
      } else if (op === 'mkdir') {
        const d = fresh();
        lines.push(`mkdir -p ${q(d)}`);
        this.dirs.add(d);
      } else if (this.dirs.size) {
        const d = rng.pick([...this.dirs]);
        lines.push(`rm -rf ${q(d)}`);
        for (const set of [this.files, this.dirs])
          for (const p of [...set]) if (p === d || p.startsWith(d + '/')) set.delete(p);
      }
      this.ops++;
    }
    return lines.join('\n');
  }
}

/**
 * Run a command and decode its output once at the end: decoding chunk by chunk would split
 * multi-byte characters that straddle two chunks (and report names that differ).
 */
function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
  });
}

/** A tree as compared: path → `d`, `f <sha1>` or `l <link text>`. */
export type HashedTree = Map<string, string>;

/** Which local paths the soak's rules exclude (mirrors their configuration). */
export function soakExcluded(rel: string): boolean {
  const parts = rel.split('/');
  const name = parts[parts.length - 1]!;
  return (
    parts[0] === 'tmp' ||
    parts.includes('node_modules') ||
    parts.includes('.git') ||
    parts[0] === '.composync' ||
    name.endsWith('.log')
  );
}

/** Hash a local tree (lstat: links are not followed). */
export async function hashLocal(
  root: string,
  excluded: (rel: string) => boolean = soakExcluded,
): Promise<HashedTree> {
  const out: HashedTree = new Map();
  const walk = async (dir: string) => {
    const names = await readdir(join(root, dir)).catch(() => [] as string[]);
    for (const n of names) {
      const rel = dir ? `${dir}/${n}` : n;
      if (excluded(rel)) continue;
      const st = await lstat(join(root, rel)).catch(() => null);
      if (!st) continue;
      if (st.isDirectory()) {
        out.set(rel, 'd');
        await walk(rel);
      } else if (st.isSymbolicLink()) {
        out.set(rel, `l ${await readlink(join(root, rel)).catch(() => '?')}`);
      } else if (st.isFile()) {
        const data = await readFile(join(root, rel)).catch(() => null);
        if (data) out.set(rel, `f ${createHash('sha1').update(data).digest('hex')}`);
      }
    }
  };
  await walk('');
  return out;
}

// Runs in the container (busybox or GNU): every directory, file hash and link text below $1.
const REMOTE_HASH = [
  'cd "$1" || exit 3',
  'find . -mindepth 1 -type d | sed "s/^/d /"',
  'find . -type f -exec sha1sum {} + | sed "s/^/f /"',
  'find . -type l | while IFS= read -r l; do printf "l %s\\t%s\\n" "$l" "$(readlink "$l")"; done',
].join('\n');

/**
 * Hash a container tree inside the container: `find`, `sha1sum` and `readlink` of the image
 * (so the check does not go through composync's own transport). Throws with the container's
 * message when the directory is missing or the exec failed.
 */
export async function hashRemote(
  containerId: string,
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<HashedTree> {
  const r = await run('docker', ['exec', containerId, 'sh', '-c', REMOTE_HASH, 'sh', dir], env);
  if (r.code !== 0) throw new Error(`cannot hash ${dir} in the container: ${r.stderr.trim()}`);
  const out: HashedTree = new Map();
  for (const line of r.stdout.split('\n')) {
    if (!line) continue;
    if (line.startsWith('d ./')) out.set(line.slice(4), 'd');
    else if (line.startsWith('f ')) {
      const m = /^f ([0-9a-f]{40}) {2}\.\/(.*)$/.exec(line);
      if (m) out.set(m[2]!, `f ${m[1]}`);
    } else if (line.startsWith('l ./')) {
      const tab = line.indexOf('\t');
      out.set(line.slice(4, tab), `l ${line.slice(tab + 1)}`);
    }
  }
  return out;
}

/** Every difference between two hashed trees, as readable lines (empty: equal). */
export function diffTrees(local: HashedTree, remote: HashedTree): string[] {
  const out: string[] = [];
  for (const [p, v] of local) {
    const r = remote.get(p);
    if (r === undefined) out.push(`missing in the container: ${p} (${v.slice(0, 50)})`);
    else if (r !== v)
      out.push(`differs: ${p}: local ${v.slice(0, 50)}, container ${r.slice(0, 50)}`);
  }
  for (const [p, v] of remote)
    if (!local.has(p)) out.push(`extra in the container: ${p} (${v.slice(0, 50)})`);
  return out.sort();
}

/** A target to compare: a local root and a container directory. */
export interface CompareTarget {
  label: string;
  localRoot: string;
  containerId: () => Promise<string>;
  dir: string;
  env?: NodeJS.ProcessEnv;
}

/** The differences of one target now. */
export async function differences(t: CompareTarget): Promise<string[]> {
  const id = await t.containerId();
  const remote = await hashRemote(id, t.dir, t.env);
  return diffTrees(await hashLocal(t.localRoot), remote);
}

/**
 * Poll until every target's trees are equal, or the deadline passes; returns the differences
 * left per target (all empty when converged) and how long it took.
 */
export async function converge(
  targets: CompareTarget[],
  opts: { timeoutMs: number; watcher?: CliProcess },
): Promise<{ ms: number; diffs: Record<string, string[]> }> {
  const t0 = Date.now();
  const diffs: Record<string, string[]> = {};
  try {
    await waitFor(
      async () => {
        if (opts.watcher && opts.watcher.exitCode !== null)
          throw new Error(`composync exited (${opts.watcher.exitCode})`);
        let equal = true;
        for (const t of targets) {
          diffs[t.label] = await differences(t).catch((err: Error) => [err.message]);
          if (diffs[t.label]!.length) equal = false;
        }
        return equal;
      },
      { timeoutMs: opts.timeoutMs, intervalMs: 250, what: 'trees to converge' },
    );
  } catch (err) {
    if ((err as Error).message.startsWith('composync exited')) throw err;
  }
  return { ms: Date.now() - t0, diffs };
}

/** Problems and conflicts in the project's sync log, counted by message. */
export async function syncLogIssues(
  p: TestProject,
): Promise<{ problems: string[]; conflicts: string[] }> {
  const text = await readFile(p.path('.composync/logs/sync.log'), 'utf8').catch(() => '');
  const problems: string[] = [];
  const conflicts: string[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const rec = JSON.parse(line) as { event?: string; message?: string };
      if (rec.event === 'problem') problems.push(rec.message ?? '');
      if (rec.event === 'conflict') conflicts.push(rec.message ?? '');
    } catch {
      // a line being written
    }
  }
  return { problems, conflicts };
}

// ---------------------------------------------------------------------------------------------
// The soak run

/** The soak's compose project: every rule watches the same workload. */
export const SOAK_COMPOSE = `x-sync:
  exclude: ['*.log', 'node_modules/']

services:
  replica:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    x-sync:
      - { source: ./src, target: /t, mode: one-way-replica, exclude: ['tmp/'] }
  gnu:
    image: composync/debian
    command: ['sleep', 'infinity']
    stop_signal: SIGKILL
    x-sync:
      - { source: ./src, target: /t, mode: one-way-replica, exclude: ['tmp/'] }
  safe:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    x-sync:
      - { source: ./src, target: /t, mode: one-way-safe, exclude: ['tmp/'] }
  twoway:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    x-sync:
      - { source: ./two, target: /t, mode: two-way-safe, exclude: ['tmp/'] }
`;

export interface SoakOptions {
  seed: number;
  /** Local operations to apply. */
  ops: number;
  /** Compare the trees every this many operations (and at the end). */
  checkpointEvery?: number;
  /** Most operations in one burst. */
  burstMax?: number;
  /** Operations that make the starting tree, before composync starts (default 30). */
  initialOps?: number;
  /** How long the trees may take to converge at a checkpoint. */
  convergeTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface SoakCheckpoint {
  afterOps: number;
  convergedMs: number;
  differences: Record<string, string[]>;
}

export interface SoakResult {
  seed: number;
  ops: number;
  remoteOps: number;
  bursts: number;
  opsByKind: Record<string, number>;
  durationMs: number;
  checkpoints: SoakCheckpoint[];
  /** Differences found at any checkpoint, all targets together (0: every check was equal). */
  differences: number;
  conflicts: string[];
  problems: string[];
  /** composync was still running at the end and stopped cleanly. */
  survived: boolean;
  stopExitCode: number | null;
}

/** Targets of the soak project: every service's /t against its local source. */
export function soakTargets(p: TestProject): CompareTarget[] {
  const t = (label: string, service: string, src: string): CompareTarget => ({
    label: `${service} (${label})`,
    localRoot: p.path(src),
    containerId: () => p.container(service),
    dir: '/t',
  });
  return [
    t('one-way-replica, busybox tar', 'replica', 'src'),
    t('one-way-replica, GNU tar', 'gnu', 'src'),
    t('one-way-safe', 'safe', 'src'),
    t('two-way-safe, with container-side changes', 'twoway', 'two'),
  ];
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Run the soak: start `composync up --watch` on a fresh project, apply the workload in bursts
 * (local operations on ./src and ./two, container-side operations in the two-way target's
 * remote/ directory), compare every target at each checkpoint and at the end.
 */
export async function runSoak(p: TestProject, opts: SoakOptions): Promise<SoakResult> {
  const log = opts.log ?? (() => undefined);
  const rng = new Rng(opts.seed);
  const every = opts.checkpointEvery ?? Math.max(200, Math.ceil(opts.ops / 4));
  const burstMax = opts.burstMax ?? 40;
  const timeoutMs = opts.convergeTimeoutMs ?? 90_000;
  const t0 = Date.now();
  const src = new LocalWorkload(p.path('src'), rng);
  const two = new LocalWorkload(p.path('two'), rng, 'remote');
  await mkdir(src.root, { recursive: true });
  await mkdir(two.root, { recursive: true });
  // a starting tree, so the initial sync has something to do
  for (let i = 0; i < (opts.initialOps ?? 30); i++) await (i % 3 ? src : two).step();
  const remote = new RemoteWorkload(rng, '/t/remote');
  const targets = soakTargets(p);

  const w = p.spawn(['up', '--watch', '--no-logs']);
  const result: SoakResult = {
    seed: opts.seed,
    ops: 0,
    remoteOps: 0,
    bursts: 0,
    opsByKind: {},
    durationMs: 0,
    checkpoints: [],
    differences: 0,
    conflicts: [],
    problems: [],
    survived: false,
    stopExitCode: null,
  };
  try {
    await w.waitForOutput(/watching \d+ rules/, 180_000);
    const twowayId = await p.container('twoway');
    const checkpoint = async () => {
      const c = await converge(targets, { timeoutMs, watcher: w });
      const n = Object.values(c.diffs).reduce((a, d) => a + d.length, 0);
      result.checkpoints.push({ afterOps: result.ops, convergedMs: c.ms, differences: c.diffs });
      result.differences += n;
      log(`soak: ${result.ops} ops: ${n ? `${n} differences` : `equal after ${c.ms} ms`}`);
      for (const [label, d] of Object.entries(c.diffs))
        for (const line of d.slice(0, 20)) log(`soak:   ${label}: ${line}`);
    };
    let next = every;
    while (result.ops < opts.ops) {
      const n = Math.min(opts.ops - result.ops, rng.range(1, burstMax));
      for (let i = 0; i < n; i++) await (rng.chance(0.7) ? src : two).step();
      result.ops += n;
      result.bursts++;
      if (rng.chance(0.3)) {
        const script = remote.script(rng.range(1, 8));
        const r = await sh('docker', ['exec', twowayId, 'sh', '-c', script]);
        if (r.code !== 0) throw new Error(`container-side operations failed: ${r.stderr}`);
      }
      await pause(rng.pick([0, 0, 0, 2, 10, 30, 100, 300]));
      if (result.ops >= next || result.ops >= opts.ops) {
        await checkpoint();
        next += every;
      }
    }
    result.survived = w.exitCode === null;
  } finally {
    result.remoteOps = remote.ops;
    for (const wl of [src, two])
      for (const [k, v] of Object.entries(wl.counts))
        result.opsByKind[k] = (result.opsByKind[k] ?? 0) + v;
    result.stopExitCode = await w.stop();
    const issues = await syncLogIssues(p);
    result.conflicts = issues.conflicts;
    result.problems = issues.problems;
    result.durationMs = Date.now() - t0;
    if (w.exitCode !== 0) log(`soak: composync output:\n${w.output.slice(-4000)}`);
  }
  return result;
}
