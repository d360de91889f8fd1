/**
 * The polling backend (chokidar): for filesystems without change events, and the fallback
 * when the system runs out of watches.
 */
import { once } from 'node:events';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { FSWatcher } from 'chokidar';
import {
  asError,
  isUnder,
  lstatOrNull,
  readDir,
  RootWaiter,
  walkTree,
  type BackendContext,
  type RootBackend,
} from './backend.js';

export class PollBackend implements RootBackend {
  private fsw: FSWatcher | undefined;
  // Directories chokidar watches (kept here so a rescan can tell newly unignored ones).
  private readonly known = new Set<string>();
  private readonly waiter: RootWaiter;
  private closed = false;

  constructor(
    private readonly ctx: BackendContext,
    private readonly interval: number,
  ) {
    this.waiter = new RootWaiter(ctx.root, ctx.rootPollMs, () => void this.rootBack());
  }

  async start(): Promise<void> {
    const { root } = this.ctx;
    if (!lstatOrNull(root)?.isDirectory()) {
      this.ctx.error(new Error(`${root} is not a directory (yet); waiting for it to appear`));
      this.waiter.start();
      return;
    }
    await this.attach(false);
  }

  async rescan(report: boolean): Promise<void> {
    if (this.closed || !this.fsw) return;
    const added = new Set<string>();
    await walkTree(this.ctx.root, (dir) => this.visit(dir, report, added));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiter.stop();
    const fsw = this.fsw;
    this.fsw = undefined;
    await fsw?.close();
  }

  private async attach(report: boolean): Promise<void> {
    const { root } = this.ctx;
    this.known.clear();
    await walkTree(root, (dir) => this.visit(dir, report, null));
    if (this.closed) return;
    const fsw = new FSWatcher({
      usePolling: true,
      interval: this.interval,
      binaryInterval: this.interval,
      ignoreInitial: true,
      followSymlinks: false,
      atomic: false,
      ignored: (p: string, stats?: Stats) => this.isIgnored(p, stats),
    });
    this.fsw = fsw;
    fsw.on('all', (event, p) => this.onEvent(event, p));
    fsw.on('error', (err) => this.ctx.error(asError(err, `polling ${root} failed`)));
    const ready = once(fsw, 'ready');
    fsw.add(root);
    await ready;
  }

  private isIgnored(p: string, stats?: Stats): boolean {
    if (stats && !stats.isDirectory()) return false;
    // chokidar hands over '/'-separated paths on every platform
    const abs = path.resolve(p);
    return abs !== this.ctx.root && isUnder(abs, this.ctx.root) && this.ctx.ignored(abs);
  }

  /**
   * Record one directory as known. With `added` (a rescan), a directory chokidar did not watch
   * yet is handed to it and, when `report` is set, reported with its content.
   */
  private async visit(dir: string, report: boolean, added: Set<string> | null): Promise<string[]> {
    if (this.closed) return [];
    const fresh = !this.known.has(dir);
    this.known.add(dir);
    if (fresh && added) {
      added.add(dir);
      if (!added.has(path.dirname(dir))) this.fsw?.add(dir);
    }
    const entries = await readDir(dir, this.ctx);
    if (!entries || this.closed) return [];
    const subdirs: string[] = [];
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (this.ctx.ignored(p)) continue;
        if (report && (fresh || !this.known.has(p))) this.ctx.report(p);
        subdirs.push(p);
      } else if (report && fresh) {
        this.ctx.report(p);
      }
    }
    return subdirs;
  }

  private onEvent(event: string, p: string): void {
    if (this.closed) return;
    const abs = path.resolve(p);
    this.ctx.report(abs);
    if (event === 'addDir') this.known.add(abs);
    if (event !== 'unlinkDir') return;
    for (const d of this.known) if (isUnder(d, abs)) this.known.delete(d);
    if (abs === this.ctx.root) void this.rootGone();
  }

  private async rootGone(): Promise<void> {
    const fsw = this.fsw;
    this.fsw = undefined;
    await fsw?.close();
    if (this.closed) return;
    if (lstatOrNull(this.ctx.root)?.isDirectory()) await this.rootBack();
    else this.waiter.start();
  }

  private async rootBack(): Promise<void> {
    if (this.closed) return;
    this.ctx.report(this.ctx.root);
    await this.attach(true);
  }
}
