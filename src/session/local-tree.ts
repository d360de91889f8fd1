/**
 * The local side of a rule: scanning its source tree into entries with content hashes, and
 * reading the current state of just the paths a watch batch touched. Files whose size and
 * mtime match the last-synced state keep their recorded hash instead of being read again.
 */
import {
  closeSync,
  createReadStream,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readSync,
} from 'node:fs';
import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stats } from 'node:fs';
import { hashBuffer, hashChunks } from '../core/hash.js';
import type { Problem } from '../core/ports.js';
import { EntryTable } from '../core/table.js';
import {
  dirsWithEntries,
  isWithin,
  type Entry,
  type StateEntry,
  type StateTree,
  type Tree,
} from '../core/tree.js';

/** What the local side needs to know about which paths belong to a rule. */
export interface LocalFilter {
  /** Not part of the rule at all (excluded for both directions, or outside include/glob). */
  excluded(rel: string, isDir: boolean): boolean;
  /** The directory and everything below it can be skipped. */
  canSkipDir(rel: string): boolean;
  symlinks: 'preserve' | 'ignore';
}

const HASH_CONCURRENCY = 16;

/**
 * lstat and reads of files up to this size are synchronous: for small files that is several
 * times cheaper than the async calls, each a round trip through the thread pool (10,000 files
 * of 4 kB hashed: 130 ms against 620 ms with a stream each, here), and what keeps the main
 * thread busy meanwhile is a few microseconds per file.
 */
const SYNC_READ_MAX = 256 * 1024;
/** Synchronous calls in a row before the event loop gets a turn. */
const SYNC_SLICE = 256;
let syncCalls = 0;
const breather = () =>
  ++syncCalls % SYNC_SLICE === 0 ? new Promise<void>((r) => setImmediate(r)) : undefined;

/** Larger files are hashed in reads of this size (the default 64 kB halves the throughput). */
const HASH_CHUNK = 4 * 1024 * 1024;

/**
 * Content hash of a file: a small one in one synchronous read (a stream costs a thread-pool
 * round trip per open, read and close: 0.5 ms a file against 0.02 ms), a larger one streamed.
 * `size` (when known) picks the way and the read size.
 */
export async function hashFile(path: string, size = 0): Promise<string> {
  const small = size <= SYNC_READ_MAX ? hashSmallFile(path) : null;
  if (small !== null) {
    await breather(); // the event loop gets its turn now and then
    return small;
  }
  const opts = size > SYNC_READ_MAX ? { highWaterMark: HASH_CHUNK } : {};
  return (await hashChunks(createReadStream(path, opts) as AsyncIterable<Buffer>)).hash;
}

/** Hash a small file with one synchronous read; null when it has grown past SYNC_READ_MAX. */
function hashSmallFile(path: string): string | null {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > SYNC_READ_MAX) return null;
    // one byte more than expected: a file that grew since fstat is noticed
    const buf = Buffer.allocUnsafe(size + 1);
    let len = 0;
    for (;;) {
      const n = readSync(fd, buf, len, buf.length - len, len);
      if (n === 0) return hashBuffer(buf.subarray(0, len));
      len += n;
      if (len === buf.length) return null;
    }
  } finally {
    closeSync(fd);
  }
}

const lstatOrNull = (path: string): Stats | null => {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
};

function entryFromStats(st: Stats): Entry | null {
  const mode = st.mode & 0o7777;
  if (st.isFile()) return { kind: 'file', size: st.size, mtimeMs: st.mtimeMs, mode };
  if (st.isDirectory()) return { kind: 'dir', size: 0, mtimeMs: st.mtimeMs, mode };
  if (st.isSymbolicLink()) return { kind: 'symlink', size: 0, mtimeMs: st.mtimeMs, mode };
  return null; // sockets, fifos, devices are never synced
}

/** The recorded hash of a file whose size and mtime are those the state recorded. */
function recordedHash(b: StateEntry | undefined, e: Entry): string | undefined {
  return b && b.kind === 'file' && b.lSize === e.size && b.lMtimeMs === e.mtimeMs && b.hash
    ? b.hash
    : undefined;
}

const joinRel = (dir: string, name: string) => (dir === '' ? name : `${dir}/${name}`);

/** Run async jobs with bounded concurrency. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Fill in hashes and link texts. An entry whose file vanished or cannot be read is dropped
 * from the tree and reported as a problem.
 */
