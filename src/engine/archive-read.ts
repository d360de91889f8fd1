/**
 * Reading what the archive endpoint returns: a directory's tar turned into a Tree (content
 * hashed while streaming), and the path-stat header of HEAD /archive.
 */
import tar from 'tar-stream';
import { hashChunks } from '../core/hash.js';
import type { RemoteStat } from '../core/ports.js';
import type { Entry, Tree } from '../core/tree.js';

/** `./a/b`, `dir/a/b` or `/a/b` → `a/b`: the archive's top-level component removed. */
function relativeName(name: string): string {
  const i = name.indexOf('/');
  const rest = i === -1 ? '' : name.slice(i + 1);
  return rest.replace(/\/+$/, '');
}

/**
 * Build a Tree from the tar of one directory. Files are hashed as they stream past, so memory
 * stays bounded; hard links take the hash of the member they point to.
 */
export async function treeFromArchive(stream: NodeJS.ReadableStream): Promise<Tree> {
  const tree: Tree = new Map();
  const extract = tar.extract();
  stream.on('error', (err: Error) => extract.destroy(err));
  stream.pipe(extract);
  for await (const member of extract) {
    const h = member.header;
    const rel = relativeName(h.name);
    const base = {
      mtimeMs: (h.mtime ?? new Date(0)).getTime(),
      mode: (h.mode ?? 0) & 0o7777,
    };
    let entry: Entry | undefined;
    switch (h.type) {
      case 'file':
      case 'contiguous-file': {
        const { hash, size } = await hashChunks(member as AsyncIterable<Buffer>);
        entry = { kind: 'file', hash, size, ...base };
        break;
      }
      case 'directory':
        entry = { kind: 'dir', size: 0, ...base };
        break;
      case 'symlink':
        entry = { kind: 'symlink', link: h.linkname ?? '', size: 0, ...base };
        break;
      case 'link': {
        const target = tree.get(relativeName(h.linkname ?? ''));
        if (target?.kind === 'file')
          entry = { kind: 'file', hash: target.hash, size: target.size, ...base };
        break;
      }
    }
    member.resume();
    if (entry && rel !== '') tree.set(rel, entry);
  }
  return tree;
}

// Go's os.FileMode bits, as the engine reports them in X-Docker-Container-Path-Stat.
const GO_DIR = 31;
const GO_SYMLINK = 27;
const GO_DEVICE = 26;
const GO_NAMED_PIPE = 25;
const GO_SOCKET = 24;
const GO_SETUID = 23;
const GO_SETGID = 22;
const GO_CHAR_DEVICE = 21;
const GO_STICKY = 20;
const GO_IRREGULAR = 19;

const bit = (mode: number, n: number) => Math.floor(mode / 2 ** n) % 2 === 1;

/** Map a Go FileMode to a kind and POSIX permission bits (with setuid, setgid, sticky). */
export function fromGoFileMode(mode: number): { kind: RemoteStat['kind']; mode: number } {
  let kind: RemoteStat['kind'] = 'file';
  if (bit(mode, GO_DIR)) kind = 'dir';
  else if (bit(mode, GO_SYMLINK)) kind = 'symlink';
  else if (
    [GO_DEVICE, GO_NAMED_PIPE, GO_SOCKET, GO_CHAR_DEVICE, GO_IRREGULAR].some((n) => bit(mode, n))
  )
    kind = 'other';
  let perm = mode % 0o1000;
  if (bit(mode, GO_SETUID)) perm |= 0o4000;
  if (bit(mode, GO_SETGID)) perm |= 0o2000;
  if (bit(mode, GO_STICKY)) perm |= 0o1000;
  return { kind, mode: perm };
}

/** Decode the base64 JSON of X-Docker-Container-Path-Stat. */
export function parsePathStat(header: string): RemoteStat {
  const raw = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as {
    size: number;
    mode: number;
    mtime: string;
  };
  const { kind, mode } = fromGoFileMode(raw.mode);
  // RFC 3339 with nanoseconds; whole seconds are what tar and the state keep.
  const seconds = Date.parse(raw.mtime.replace(/\.\d+/, '')) / 1000;
  return { kind, size: raw.size, mtime: Math.floor(seconds), mode };
}
