/**
 * Both versions of a conflicting path, for the dashboard's side-by-side view: the local file
 * below the rule's source and the container's below its target, with a line diff of text
 * files (binary files: size and content hash). Only rule-relative paths are accepted, and
 * neither read leaves its side: the local file must resolve (through any symlinked parent)
 * inside the source, the container path must map inside the target, and a symlink is shown
 * as its link text, never followed.
 */
import { open, lstat, readlink, realpath } from 'node:fs/promises';
import { join, posix, relative, sep, isAbsolute } from 'node:path';
import { diffLines } from 'diff';
import { newHash } from '../core/hash.js';
import { toContainerPath } from '../core/paths.js';
import type { EntryKind } from '../core/tree.js';
import type { RuleSync } from '../session/rule-sync.js';

/** At most this much of each version is shown (the hash always covers the whole file). */
export const SHOW_MAX_BYTES = 256 * 1024;

/** One side of a conflict. */
export interface Version {
  exists: boolean;
  kind?: EntryKind;
  size?: number;
  /** Content hash of a file (the hash the sync state uses). */
  hash?: string;
  /** A symlink's link text. */
  link?: string;
  /** A text file's content (its first SHOW_MAX_BYTES). */
  text?: string;
  binary?: boolean;
  truncated?: boolean;
  /** Why this side could not be read. */
  error?: string;
}

/** A run of lines: in both versions, only the local one (`removed`) or only the container's. */
export interface DiffPart {
  value: string;
  added?: boolean;
  removed?: boolean;
}

export interface Versions {
  path: string;
  local: Version;
  container: Version;
  /** Line diff, local → container, when both are text files. */
  diff?: DiffPart[];
}

/**
 * A rule-relative path as the sync state writes them: posix, relative, no `.` or `..`
 * segment, no empty segment, no NUL. Anything else is refused before any read.
 */
export function isRulePath(rel: string): boolean {
  if (!rel || rel.length > 4096 || rel.includes('\0') || isAbsolute(rel) || rel.startsWith('/'))
    return false;
  return rel.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/** Read both versions of `rel` (the caller has checked it is one of the rule's conflicts). */
export async function readVersions(rs: RuleSync, rel: string): Promise<Versions> {
  if (!isRulePath(rel)) throw new Error(`not a path of the rule: ${rel}`);
  const [local, container] = await Promise.all([readLocalVersion(rs, rel), readContainer(rs, rel)]);
  const out: Versions = { path: rel, local, container };
  if (local.text !== undefined && container.text !== undefined)
    out.diff = diffLines(local.text, container.text).map((p) => ({
      value: p.value,
      ...(p.added ? { added: true } : {}),
      ...(p.removed ? { removed: true } : {}),
    }));
  return out;
}

/** Text when the bytes are UTF-8 without NUL; else null (shown as binary). */
function asText(buf: Buffer): string | null {
  if (buf.subarray(0, 8192).includes(0)) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    // a multi-byte character cut at the show limit is not binary
    if (buf.length >= SHOW_MAX_BYTES) {
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, buf.length - 3));
      } catch {
        return null;
      }
    }
    return null;
  }
}

/** A file's version from its content: hashed whole, its first SHOW_MAX_BYTES kept to show. */
async function fileVersionOf(content: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<Version> {
  const hash = newHash();
  const head: Buffer[] = [];
  let kept = 0;
  let size = 0;
  for await (const chunk of content) {
    hash.update(chunk);
    size += chunk.length;
    if (kept < SHOW_MAX_BYTES) {
      const part = chunk.subarray(0, SHOW_MAX_BYTES - kept);
      head.push(part);
      kept += part.length;
    }
  }
  return fileVersion(Buffer.concat(head), size, hash.digest('hex'));
}

function fileVersion(head: Buffer, size: number, hash: string): Version {
  const text = asText(head);
  return {
    exists: true,
    kind: 'file',
    size,
    hash,
    ...(text === null ? { binary: true } : { text }),
    ...(size > head.length ? { truncated: true } : {}),
  };
}

async function readLocalVersion(rs: RuleSync, rel: string): Promise<Version> {
  const root = rs.rule.root;
  const abs = join(root, rel);
  const st = await lstat(abs).catch(() => null);
  if (!st) return { exists: false };
  try {
    // a symlinked parent directory could lead out of the source: the real path must stay in
    const [realRoot, realParent] = await Promise.all([realpath(root), realpath(join(abs, '..'))]);
    const back = relative(realRoot, realParent);
    if (back.startsWith('..') || isAbsolute(back) || back.split(sep).includes('..'))
      return { exists: true, error: 'lies outside the source through a symlink; not read' };
    if (st.isSymbolicLink()) return { exists: true, kind: 'symlink', link: await readlink(abs) };
    if (st.isDirectory()) return { exists: true, kind: 'dir' };
    if (!st.isFile()) return { exists: true, error: 'not a file, directory or symlink' };
    const fh = await open(abs, 'r');
    try {
      return await fileVersionOf(fh.createReadStream({ autoClose: false }));
    } finally {
      await fh.close();
    }
  } catch (err) {
    return { exists: true, error: (err as Error).message };
  }
}

async function readContainer(rs: RuleSync, rel: string): Promise<Version> {
  const cp = toContainerPath(rs.rule, rs.targetAbs, rel);
  if (!cp) return { exists: false, error: 'does not map into the target' };
  const sub = posix.relative(rs.targetAbs, cp);
  if (rs.rule.kind !== 'file' && (!sub || sub.startsWith('..')))
    return { exists: false, error: 'outside the target' };
  let out: Version = { exists: false };
  try {
    // the engine resolves links in a path it reads: a parent replaced by a link in the
    // container (to /etc, say) must not lead the read out of the target
    const linked = await rs.linkedParent(rel);
    if (linked !== null)
      return { exists: false, error: `${linked} is not a directory in the container; not read` };
    await rs.remote.readEntries([rel], async (_rel, entry, content) => {
      if (entry.kind !== 'file') {
        for await (const _ of content ?? []) void _;
        out =
          entry.kind === 'symlink'
            ? { exists: true, kind: 'symlink', link: entry.link }
            : { exists: true, kind: entry.kind };
        return;
      }
      out = await fileVersionOf(content ?? []);
    });
  } catch (err) {
    return { exists: false, error: (err as Error).message };
  }
  return out;
}
