/**
 * Trees as plain data: what a scan of either side produces and what the state records.
 * Paths are rule-relative, posix-separated, without a leading './' or trailing '/'.
 */

import type { PathMap } from './table.js';

export type EntryKind = 'file' | 'dir' | 'symlink';

export interface Entry {
  kind: EntryKind;
  /** Content hash (hex) for files; undefined for directories. */
  hash?: string;
  /** Link text for symlinks. */
  link?: string;
  size: number;
  /** Modification time in milliseconds since the epoch. */
  mtimeMs: number;
  /** Permission bits (e.g. 0o644). */
  mode: number;
}

/**
 * A tree: relative path → entry. The root itself is not an entry. A Map, or for the trees of a
 * whole rule a compact table (core/table.ts).
 */
export type Tree = PathMap<Entry>;

/**
 * What the state records per path after a successful sync: the content both sides agreed on,
 * plus quick-check data for each side so unchanged files need not be hashed or fetched again.
 */
export interface StateEntry {
  kind: EntryKind;
  hash?: string;
  link?: string;
  /** Local size and mtime (ms) when last synced. */
  lSize: number;
  lMtimeMs: number;
  /** Remote size and mtime (whole seconds) as written or seen when last synced. */
  rSize: number;
  rMtime: number;
}

export type StateTree = PathMap<StateEntry>;

/** Two entries hold the same content (kind, bytes or link text). Metadata is ignored. */
export function sameContent(a: Entry | StateEntry | undefined, b: Entry | StateEntry | undefined) {
  if (!a || !b) return a === b;
  if (a.kind !== b.kind) return false;
  if (a.kind === 'file') return a.hash === b.hash;
  if (a.kind === 'symlink') return a.link === b.link;
  return true;
}

/** `a/b/c` → ['a', 'a/b']. */
export function parentsOf(rel: string): string[] {
  const out: string[] = [];
  let i = rel.indexOf('/');
  while (i !== -1) {
    out.push(rel.slice(0, i));
    i = rel.indexOf('/', i + 1);
  }
  return out;
}

/**
 * The directories that have at least one of `keys` below them, the root ('') included when
 * there is any key: whether a path may have anything below it, in one lookup.
 */
export function dirsWithEntries(keys: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const k of keys) {
    out.add('');
    for (const d of parentsOf(k)) out.add(d);
  }
  return out;
}

/** True when `rel` is `dir` or lies below it. */
export function isWithin(rel: string, dir: string): boolean {
  return dir === '' || rel === dir || rel.startsWith(dir + '/');
}
