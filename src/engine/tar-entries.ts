/**
 * WriteEntries into a tar stream (engine/tar-pack.ts), streamed: memory stays bounded whatever
 * the file sizes, and a header never promises more or fewer bytes than follow it.
 */
import {
  close,
  closeSync,
  fstat,
  fstatSync,
  open,
  openSync,
  read,
  readSync,
  type Stats,
} from 'node:fs';
import { promisify } from 'node:util';
import { posix } from 'node:path';
import { hashBuffer, newHash } from '../core/hash.js';
import type { Problem, WriteEntry } from '../core/ports.js';
import { padding, type TarHeader, type TarPack } from './tar-pack.js';

/** An entry ready for a tar: its member name is the absolute path without the leading '/'. */
export interface PreparedEntry {
  entry: WriteEntry;
  path: string;
  name: string;
}

/** An entry whose header and content went into the tar. */
export interface FedEntry extends PreparedEntry {
  size: number;
  /**
   * Files: the content hash of the bytes that went into the tar. The file may have changed
   * since it was scanned, and this, not the scan's hash, is what the container now holds.
   */
  hash?: string;
}

const tornProblems = new WeakSet<Problem>();

/**
 * True for the problem of a large file that changed while it was streamed: its entry was
 * padded or cut to the size its header announced, so the container holds a torn copy that the
 * writer must remove (or it would pass for a file someone put there).
 */
export function isTorn(p: Problem): boolean {
  return tornProblems.has(p);
}

/** Files up to this size are read whole (exact size, one read); larger ones are streamed. */
const READ_WHOLE_MAX = 512 * 1024;
const CHUNK = 256 * 1024;

/** Validate and name entries; entries that cannot be written become problems. */
export function prepareEntries(entries: WriteEntry[]): {
  prepared: PreparedEntry[];
  problems: Problem[];
} {
  const prepared: PreparedEntry[] = [];
  const problems: Problem[] = [];
  for (const entry of entries) {
    const path = entry.path;
    if (!posix.isAbsolute(path) || path.includes('\0')) {
      problems.push({ path, message: 'not an absolute container path' });
      continue;
    }
    const norm = posix.normalize(path).replace(/\/+$/, '');
    if (norm === '' || norm === '/') {
      problems.push({ path, message: 'refusing to write the container root itself' });
      continue;
    }
    if (entry.kind === 'symlink' && entry.link === undefined) {
      problems.push({ path, message: 'symlink without link text' });
      continue;
    }
    if (entry.kind === 'file' && entry.content === undefined && entry.source === undefined) {
      problems.push({ path, message: 'file without content or source' });
      continue;
    }
    const name = norm.slice(1) + (entry.kind === 'dir' ? '/' : '');
    prepared.push({ entry, path, name });
  }
  return { prepared, problems };
}

/** Entries whose sources are read ahead of the one going into the tar. */
const READ_AHEAD = 16;

// The callback API: several times faster per small file than FileHandle's promises.
const openFd = promisify(open);
const fstatFd = promisify(fstat);
const closeFd = promisify(close);
const readFd = (fd: number, buf: Buffer, offset: number, length: number, position: number) =>
  new Promise<number>((resolve, reject) =>
    read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))),
  );

type Loaded =
  | { kind: 'meta' }
  | { kind: 'buffer'; content: Buffer }
  | { kind: 'stream'; fd: number; size: number; mtimeMs: number }
  | { kind: 'problem'; message: string };

/**
 * Append entries to `pack` in order, waiting whenever its reader is behind. Sources are read a
 * few entries ahead (reading one file at a time would leave the pipe idle), so at most
 * READ_AHEAD small files (each at most READ_WHOLE_MAX) and one chunk of a large file are in
 * memory beyond what the pack holds. `beforeEntry` runs just before an entry's header is
 * appended; everything appended is flushed to the reader before this resolves. Local failures
 * (a vanished or unreadable source) are pushed to `problems` and the entry is skipped; a large
 * source that changes while streaming is padded or cut to its header's size and reported.
 * Rejects only when the pack itself is destroyed (its consumer died).
 */
