/**
 * The polling backend (chokidar): for filesystems without change events, and the fallback
 * when the system runs out of watches.
 */
import { once } from 'node:events';
import fs, { type Stats } from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { setImmediate } from 'node:timers';
import { FSWatcher } from 'chokidar';
import {
  asError,
  dirStat,
  isUnder,
  lstatOrNull,
  readDir,
  RootWaiter,
  visitEntries,
  walkTree,
  type BackendContext,
  type RootBackend,
} from './backend.js';

const STATS_PER_MS = 100;
const SWEEP_MIN_MS = 1000;

/** Polls one root through chokidar. */
export class PollBackend implements RootBackend {
  private fsw: FSWatcher | undefined;
  // Directories being watched: a rescan reports the content of the ones that are new.
  private readonly known = new Set<string>();
  // Files found by the last walk: the poll interval grows with them.
  private files = 0;
  private readonly waiter: RootWaiter;
  private closed = false;
  // chokidar is given the resolved root (it will not descend into a root that is a symbolic
  // link without following every link below); its paths are mapped back to `root`.
  private realRoot: string;
  private sweepTimer: ReturnType<typeof setInterval> | undefined;
  private sweeping = false;
  // Files chokidar just reported as added, with the stats it saw then: its poll of a file
  // compares with its own first sample, so a write between the two is never reported. They
  // are looked at once more a few polls later.
  private readonly added = new Map<string, { mtimeMs: number; size: number }>();
  private addedTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ctx: BackendContext,
    private readonly interval: number,
  ) {
    this.waiter = new RootWaiter(ctx.root, ctx.rootPollMs, () => void this.rootBack());
    this.realRoot = ctx.root;
  }

  /** Directories and files the last walk found, and the time between two polls of a file. */
  extent(): { dirs: number; files: number; pollMs: number } {
    return { dirs: this.known.size, files: this.files, pollMs: this.pollInterval() };
  }

  async start(): Promise<void> {
    const { root } = this.ctx;
    if (!dirStat(root, root)?.isDirectory()) {
      this.ctx.error(new Error(`${root} is not a directory (yet); waiting for it to appear`));
      this.waiter.start();
      return;
    }
    await this.walk(this.ctx.root, false);
    await this.open();
  }

  async rescan(report: boolean): Promise<void> {
    if (this.closed || !this.fsw) return;
    // chokidar neither re-reads ignored directories nor says when a later add() is in
    // place, so a fresh instance takes over once it is ready.
    await this.open();
    await this.walk(this.ctx.root, report);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiter.stop();
    clearInterval(this.sweepTimer);
    clearTimeout(this.addedTimer);
    const fsw = this.fsw;
    this.fsw = undefined;
    await fsw?.close();
  }

  /** Start a chokidar instance on the root and, once it is polling, retire the previous one. */
  private async open(): Promise<void> {
    const { root } = this.ctx;
    const fsw = new FSWatcher({
      usePolling: true,
      interval: this.pollInterval(),
      binaryInterval: this.pollInterval(),
      ignoreInitial: true,
      followSymlinks: false,
      atomic: false,
      ignored: (p: string, stats?: Stats) => this.isIgnored(p, stats),
    });
    fsw.on('all', (event, p, stats) => {
      if (fsw === this.fsw || !this.fsw) this.onEvent(event, this.fromChokidar(p), stats);
    });
    fsw.on('error', (err) => this.ctx.error(asError(err, `polling ${root} failed`)));
    try {
      this.realRoot = fs.realpathSync(root);
    } catch {
      this.realRoot = root;
    }
    const ready = once(fsw, 'ready');
    fsw.add(this.realRoot);
    await ready;
    await settlePolls();
    if (this.closed) {
      await fsw.close();
      return;
    }
    const previous = this.fsw;
    this.fsw = fsw;
    this.sweepTimer ??= setInterval(
      () => void this.sweep(),
      Math.max(SWEEP_MIN_MS, 10 * this.pollInterval()),
    );
    await previous?.close();
  }

  /**
   * chokidar misses a file created in a directory after its read of the directory but before
   * the first sample of the directory's poll (a directory filled as it is created, or a write
   * right after start): the directory's mtime does not change again. So now and then the tree
   * is compared with what chokidar tracks; what it missed is reported and handed over to it.
   */
  private async sweep(): Promise<void> {
    const fsw = this.fsw;
    if (this.sweeping || !fsw || this.closed) return;
    this.sweeping = true;
    try {
      const tracked = fsw.getWatched();
      await walkTree(this.ctx.root, async (dir) => {
        const entries = await readDir(dir, this.ctx);
        if (!entries || this.closed || fsw !== this.fsw) return [];
        const names = new Set(tracked[this.toChokidar(dir)]);
        const subdirs: string[] = [];
        for (const e of entries) {
          const isDir = e.isDirectory();
          if (!isDir && !e.isFile()) continue;
          const p = path.join(dir, e.name);
          if (isDir && this.ctx.ignored(p)) continue;
          if (names.has(e.name)) {
            if (isDir) subdirs.push(p);
            continue;
          }
          this.ctx.report(p);
          if (isDir) await this.walk(p, true);
          fsw.add(this.toChokidar(p));
        }
        return subdirs;
      });
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * chokidar polls every file on its own timer: past about 100 stats per millisecond the
   * thread pool saturates and chokidar's own reads starve (100,000 files at 100 ms took 97 s to
   * be ready, at 1 s 8 s), so large trees are polled less often.
   */
  private pollInterval(): number {
    return Math.max(this.interval, Math.ceil(this.files / STATS_PER_MS));
  }

  /** The predicate is about directories; chokidar also asks about files, and without stats. */
  private isIgnored(p: string, stats?: Stats): boolean {
    if (!stats?.isDirectory()) return false;
    const abs = this.fromChokidar(p);
    return abs !== this.ctx.root && isUnder(abs, this.ctx.root) && this.ctx.ignored(abs);
  }

  /** Walk `top`, recording its directories; with `report`, report what is new. */
  private walk(top: string, report: boolean): Promise<void> {
    if (top === this.ctx.root) this.files = 0;
    return walkTree(top, async (dir) => {
      if (this.closed) return [];
      const fresh = !this.known.has(dir);
      this.known.add(dir);
      const entries = await readDir(dir, this.ctx);
      if (!entries || this.closed) return [];
      return visitEntries(dir, entries, this.ctx, {
        report,
        fresh,
        known: (p) => this.known.has(p),
        ignoredDir: (p) => this.forget(p),
        file: () => this.files++,
      });
    });
  }

  private forget(dir: string): void {
    for (const d of this.known) if (isUnder(d, dir)) this.known.delete(d);
  }

  private toChokidar(p: string): string {
    if (this.realRoot === this.ctx.root) return p;
    return path.join(this.realRoot, path.relative(this.ctx.root, p));
  }

  /** A chokidar path ('/'-separated on every platform, below the real root) as a root path. */
  private fromChokidar(p: string): string {
    const abs = path.resolve(p);
    if (this.realRoot === this.ctx.root || !isUnder(abs, this.realRoot)) return abs;
    return path.join(this.ctx.root, path.relative(this.realRoot, abs));
  }

  private onEvent(event: string, abs: string, stats?: Stats): void {
    if (this.closed) return;
    this.ctx.report(abs);
    if (event === 'add' && stats) this.recheckLater(abs, stats);
    if (event === 'addDir') this.known.add(abs);
    if (event !== 'unlinkDir') return;
    this.forget(abs);
    if (abs === this.ctx.root) void this.rootGone();
  }

  private recheckLater(abs: string, stats: Stats): void {
    this.added.set(abs, { mtimeMs: stats.mtimeMs, size: stats.size });
    this.addedTimer ??= setTimeout(() => this.recheck(), Math.max(100, 3 * this.pollInterval()));
  }

  private recheck(): void {
    this.addedTimer = undefined;
    if (this.closed) return;
    const batch = [...this.added];
    this.added.clear();
    for (const [p, was] of batch) {
      const st = lstatOrNull(p);
      if (st && (st.mtimeMs !== was.mtimeMs || st.size !== was.size)) this.ctx.report(p);
    }
  }

  private async rootGone(): Promise<void> {
    // Closing chokidar from inside its unlinkDir emit leaks a stat watcher: it re-watches
    // the root's last file right after emitting. Let it finish first.
    await new Promise((resolve) => setImmediate(resolve));
    const fsw = this.fsw;
    this.fsw = undefined;
    await fsw?.close();
    if (this.closed) return;
    if (dirStat(this.ctx.root, this.ctx.root)?.isDirectory()) await this.rootBack();
    else this.waiter.start();
  }

  private async rootBack(): Promise<void> {
    if (this.closed) return;
    this.ctx.report(this.ctx.root);
    this.known.clear();
    await this.open();
    await this.walk(this.ctx.root, true);
  }
}

/**
 * Wait until the stat polls chokidar started have taken their first sample: a poll compares
 * against its first sample, so a change made before that sample would go unseen. The first
 * samples are queued on libuv's thread pool before chokidar is ready; stats queued behind
 * them on every pool thread finish after them.
 */
async function settlePolls(): Promise<void> {
  const threads = Math.max(4, Number(process.env.UV_THREADPOOL_SIZE) || 4);
  for (let round = 0; round < 2; round++) {
    await Promise.all(Array.from({ length: threads }, () => fsp.stat('.').catch(() => null)));
  }
}
