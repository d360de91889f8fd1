/**
 * The file watcher (SPEC §6): one `fs.watch` per directory on Linux, Node's native recursive
 * `fs.watch` on macOS and Windows, chokidar polling with `poll` and as the fallback when the
 * system runs out of watches. Callers see absolute paths only.
 */
import path from 'node:path';
import type { Watcher, WatcherOptions } from '../core/ports.js';
import type { BackendContext, ErrnoError, RootBackend } from './backend.js';
import { DirTreeBackend, type WatchDirFn } from './dir-tree.js';
import {
  exhaustedMessage,
  nearLimitMessage,
  readWatchLimits,
  type WatchExtent,
  type WatchLimits,
} from './limits.js';
import { PollBackend } from './poll.js';
import { RecursiveBackend } from './recursive.js';

/** Which mechanism watches the roots. */
export type WatcherBackend = 'dirs' | 'recursive' | 'poll';

/** {@link WatcherOptions} plus tuning knobs for diagnostics and tests. */
export interface CreateWatcherOptions extends WatcherOptions {
  /**
   * Force a mechanism (diagnostics and tests). Default: `poll` when `poll` is set, else `dirs`
   * (a watch per directory) on Linux and other systems, `recursive` on macOS and Windows.
   */
  backend?: WatcherBackend;
  /** Milliseconds between polls when polling. Default 100. */
  pollInterval?: number;
  /** Milliseconds between checks for a watched root that is missing. Default 250. */
  rootPollInterval?: number;
  /** @internal Replaces `fs.watch` for the per-directory backend (tests inject failures). */
  watchDir?: WatchDirFn;
  /** @internal Replaces the reading of the system's watch limits (tests). */
  limits?: () => WatchLimits;
}

/**
 * Create a watcher. It reports every create, change and removal below each added root through
 * `onChange` (absolute paths; a rename reports both paths; a new directory is reported with
 * everything found inside it; a removed directory is reported, and usually its contents too).
 * A path below two added roots (nested roots) may be reported once per root.
 *
 * Non-fatal problems go to `onError`: an unreadable directory, a root that does not exist
 * (it is watched for and, when it appears, reported with its content), and running out of
 * watches (ENOSPC, EMFILE), after which every root is polled instead. That is reported once,
 * before `add()` resolves, with what watching needs (a watch per directory, how many here), the
 * limit, and the command that raises it (see limits.ts); so is a watch count close to the limit.
 */
export function createWatcher(opts: CreateWatcherOptions): Watcher {
  return new TreeWatcher(opts);
}

function defaultBackend(opts: CreateWatcherOptions): WatcherBackend {
  if (opts.backend) return opts.backend;
  if (opts.poll) return 'poll';
  return process.platform === 'darwin' || process.platform === 'win32' ? 'recursive' : 'dirs';
}

class RootEntry {
  backend!: RootBackend;
  /** Settles when `backend` has started. */
  ready!: Promise<void>;

  constructor(
    readonly root: string,
    /** A directory is ignored only when every predicate added for this root ignores it. */
    readonly predicates: Array<(abs: string) => boolean>,
  ) {}

  ignored(abs: string): boolean {
    return this.predicates.every((f) => f(abs));
  }
}

class TreeWatcher implements Watcher {
  private readonly roots = new Map<string, RootEntry>();
  private backend: WatcherBackend;
  private closing: Promise<void> | undefined;
  /** Settles when the notice of a switch to polling has been given (add() waits for it). */
  private notice: Promise<void> = Promise.resolve();
  private warnedNearLimit = false;

  constructor(private readonly opts: CreateWatcherOptions) {
    this.backend = defaultBackend(opts);
  }

  async add(root: string, ignored: (absPath: string) => boolean): Promise<void> {
    if (this.closing) throw new Error('the watcher is closed');
    const abs = path.resolve(root);
    const existing = this.roots.get(abs);
    if (existing) {
      existing.predicates.push(ignored);
      await this.settled(existing);
      // Content that the new predicate lets in is already known to the caller: no reports.
      if (!this.closing) await existing.backend.rescan(false);
      return;
    }
    const entry = new RootEntry(abs, [ignored]);
    this.roots.set(abs, entry);
    this.launch(entry);
    await this.settled(entry);
    this.checkNearLimit();
  }

