/**
 * The Linux backend: one non-recursive `fs.watch` (one inotify watch) per directory. New
 * directories are watched as they appear and walked, so files created in them before their
 * watch was attached are still reported; directories that disappear lose their watches.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  asError,
  dirStat,
  isExhausted,
  isGone,
  lstatOrNull,
  readDir,
  RootWaiter,
  visitEntries,
  walkTree,
  type BackendContext,
  type RootBackend,
} from './backend.js';

/** Creates a non-recursive watch on one directory (replaceable in tests). */
export type WatchDirFn = (
  dir: string,
  listener: (event: string, filename: string | null) => void,
) => fs.FSWatcher;

const watchDir: WatchDirFn = (dir, listener) => fs.watch(dir, { persistent: true }, listener);

interface DirWatch {
  handle: fs.FSWatcher;
  // inotify follows the inode, not the name: a directory replaced under the same name must
  // be watched again, so the identity it was watched with is kept.
  ino: number;
  dev: number;
  subdirs: Set<string>;
}

/**
 * Filesystems whose directories count their subdirectories in their link count (2 + one per
 * subdirectory, as POSIX filesystems traditionally do): ext2/3/4, XFS, tmpfs. Others (btrfs,
 * overlayfs, FUSE, network filesystems) may report anything, so their directories are read.
 */
const NLINK_COUNTS_SUBDIRS = new Set([0xef53, 0x58465342, 0x01021994]);

/** Watches one root with a non-recursive watch per directory. */
export class DirTreeBackend implements RootBackend {
  private readonly watched = new Map<string, DirWatch>();
  private readonly waiter: RootWaiter;
  private closed = false;
  /**
   * The device of the root when its filesystem counts subdirectories in a directory's link
   * count (see {@link NLINK_COUNTS_SUBDIRS}); null when it does not, or cannot be told.
   */
  private nlinkDev: number | null = null;

  constructor(
    private readonly ctx: BackendContext,
    private readonly watchFn: WatchDirFn = watchDir,
  ) {
    this.waiter = new RootWaiter(ctx.root, ctx.rootPollMs, () => this.rootBack());
  }

  /** Directories watched now: one inotify watch each. */
  get watches(): number {
    return this.watched.size;
  }

  async start(): Promise<void> {
    const { root } = this.ctx;
    const st = dirStat(root, root);
    if (!st?.isDirectory()) {
      this.ctx.error(new Error(`${root} is not a directory (yet); waiting for it to appear`));
      this.waiter.start();
      return;
    }
    try {
      if (NLINK_COUNTS_SUBDIRS.has(fs.statfsSync(root).type)) this.nlinkDev = st.dev;
    } catch {
      // not told: every directory is read
    }
    await this.scan(root, false);
  }

  async rescan(report: boolean): Promise<void> {
    if (this.closed || this.waiter.waiting) return;
    await this.scan(this.ctx.root, report);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiter.stop();
    for (const w of this.watched.values()) w.handle.close();
    this.watched.clear();
  }

  /** Watch `top` and every directory below it that is not ignored. */
  private scan(top: string, report: boolean): Promise<void> {
    return walkTree(top, (dir) => this.visit(dir, report));
  }

  private async visit(dir: string, report: boolean): Promise<string[]> {
    if (this.closed) return [];
    // Watch before reading: whatever the read misses arrives as an event.
    const fresh = this.watch(dir);
    if (fresh === null) return [];
    // Nothing to report and no subdirectory: there is nothing to read (most directories of a
    // large tree; reading them was most of the start-up: 2.3 of 2.9 s for a million files).
    if (!report && this.noSubdirs(dir)) return [];
    const entries = await readDir(dir, this.ctx);
    if (this.closed || !this.watched.has(dir)) return [];
    if (!entries) {
      this.unwatch(dir);
      return [];
    }
    return visitEntries(dir, entries, this.ctx, {
      report,
      fresh,
      known: (p) => this.watched.has(p),
      ignoredDir: (p) => this.unwatch(p),
    });
  }

