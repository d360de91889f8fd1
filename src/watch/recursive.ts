/**
 * The macOS and Windows backend: one native recursive `fs.watch` per root (FSEvents,
 * ReadDirectoryChangesW). Ignored directories are still seen by the OS; their events are
 * dropped here.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  asError,
  dirStat,
  isExhausted,
  isGone,
  isUnder,
  lstatOrNull,
  readDir,
  RootWaiter,
  visitEntries,
  walkTree,
  type BackendContext,
  type RootBackend,
} from './backend.js';

/** Watches one root with the platform's native recursive watch. */
export class RecursiveBackend implements RootBackend {
  private handle: fs.FSWatcher | undefined;
  private rootIno = -1;
  // Directories known not to be ignored: answers "is this event under an ignored directory"
  // without asking the predicate for every ancestor, and tells a rescan what is new.
  private readonly known = new Set<string>();
  private readonly waiter: RootWaiter;
  private closed = false;

  constructor(private readonly ctx: BackendContext) {
    this.waiter = new RootWaiter(ctx.root, ctx.rootPollMs, () => this.rootBack());
  }

  async start(): Promise<void> {
    const { root } = this.ctx;
    if (!dirStat(root, root)?.isDirectory()) {
      this.ctx.error(new Error(`${root} is not a directory (yet); waiting for it to appear`));
      this.waiter.start();
      return;
    }
    if (this.attach()) await this.walk(root, false);
  }

  async rescan(report: boolean): Promise<void> {
    if (this.closed || !this.handle) return;
    for (const d of this.known) if (d !== this.ctx.root && this.ctx.ignored(d)) this.forget(d);
    await this.walk(this.ctx.root, report);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiter.stop();
    this.handle?.close();
    this.handle = undefined;
  }

  private attach(): boolean {
    const { root } = this.ctx;
    try {
      const handle = fs.watch(root, { recursive: true, persistent: true }, (event, name) =>
        this.onEvent(event, name),
      );
      handle.on('error', (err) => {
        if (this.closed || handle !== this.handle) return;
        if (!this.rootIntact()) this.rootGone();
        else this.ctx.error(asError(err, `watching ${root} failed`));
      });
      this.handle = handle;
      this.rootIno = dirStat(root, root)?.ino ?? -1;
      return true;
    } catch (err) {
      if (isExhausted(err)) this.ctx.exhausted(err as NodeJS.ErrnoException);
      else if (isGone(err)) this.waiter.start();
      else this.ctx.error(asError(err, `cannot watch ${root}`));
      return false;
    }
  }

  private walk(top: string, report: boolean): Promise<void> {
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
      });
    });
  }

  private onEvent(event: string, name: string | null): void {
    if (this.closed) return;
    const { root } = this.ctx;
    if (event === 'rename' && !this.rootIntact()) {
      this.rootGone();
      return;
    }
    if (!name) {
      this.ctx.report(root);
      return;
    }
    const p = path.join(root, name);
    if (this.ignoredPath(path.dirname(p))) return;
    this.ctx.report(p);
    if (event !== 'rename') return;
    const st = lstatOrNull(p);
    if (st?.isDirectory()) {
      // A directory that arrived whole (moved in) may hold files no event will name.
      if (!this.known.has(p) && !this.ctx.ignored(p)) void this.walk(p, true);
    } else if (this.known.has(p)) {
      this.forget(p);
    }
  }

  /** True when `dir` is, or lies below, an ignored directory. */
  private ignoredPath(dir: string): boolean {
    const { root } = this.ctx;
    for (let d = dir; d !== root && isUnder(d, root); d = path.dirname(d)) {
      if (this.known.has(d)) return false;
      if (this.ctx.ignored(d)) return true;
    }
    return false;
  }

  private forget(dir: string): void {
    for (const d of this.known) if (isUnder(d, dir)) this.known.delete(d);
  }

  private rootIntact(): boolean {
    const st = dirStat(this.ctx.root, this.ctx.root);
    return !!st?.isDirectory() && st.ino === this.rootIno;
  }

  private rootGone(): void {
    this.handle?.close();
    this.handle = undefined;
    this.known.clear();
    this.ctx.report(this.ctx.root);
    if (dirStat(this.ctx.root, this.ctx.root)?.isDirectory()) this.rootBack();
    else this.waiter.start();
  }

  private rootBack(): void {
    if (this.closed) return;
    this.ctx.report(this.ctx.root);
    if (this.attach()) void this.walk(this.ctx.root, true);
  }
}