  async refresh(root: string): Promise<void> {
    const entry = this.roots.get(path.resolve(root));
    if (!entry || this.closing) return;
    await this.settled(entry);
    await entry.backend.rescan(true);
  }

  close(): Promise<void> {
    this.closing ??= Promise.all([...this.roots.values()].map((e) => e.backend.close())).then(() =>
      this.roots.clear(),
    );
    return this.closing;
  }

  /** Start a backend of the current kind for a root. */
  private launch(entry: RootEntry): void {
    const ctx: BackendContext = {
      root: entry.root,
      ignored: (abs) => entry.ignored(abs),
      report: (abs) => this.report(abs),
      error: (err) => this.error(err),
      exhausted: (err) => this.exhausted(err),
      rootPollMs: this.opts.rootPollInterval ?? 250,
    };
    const backend =
      this.backend === 'poll'
        ? new PollBackend(ctx, this.opts.pollInterval ?? 100)
        : this.backend === 'recursive'
          ? new RecursiveBackend(ctx)
          : new DirTreeBackend(ctx, this.opts.watchDir);
    entry.backend = backend;
    const ready = backend.start().catch((err: unknown) => {
      this.error(err instanceof Error ? err : new Error(String(err)));
    });
    // A backend can run out of watches before start() returns: its replacement stays.
    if (entry.backend === backend) entry.ready = ready;
  }

  /**
   * Wait until the root's backend is in place, following a switch to polling, and until the
   * switch has been reported.
   */
  private async settled(entry: RootEntry): Promise<void> {
    for (;;) {
      const backend = entry.backend;
      const notice = this.notice;
      await entry.ready;
      await notice;
      if (entry.backend === backend && this.notice === notice) return;
    }
  }

  /**
   * Out of watches: every root is polled from now on. Once the polling is in place (its walk
   * counts the directories that watching would need), the user is told why and what to do.
   */
  private exhausted(err: ErrnoError): void {
    if (this.backend === 'poll' || this.closing) return;
    const held = this.watches();
    this.backend = 'poll';
    const started: Promise<void>[] = [];
    for (const entry of this.roots.values()) {
      void entry.backend.close();
      this.launch(entry);
      started.push(entry.ready);
    }
    this.notice = Promise.all(started).then(() => {
      const limits = (this.opts.limits ?? readWatchLimits)();
      this.error(new Error(exhaustedMessage(err, held, this.extent(), limits), { cause: err }));
    });
  }

  /** inotify watches in place (one per directory of the `dirs` backends). */
  private watches(): number {
    let n = 0;
    for (const e of this.roots.values())
      if (e.backend instanceof DirTreeBackend) n += e.backend.watches;
    return n;
  }

  /** What the polling backends found, summed over the roots. */
  private extent(): WatchExtent {
    const x: WatchExtent = { dirs: 0, files: 0, pollMs: 0 };
    for (const e of this.roots.values()) {
      if (!(e.backend instanceof PollBackend)) continue;
      const p = e.backend.extent();
      x.dirs += p.dirs;
      x.files += p.files;
      x.pollMs = Math.max(x.pollMs, p.pollMs);
    }
    return x;
  }

  /** Warn once when the watches in place come close to the system's limit. */
  private checkNearLimit(): void {
    if (this.warnedNearLimit || this.backend !== 'dirs' || this.closing) return;
    const msg = nearLimitMessage(this.watches(), (this.opts.limits ?? readWatchLimits)());
    if (!msg) return;
    this.warnedNearLimit = true;
    this.error(new Error(msg));
  }

  private report(abs: string): void {
    if (this.closing) return;
    try {
      this.opts.onChange(abs);
    } catch (err) {
      this.error(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private error(err: Error): void {
    if (this.closing) return;
    try {
      this.opts.onError(err);
    } catch {
      // a failing error handler has nowhere left to report to
    }
  }
}
