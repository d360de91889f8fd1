/**
 * What every watch backend implements for one root, and the helpers they share. Internal to
 * `watch/`: callers only ever see absolute paths through `onChange`.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/** How a backend talks back to the watcher that owns it. */
export interface BackendContext {
  /** Absolute, resolved root directory. */
  readonly root: string;
  /** True for a directory below the root that need not be watched. Never asked about the root. */
  ignored(abs: string): boolean;
  /** A path was created, changed or removed. */
  report(abs: string): void;
  /** A non-fatal problem. */
  error(err: Error): void;
  /** The backend ran out of watch resources (ENOSPC, EMFILE): switch to polling. */
  exhausted(err: NodeJS.ErrnoException): void;
  /** Milliseconds between checks for a root that is missing. */
  readonly rootPollMs: number;
}

/** One watched root. */
export interface RootBackend {
  /** Watch the root; resolves when the watches are in place (or the root is missing). */
  start(): Promise<void>;
  /**
   * Re-walk after the ignore predicate changed: watch directories it no longer ignores and,
   * when `report` is set, report their contents; stop watching directories it now ignores.
   */
  rescan(report: boolean): Promise<void>;
  close(): Promise<void>;
}

export type ErrnoError = NodeJS.ErrnoException;

/** The `code` of a Node system error (ENOENT, ...), if it has one. */
export function errnoCode(err: unknown): string | undefined {
  return (err as ErrnoError | null)?.code;
}

/** Errors meaning the path is gone (or was replaced by a non-directory). */
export function isGone(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Errors meaning the process or system is out of watch resources. */
export function isExhausted(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOSPC' || code === 'EMFILE' || code === 'ENFILE';
}

/** `lstat` without following a final symbolic link; null when the path cannot be read. */
export function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch {
    return null;
  }
}

/**
 * Stats of a watched directory. A root that is a symbolic link is followed (a source may be
 * one); nothing below the root is.
 */
export function dirStat(p: string, root: string): fs.Stats | null {
  try {
    return p === root ? fs.statSync(p) : fs.lstatSync(p);
  } catch {
    return null;
  }
}

/** True when `p` is `root` or below it. */
export function isUnder(p: string, root: string): boolean {
  return p === root || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/** Directory entries, or null when the directory is gone; other errors are reported. */
export async function readDir(dir: string, ctx: BackendContext): Promise<fs.Dirent[] | null> {
  try {
    return await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (!isGone(err)) ctx.error(asError(err, `cannot read directory ${dir}`));
    return null;
  }
}

/** Wrap any thrown value in an Error whose message starts with `context`. */
export function asError(err: unknown, context: string): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  return new Error(`${context}: ${e.message}`, { cause: e });
}

const WALK_CONCURRENCY = 8;

/**
 * Walk a tree from `top` with a few directory reads in flight. `visit` handles one directory
 * and returns the subdirectories to descend into; it must not reject.
 */
export function walkTree(top: string, visit: (dir: string) => Promise<string[]>): Promise<void> {
  return new Promise((resolve) => {
    const stack = [top];
    let active = 0;
    const pump = (): void => {
      while (active < WALK_CONCURRENCY && stack.length > 0) {
        const dir = stack.pop()!;
        active++;
        void visit(dir).then(
          (subdirs) => {
            active--;
            for (const s of subdirs) stack.push(s);
            pump();
          },
          () => {
            active--;
            pump();
          },
        );
      }
      if (active === 0 && stack.length === 0) resolve();
    };
    pump();
  });
}

/**
 * Polls for a missing root directory until it exists again, then calls `onBack` once.
 * Watching the parent instead would fail the same way when the parent goes too.
 */
export class RootWaiter {
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly root: string,
    private readonly intervalMs: number,
    private readonly onBack: () => void,
  ) {}

  get waiting(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (dirStat(this.root, this.root)?.isDirectory()) {
        this.stop();
        this.onBack();
      }
    }, this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** What a walk does with each entry of one directory (see {@link visitEntries}). */
export interface VisitOptions {
  /** Report what is new (a rescan, a directory that appeared), rather than only watch. */
  report: boolean;
  /** The directory was not known before this walk: its whole content is new. */
  fresh: boolean;
  /** The backend already knows this directory. */
  known(abs: string): boolean;
  /** A subdirectory the predicate ignores (a backend may stop watching it). */
  ignoredDir?(abs: string): void;
  /** Called for each non-directory entry (a backend may count them). */
  file?(): void;
}

/**
 * The part of a walk every backend shares: the subdirectories of `dir` to walk on (the ones not
 * ignored); with `report`, each directory not known yet is reported, and every entry of a fresh
 * directory (it appeared with its content, which no event will announce).
 */
export function visitEntries(
  dir: string,
  entries: fs.Dirent[],
  ctx: BackendContext,
  o: VisitOptions,
): string[] {
  const subdirs: string[] = [];
  for (const e of entries) {
    if (e.isDirectory()) {
      const p = path.join(dir, e.name);
      if (ctx.ignored(p)) {
        o.ignoredDir?.(p);
        continue;
      }
      if (o.report && (o.fresh || !o.known(p))) ctx.report(p);
      subdirs.push(p);
    } else {
      o.file?.();
      // a path per file only when it is reported: a large tree has a million of them
      if (o.report && o.fresh) ctx.report(path.join(dir, e.name));
    }
  }
  return subdirs;
}
