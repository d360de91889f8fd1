/**
 * Reading container files for downloads, through the archive endpoint (no tools needed in the
 * image): a few paths one GET each, many paths one GET of the whole directory, filtered.
 */
import { posix } from 'node:path';
import tar, { type Header as TarHeaders } from 'tar-stream';
import type Docker from 'dockerode';
import type { Entry } from '../core/tree.js';

export type OnEntry = (
  rel: string,
  entry: Entry,
  content: AsyncIterable<Buffer> | null,
) => Promise<void>;

/** Above this many paths one archive of the directory is cheaper than one call per path. */
export const BULK_READ_THRESHOLD = 64;

const strip = (name: string) => name.replace(/^\.\//, '').replace(/\/+$/, '');

function entryOf(h: TarHeaders): Entry | null {
  const base = { mtimeMs: (h.mtime ?? new Date(0)).getTime(), mode: (h.mode ?? 0) & 0o7777 };
  switch (h.type) {
    case 'file':
    case 'contiguous-file':
      return { kind: 'file', size: h.size ?? 0, ...base };
    case 'directory':
      return { kind: 'dir', size: 0, ...base };
    case 'symlink':
      return { kind: 'symlink', link: h.linkname ?? '', size: 0, ...base };
    default:
      return null;
  }
}

/** Walk a tar stream, handing each member (name relative to the archive) to `visit`. */
async function eachMember(
  stream: NodeJS.ReadableStream,
  visit: (name: string, h: TarHeaders, body: AsyncIterable<Buffer>) => Promise<void>,
): Promise<void> {
  const extract = tar.extract();
  stream.on('error', (err: Error) => extract.destroy(err));
  stream.pipe(extract);
  for await (const member of extract) {
    await visit(member.header.name, member.header, member as AsyncIterable<Buffer>);
    member.resume();
  }
}

/**
 * Read `rels` below `dir` from a container. `get` fetches an archive of an absolute path and
 * resolves to null when the path does not exist.
 */
export async function readEntries(
  get: (path: string) => Promise<NodeJS.ReadableStream | null>,
  dir: string,
  rels: string[],
  onEntry: OnEntry,
): Promise<void> {
  if (rels.length === 0) return;
  const base = posix.normalize(dir).replace(/(.)\/+$/, '$1');
  if (rels.length > BULK_READ_THRESHOLD) {
    const want = new Set(rels);
    const stream = await get(`${base}/.`);
    if (!stream) return;
    const hardLinks: string[] = [];
    await eachMember(stream, async (name, h, body) => {
      const rel = strip(name);
      if (!want.has(rel)) return;
      if (h.type === 'link') {
        hardLinks.push(rel); // content lives in another member: fetched on its own below
        return;
      }
      const e = entryOf(h);
      if (e) await onEntry(rel, e, e.kind === 'file' ? body : null);
    });
    for (const rel of hardLinks) await readOne(get, base, rel, onEntry);
    return;
  }
  for (const rel of rels) await readOne(get, base, rel, onEntry);
}

async function readOne(
  get: (path: string) => Promise<NodeJS.ReadableStream | null>,
  base: string,
  rel: string,
  onEntry: OnEntry,
): Promise<void> {
  const stream = await get(posix.join(base, rel));
  if (!stream) return;
  let first = true;
  await eachMember(stream, async (_name, h, body) => {
    // only the entry itself: a directory's archive also carries everything below it
    if (!first) return;
    first = false;
    const e = entryOf(h);
    if (e) await onEntry(rel, e, e.kind === 'file' ? body : null);
  });
}

/** Adapt dockerode's getArchive to `get` (404 for a missing path → null). */
export function archiveGetter(
  container: Docker.Container,
  isMissing: (err: unknown) => boolean,
): (path: string) => Promise<NodeJS.ReadableStream | null> {
  return async (path) => {
    try {
      return await container.getArchive({ path });
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  };
}

/**
 * Deliver the members of one tar stream whose names (relative, `./` stripped) are in `want`,
 * each once (the first member of that name); everything else in the stream is skipped. Used
 * for archives made by the container's own tar (`tar -c -C dir -- rels`).
 */
export async function readWanted(
  stream: NodeJS.ReadableStream,
  want: ReadonlySet<string>,
  onEntry: OnEntry,
): Promise<void> {
  const seen = new Set<string>();
  await eachMember(stream, async (name, h, body) => {
    const rel = strip(name);
    if (!want.has(rel) || seen.has(rel)) return;
    seen.add(rel);
    const e = entryOf(h);
    if (e) await onEntry(rel, e, e.kind === 'file' ? body : null);
  });
}