export async function feedEntries(
  pack: TarPack,
  prepared: PreparedEntry[],
  problems: Problem[],
  beforeEntry?: (p: PreparedEntry) => void,
): Promise<FedEntry[]> {
  const fed: FedEntry[] = [];
  const window: Promise<Loaded>[] = [];
  let next = 0;
  const fill = () => {
    while (window.length < READ_AHEAD && next < prepared.length)
      window.push(load(prepared[next++]!));
  };
  try {
    for (const p of prepared) {
      fill();
      const loaded = await window.shift()!;
      if (loaded.kind === 'problem') {
        problems.push({ path: p.path, message: loaded.message });
        continue;
      }
      if (loaded.kind === 'stream') {
        const streamed = await feedStream(pack, p, loaded, problems, beforeEntry);
        if (streamed !== undefined) fed.push(fedEntry(p, streamed.size, streamed.hash));
        continue;
      }
      const { size, hash } = appendEntry(pack, p, loaded, beforeEntry);
      fed.push(fedEntry(p, size, hash));
      if (pack.full) await pack.drained();
    }
    pack.flush();
    if (pack.destroyed) throw new Error('tar stream closed');
  } finally {
    // On failure, close what was opened ahead.
    for (const w of window)
      void w.then((l) => (l.kind === 'stream' ? closeFd(l.fd) : undefined)).catch(() => undefined);
  }
  return fed;
}

async function load(p: PreparedEntry): Promise<Loaded> {
  const { entry } = p;
  if (entry.kind !== 'file' || entry.content !== undefined) return { kind: 'meta' };
  const whole = loadWhole(entry.source!);
  if (whole) return whole;
  let fd: number;
  try {
    fd = await openFd(entry.source!, 'r');
  } catch (err) {
    return { kind: 'problem', message: `cannot read ${entry.source}: ${reason(err)}` };
  }
  let keepOpen = false;
  try {
    const st: Stats = await fstatFd(fd);
    if (!st.isFile())
      return { kind: 'problem', message: `${entry.source} is no longer a regular file` };
    if (st.size > READ_WHOLE_MAX) {
      keepOpen = true;
      return { kind: 'stream', fd, size: st.size, mtimeMs: st.mtimeMs };
    }
    return { kind: 'buffer', content: await readToEnd(fd, st.size) };
  } catch (err) {
    return { kind: 'problem', message: `cannot read ${entry.source}: ${reason(err)}` };
  } finally {
    if (!keepOpen) await closeFd(fd).catch(() => undefined);
  }
}

/**
 * A file of at most READ_WHOLE_MAX read whole, synchronously: for small files several times
 * cheaper than async calls, each a round trip through the thread pool, and a few microseconds
 * of the main thread per file (the feed yields at least every QUEUE_ENTRIES entries). Null for a
 * larger file, which is streamed.
 */
function loadWhole(source: string): Loaded | null {
  let fd: number;
  try {
    fd = openSync(source, 'r');
  } catch (err) {
    return { kind: 'problem', message: `cannot read ${source}: ${reason(err)}` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { kind: 'problem', message: `${source} is no longer a regular file` };
    if (st.size > READ_WHOLE_MAX) return null;
    let buf = Buffer.allocUnsafe(st.size + 1);
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, len);
        buf = bigger;
      }
      const n = readSync(fd, buf, len, buf.length - len, len);
      if (n === 0) return { kind: 'buffer', content: buf.subarray(0, len) };
      len += n;
    }
  } catch (err) {
    return { kind: 'problem', message: `cannot read ${source}: ${reason(err)}` };
  } finally {
    closeSync(fd);
  }
}

/** Read a small file whole, to its end even if it grew since fstat. */
async function readToEnd(fd: number, sizeHint: number): Promise<Buffer> {
  let buf = Buffer.allocUnsafe(sizeHint + 1);
  let len = 0;
  for (;;) {
    if (len === buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, len);
      buf = bigger;
    }
    const n = await readFd(fd, buf, len, buf.length - len, len);
    if (n === 0) return buf.subarray(0, len);
    len += n;
  }
}

