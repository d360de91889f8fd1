/**
 * Writing the container's side into the local source tree (downloads, local deletions), safely:
 * never outside the rule's root, never through a symlink, files replaced atomically (a
 * temporary name the built-in excludes skip, then rename), content hashed as it is written.
 */
import { createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, rename, rm, symlink, unlink, utimes } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { newHash } from '../core/hash.js';
import type { Problem } from '../core/ports.js';
import type { Entry } from '../core/tree.js';
import { describeFsError } from './local-tree.js';

let seq = 0;

/** The local state of a path after it was written: what the last-synced state records. */
export interface Written {
  entry: Entry;
}

/** Resolve a rule-relative path under root, refusing escapes and symlinked parents. */
async function safePath(root: string, rel: string): Promise<string> {
  const abs = join(root, rel);
  const back = relative(root, abs);
  if (back === '' || back.startsWith('..') || back.split(sep).includes('..'))
    throw new Error('the path leaves the source directory; not written');
  // every existing parent below root must be a real directory, not a link out of the tree
  let dir = dirname(abs);
  const chain: string[] = [];
  while (dir.length > root.length && dir.startsWith(root)) {
    chain.push(dir);
    dir = dirname(dir);
  }
  for (const d of chain.reverse()) {
    const st = await lstat(d).catch(() => null);
    if (!st) break;
    if (!st.isDirectory()) throw new Error(`${relative(root, d)} is not a directory locally`);
  }
  return abs;
}

/**
 * Write one entry below root. `content` streams a file's bytes. Resolves to the entry as it now
 * is locally (size, mtime, hash), or a problem.
 */
export async function writeLocal(
  root: string,
  rel: string,
  entry: Entry,
  content: AsyncIterable<Buffer> | null,
): Promise<Written | Problem> {
  try {
    const abs = await safePath(root, rel);
    const mtime = new Date(entry.mtimeMs);
    const existing = await lstat(abs).catch(() => null);
    if (entry.kind === 'dir') {
      if (existing && !existing.isDirectory()) await rm(abs, { recursive: true, force: true });
      await mkdir(abs, { recursive: true });
      const st = await lstat(abs);
      return { entry: { kind: 'dir', size: 0, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777 } };
    }
    await mkdir(dirname(abs), { recursive: true });
    if (existing?.isDirectory()) await rm(abs, { recursive: true, force: true });
    if (entry.kind === 'symlink') {
      const tmp = join(dirname(abs), `.#composync-${process.pid}-${++seq}`);
      await symlink(entry.link ?? '', tmp);
      await rename(tmp, abs);
      const st = await lstat(abs);
      return {
        entry: { kind: 'symlink', link: entry.link, size: 0, mtimeMs: st.mtimeMs, mode: 0o777 },
      };
    }
    const tmp = join(dirname(abs), `.#composync-${process.pid}-${++seq}`);
    const hash = newHash();
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      await pipeline(content ?? [], tap, createWriteStream(tmp, { mode: entry.mode & 0o777 }));
      await chmod(tmp, entry.mode & 0o7777);
      await utimes(tmp, mtime, mtime);
      await rename(tmp, abs);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    const st = await lstat(abs);
    return {
      entry: {
        kind: 'file',
        hash: hash.digest('hex'),
        size,
        mtimeMs: st.mtimeMs,
        mode: st.mode & 0o7777,
      },
    };
  } catch (err) {
    return { path: rel, message: `cannot write locally: ${describeFsError(err)}` };
  }
}

/** Remove a path (and everything below it) under root. */
export async function removeLocal(root: string, rel: string): Promise<Problem | null> {
  try {
    const abs = await safePath(root, rel);
    await rm(abs, { recursive: true, force: true });
    return null;
  } catch (err) {
    return { path: rel, message: `cannot delete locally: ${describeFsError(err)}` };
  }
}