async function complete(
  root: string,
  tree: Tree,
  base: StateTree,
  problems: Problem[],
  rels: string[],
  deferHashOver = Infinity,
  deferHashNew = false,
): Promise<void> {
  // a path can be listed twice (a watch batch names it and a new directory above it)
  await pool([...new Set(rels)], HASH_CONCURRENCY, async (rel) => {
    const e = tree.get(rel);
    if (!e) return;
    const abs = join(root, rel);
    try {
      if (e.kind === 'symlink') {
        e.link = await readlink(abs);
      } else if (e.kind === 'file') {
        const b = base.get(rel);
        const recorded = recordedHash(b, e);
        if (recorded !== undefined) {
          e.hash = recorded;
        } else if ((e.size > deferHashOver && b?.lSize !== e.size) || (deferHashNew && !b)) {
          return; // left unhashed (see readLocalPaths)
        } else {
          e.hash =
            (e.size <= SYNC_READ_MAX ? hashSmallFile(abs) : null) ?? (await hashFile(abs, e.size));
          await breather();
        }
      } else return;
      tree.set(rel, e); // a tree may hold a copy of what `get` gave (a table does)
    } catch (err) {
      tree.delete(rel);
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') problems.push({ path: rel, message: describeFsError(err) });
    }
  });
}

/**
 * A name that is not valid UTF-8 reads back with U+FFFD in place of its bad bytes: a name under
 * which the file cannot be opened, and under which it must not land in the container.
 */
function invalidName(rel: string): Problem {
  return {
    path: rel,
    message: 'the name is not valid UTF-8, so it cannot be synced under its real name; rename it',
  };
}

export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EACCES' || e.code === 'EPERM')
    return 'cannot read the local file (permission denied): fix its permissions';
  if (e.code === 'ENOENT') return 'the local file disappeared';
  return e.message ?? String(err);
}

/**
 * Scan a whole rule source. Returns the tree and per-path problems (unreadable files, names
 * that differ only in case). With `deferHashNew`, files the state does not know are left
 * unhashed (see readLocalPaths).
 */