/**
 * The header of an entry; `size` for files. Objects built here and below are literals with
 * every property: an object spread in hot code (`{ ...p, size }`) gave each object a hidden
 * class of its own (about 230 bytes more per entry, 42,000 of them alive midway through a
 * 100,000-file copy).
 */
function headerOf(p: PreparedEntry, type: TarHeader['type'], size?: number): TarHeader {
  const { entry, name } = p;
  const ms = Number.isFinite(entry.mtimeMs) ? Math.max(0, entry.mtimeMs) : 0;
  return {
    name,
    type,
    mode: entry.mode & 0o7777,
    uid: entry.uid,
    gid: entry.gid,
    mtime: Math.floor(ms / 1000),
    size,
    linkname: entry.kind === 'symlink' ? entry.link : undefined,
  };
}

const fedEntry = (p: PreparedEntry, size: number, hash: string | undefined): FedEntry => ({
  entry: p.entry,
  path: p.path,
  name: p.name,
  size,
  hash,
});

/** Append a directory, symlink or in-memory file. */
function appendEntry(
  pack: TarPack,
  p: PreparedEntry,
  loaded: Loaded,
  beforeEntry?: (p: PreparedEntry) => void,
): { size: number; hash?: string } {
  const { entry } = p;
  beforeEntry?.(p);
  if (entry.kind === 'dir') {
    pack.entry(headerOf(p, 'directory'));
    return { size: 0 };
  }
  if (entry.kind === 'symlink') {
    pack.entry(headerOf(p, 'symlink'));
    return { size: 0 };
  }
  const content = entry.content ?? (loaded.kind === 'buffer' ? loaded.content : Buffer.alloc(0));
  pack.entry(headerOf(p, 'file', content.length), content);
  return { size: content.length, hash: hashBuffer(content) };
}

/** A large file: the size comes from fstat and exactly that many bytes follow the header. */
async function feedStream(
  pack: TarPack,
  p: PreparedEntry,
  loaded: Extract<Loaded, { kind: 'stream' }>,
  problems: Problem[],
  beforeEntry?: (p: PreparedEntry) => void,
): Promise<{ size: number; hash: string } | undefined> {
  const { entry } = p;
  const { fd, size, mtimeMs } = loaded;
  const h = newHash();
  try {
    beforeEntry?.(p);
    pack.entry(headerOf(p, 'file', size));
    let pos = 0;
    let failure: string | undefined;
    while (pos < size) {
      const want = Math.min(CHUNK, size - pos);
      let n = 0;
      const buf = Buffer.allocUnsafe(want);
      if (failure === undefined) {
        try {
          n = await readFd(fd, buf, 0, want, pos);
        } catch (err) {
          failure = `reading ${entry.source} failed: ${reason(err)}`;
        }
        if (n === 0 && failure === undefined) failure = `${entry.source} shrank while being sent`;
      }
      if (failure === undefined) h.update(buf.subarray(0, n));
      if (n < want && failure !== undefined) buf.fill(0, n);
      pack.append(failure === undefined ? buf.subarray(0, n) : buf);
      pos += failure === undefined ? n : want;
      if (pack.full) await pack.drained();
    }
    pack.append(padding(size));
    if (failure === undefined) {
      const after = await fstatFd(fd).catch(() => undefined);
      if (after && (after.size !== size || after.mtimeMs !== mtimeMs))
        failure = `${entry.source} changed while being sent`;
    }
    if (failure !== undefined) {
      const problem = { path: p.path, message: `${failure}; it is sent again on its next change` };
      tornProblems.add(problem);
      problems.push(problem);
      return undefined;
    }
    return { size, hash: h.digest('hex') };
  } finally {
    await closeFd(fd).catch(() => undefined);
  }
}

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'it no longer exists';
  if (e?.code === 'EACCES' || e?.code === 'EPERM') return 'permission denied';
  return e?.message ?? String(err);
}