  /** Watch one directory: true when newly watched, false when already, null when it cannot be. */
  private watch(dir: string): boolean | null {
    const st = dirStat(dir, this.ctx.root);
    const current = this.watched.get(dir);
    if (current) {
      if (st && st.ino === current.ino && st.dev === current.dev) return false;
      this.unwatch(dir);
    }
    if (!st?.isDirectory()) return null;
    let handle: fs.FSWatcher;
    try {
      handle = this.watchFn(dir, (event, name) => this.onEvent(dir, handle, event, name));
    } catch (err) {
      if (isExhausted(err)) this.ctx.exhausted(err as NodeJS.ErrnoException);
      else if (!isGone(err)) this.ctx.error(asError(err, `cannot watch ${dir}`));
      return null;
    }
    handle.on('error', (err) => this.onHandleError(dir, handle, err));
    this.watched.set(dir, { handle, ino: st.ino, dev: st.dev, subdirs: new Set() });
    if (dir !== this.ctx.root) this.watched.get(path.dirname(dir))?.subdirs.add(dir);
    return true;
  }

  /**
   * True when `dir` has no subdirectory, told by its link count where the filesystem keeps
   * it so. Asked after the watch is in place: a subdirectory created later raises an event,
   * one created before shows in the count.
   */
  private noSubdirs(dir: string): boolean {
    if (this.nlinkDev === null) return false;
    const st = dirStat(dir, this.ctx.root);
    // on another filesystem mounted below the root, the count may mean nothing
    return !!st?.isDirectory() && st.dev === this.nlinkDev && st.nlink === 2;
  }

  /** Close the watch on `dir` and on every directory below it. */
  private unwatch(dir: string): void {
    const w = this.watched.get(dir);
    if (!w) return;
    this.watched.delete(dir);
    w.handle.close();
    for (const s of w.subdirs) this.unwatch(s);
    if (dir !== this.ctx.root) this.watched.get(path.dirname(dir))?.subdirs.delete(dir);
  }

  private intact(dir: string, w: DirWatch): boolean {
    const st = dirStat(dir, this.ctx.root);
    return !!st?.isDirectory() && st.ino === w.ino && st.dev === w.dev;
  }

  private onEvent(dir: string, handle: fs.FSWatcher, event: string, name: string | null): void {
    if (this.closed) return;
    const w = this.watched.get(dir);
    if (!w || w.handle !== handle) return;
    if (name === null) {
      // The kernel did not say what changed: report the directory and look for new subdirs.
      this.ctx.report(dir);
      void this.scan(dir, true);
      return;
    }
    // The watched directory itself was removed or moved: inotify names it by its basename.
    if (event === 'rename' && name === path.basename(dir) && !this.intact(dir, w)) {
      this.gone(dir);
      return;
    }
    const p = path.join(dir, name);
    this.ctx.report(p);
    if (event === 'rename') this.check(p);
  }

  private onHandleError(dir: string, handle: fs.FSWatcher, err: Error): void {
    if (this.closed) return;
    const w = this.watched.get(dir);
    if (!w || w.handle !== handle) return;
    if (!this.intact(dir, w)) this.gone(dir);
    else this.ctx.error(asError(err, `watching ${dir} failed`));
  }

  /** After a create/delete/move of `p` in a watched directory: fix up the watches. */
  private check(p: string): void {
    const w = this.watched.get(p);
    if (w && !this.intact(p, w)) this.unwatch(p);
    if (this.watched.has(p) || !this.watched.has(path.dirname(p))) return;
    if (!lstatOrNull(p)?.isDirectory() || this.ctx.ignored(p)) return;
    void this.scan(p, true);
  }

  private gone(dir: string): void {
    this.unwatch(dir);
    this.ctx.report(dir);
    if (dir !== this.ctx.root) this.check(dir);
    else if (dirStat(dir, dir)?.isDirectory()) this.rootBack();
    else this.waiter.start();
  }

  private rootBack(): void {
    if (this.closed) return;
    this.ctx.report(this.ctx.root);
    void this.scan(this.ctx.root, true);
  }
}