export async function scanLocal(
  root: string,
  filter: LocalFilter,
  base: StateTree,
  opts: { deferHashNew?: boolean } = {},
): Promise<{ tree: Tree; problems: Problem[] }> {
  // a compact table aligned with the state (core/table.ts): a path the state has takes its row
  // and its string, with no map entry of its own
  const tree = new EntryTable({ beside: base });
  const problems: Problem[] = [];
  const toComplete: string[] = [];
  const walk = async (dirRel: string): Promise<void> => {
    let dirents;
    try {
      // synchronous, as the lstat calls: waiting for the thread pool once per directory left
      // the main thread idle a quarter of a 100,000-file walk
      dirents = readdirSync(join(root, dirRel), { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR')
        problems.push({ path: dirRel || '.', message: describeFsError(err) });
      return;
    }
    checkCase(
      dirRel,
      dirents.map((d) => d.name),
      problems,
    );
    const subdirs: string[] = [];
    // one synchronous pass over the directory, yielding now and then: an async step per entry
    // cost more than its lstat
    for (const d of dirents) {
      const rel = joinRel(dirRel, d.name);
      const isDir = d.isDirectory();
      if (isDir && filter.canSkipDir(rel)) continue;
      const excluded = filter.excluded(rel, isDir);
      if (isDir) {
        if (!excluded) {
          const st = lstatOrNull(join(root, rel));
          if (!st && d.name.includes('\uFFFD')) problems.push(invalidName(rel));
          const e = st && entryFromStats(st);
          if (e) tree.set(rel, e);
        }
        subdirs.push(rel);
        continue;
      }
      if (excluded) continue;
      if (d.isSymbolicLink() && filter.symlinks === 'ignore') continue;
      const st = lstatOrNull(join(root, rel));
      if (!st && d.name.includes('\uFFFD')) problems.push(invalidName(rel));
      const pause = breather();
      if (pause) await pause;
      const e = st && entryFromStats(st);
      if (!e || e.kind === 'dir') continue;
      const hash = e.kind === 'file' ? recordedHash(base.get(rel), e) : undefined;
      if (hash !== undefined) {
        // unchanged since the last sync: complete now
        tree.setFields(rel, 'file', e.size, e.mtimeMs, e.mode, hash);
        continue;
      }
      tree.set(rel, e);
      toComplete.push(rel);
    }
    for (const s of subdirs.sort()) await walk(s);
  };
  await walk('');
  await complete(root, tree, base, problems, toComplete, Infinity, opts.deferHashNew);
  return { tree, problems };
}

/** Names in one directory that differ only in case cannot coexist on every system: a problem. */
function checkCase(dirRel: string, names: string[], problems: Problem[]): void {
  if (names.length < 2) return;
  const seen = new Map<string, string>();
  for (const n of names) {
    const k = n.toLowerCase();
    const other = seen.get(k);
    if (other !== undefined && other !== n) {
      problems.push({
        path: joinRel(dirRel, n),
        message: `differs only in case from "${joinRel(dirRel, other)}"; both are synced as they are, rename one to avoid a clash on case-insensitive systems`,
      });
    } else seen.set(k, n);
  }
}

/**
 * Read the current local state of the paths a watch batch touched, restricted to them: each
 * changed path, and everything below a changed directory that is new to the state (its
 * contents may have arrived before any event for them). Returns the subtree and the set of
 * paths the batch covers, for which absence means deletion.
 *
 * A file larger than `deferHashOver` bytes whose size differs from the state is left without a
 * hash: it differs from what was synced whatever its bytes, so reading it all before sending it
 * would only delay the send (which hashes what it sends). The caller hashes it when it must
 * compare it with a container file of the same size. With `deferHashNew`, so is every file the
 * state does not know: a burst of new files (a branch switch) is read once, by the send.
 */
export async function readLocalPaths(
  root: string,
  filter: LocalFilter,
  base: StateTree,
  changed: Iterable<string>,
  opts: { deferHashOver?: number; deferHashNew?: boolean } = {},
): Promise<{ tree: Tree; covered: Set<string>; problems: Problem[] }> {
  const tree: Tree = new Map();
  const covered = new Set<string>();
  const problems: Problem[] = [];
  const toComplete: string[] = [];
  // the state's directories that have entries below them, built on first use: a burst of new
  // directories then costs a lookup each, not a pass over the whole state each
  let parents: Set<string> | null = null;
  // every path the state had at or below `rel` that the rule still covers
  const coverBelow = (rel: string) => {
    const at = base.get(rel);
    if (at && !filter.excluded(rel, at.kind === 'dir')) covered.add(rel);
    parents ??= dirsWithEntries(base.keys());
    if (!parents.has(rel)) return;
    for (const [k, b] of base) {
      if (k !== rel && isWithin(k, rel) && !filter.excluded(k, b.kind === 'dir')) covered.add(k);
    }
  };
  // A burst names a new directory and every file in it: each path is read once. A directory
  // seen without its content (an old one, named on its own) may still be walked later.
  const done = new Set<string>();
  const visit = async (rel: string, deep: boolean): Promise<void> => {
    if (done.has(rel)) return;
    let st: Stats | null;
    try {
      st = lstatSync(join(root, rel));
      await breather();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR')
        problems.push({ path: rel, message: describeFsError(err) });
      else if (rel.includes('\uFFFD')) problems.push(invalidName(rel));
      st = null;
    }
    const e = st && entryFromStats(st);
    if (!e) {
      // gone (or never here: a path that changed in the container), with everything below it
      if (!filter.excluded(rel, base.get(rel)?.kind === 'dir')) covered.add(rel);
      coverBelow(rel);
      done.add(rel);
      return;
    }
    const isDir = e.kind === 'dir';
    if (isDir && filter.canSkipDir(rel)) return;
    if (e.kind === 'symlink' && filter.symlinks === 'ignore') return;
    if (!filter.excluded(rel, isDir)) {
      covered.add(rel);
      tree.set(rel, e);
      if (!isDir) toComplete.push(rel);
    }
    const wasDir = base.get(rel)?.kind === 'dir';
    if (!isDir || !wasDir || deep) done.add(rel);
    if (isDir) {
      if (!wasDir || deep) {
        // a new directory: take in its whole content (it may have arrived before any event
        // for it), and let what the state had below it count as gone unless seen again
        coverBelow(rel);
        let names: string[] = [];
        try {
          names = await readdir(join(root, rel));
        } catch {
          names = [];
        }
        for (const n of names) await visit(joinRel(rel, n), true);
      }
    } else if (wasDir) {
      coverBelow(rel); // a directory replaced by a file or link: its old content is gone
    }
  };
  for (const rel of changed) if (rel !== '') await visit(rel, false);
  await complete(root, tree, base, problems, toComplete, opts.deferHashOver, opts.deferHashNew);
  return { tree, covered, problems };
}
