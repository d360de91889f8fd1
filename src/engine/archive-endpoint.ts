/**
 * The engine's archive endpoint for one container: writes (PUT /archive, gzip-compressed for
 * remote engines), scans and reads (GET /archive) and stats (HEAD /archive). Needs nothing in
 * the image, and works on created containers that have not started. The channel decides when
 * to use it (engine/transport.ts).
 */
import { posix } from 'node:path';
import { Transform } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { ContainerRef, Problem, RemoteStat } from '../core/ports.js';
import type { Entry, Tree } from '../core/tree.js';
import { EngineError } from '../errors.js';
import { parsePathStat, treeFromArchive } from './archive-read.js';
import type { EngineCalls } from './calls.js';
import { engineMessage, isNoSuchContainer, statusOf } from './engine-errors.js';
import { archiveGetter, readEntries } from './remote-read.js';
import { feedEntries, type FedEntry, type PreparedEntry } from './tar-entries.js';
import { TarPack } from './tar-pack.js';

/** Bounded concurrency for per-path HEAD requests. */
const STAT_CONCURRENCY = 8;

export class ArchiveEndpoint {
  constructor(
    private readonly calls: EngineCalls,
    private readonly container: ContainerRef,
    /** Send archives gzip-compressed (remote engines). */
    private readonly compress: boolean,
  ) {}

  /**
   * Write through PUT /archive. The engine stops at the first member it cannot extract and
   * refuses the whole archive; when its message names a member, that member becomes a problem
   * and the rest is sent again, so one bad path does not sink a batch.
   */
  async write(
    prepared: PreparedEntry[],
  ): Promise<{ confirmed: FedEntry[]; problems: Problem[]; wireBytes: number }> {
    const problems: Problem[] = [];
    let remaining = prepared;
    let wireBytes = 0;
    for (let attempt = 0; ; attempt++) {
      const r = await this.putOnce(remaining);
      wireBytes += r.wireBytes;
      if (!r.refused)
        return { confirmed: r.fed, problems: [...problems, ...r.problems], wireBytes };
      const culprit = namedIn(r.refused, remaining);
      const message = `the engine refused the write: ${r.refused}`;
      if (!culprit || attempt >= 16) {
        for (const p of remaining) problems.push({ path: p.path, message });
        return { confirmed: [], problems, wireBytes };
      }
      problems.push({
        path: culprit.path,
        // engine 28 names the member and then the extraction root: `cannot overwrite
        // directory "a/x" with non-directory "/"`, which reads as if "/" were being written
        message: /cannot overwrite directory .* with non-directory/.test(r.refused)
          ? `cannot overwrite the directory there with a ${culprit.entry.kind} (delete it first; the engine said: ${r.refused})`
          : message,
      });
      remaining = remaining.filter((p) => p !== culprit);
      if (remaining.length === 0) return { confirmed: [], problems, wireBytes };
    }
  }

  private async putOnce(
    prepared: PreparedEntry[],
  ): Promise<{ fed: FedEntry[]; problems: Problem[]; refused?: string; wireBytes: number }> {
    const problems: Problem[] = [];
    const pack = new TarPack();
    // What goes on the wire: the request body after compression. (A counting stage in the pipe,
    // not a 'data' listener, which would start the flow before the request reads it.)
    let wireBytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        wireBytes += chunk.length;
        cb(null, chunk);
      },
    });
    const body = this.compress ? pack.pipe(createGzip()).pipe(counter) : pack.pipe(counter);
    const name = this.container.name;
    const put = this.calls
      .call(`write into ${name}`, name, () =>
        this.calls.docker.getContainer(this.container.id).putArchive(body, {
          path: '/',
          // Ownership comes from the tar headers; copyUIDGID=1 would chown everything to the
          // container's user instead (and needs getent on the engine's host).
          copyUIDGID: '0',
          // Never replace a directory (and all below it) by a file, or the reverse: tar
          // refuses too, and a type change is a deletion first.
          noOverwriteDirNonDir: '1',
        }),
      )
      .then(
        () => undefined,
        (err: EngineError) => {
          // Unblock the feeder, which may be waiting for the request to read.
          pack.destroy();
          return err;
        },
      );
    let fed: FedEntry[] = [];
    let feedError: unknown;
    // Not awaited before the request settles: when the request fails (the engine went away),
    // the destroyed pack never calls back the entries still queued, and the feed would wait
    // for them forever, and with it the batch and every later one of the service.
    const feeding = feedEntries(pack, prepared, problems).then(
      (f) => {
        fed = f;
        pack.finalize();
      },
      (err: unknown) => {
        feedError = err;
      },
    );
    const failure = await put;
    if (!failure) await feeding;
    if (failure) {
      const cause = failure.cause;
      if (isNoSuchContainer(cause) || statusOf(cause) === undefined) throw failure;
      return { fed: [], problems, refused: engineMessage(cause), wireBytes };
    }
    if (feedError) throw feedError;
    return { fed, problems, wireBytes };
  }

  /** The tree below an absolute, normalized directory; null when it is missing. */
  scan(norm: string, dir = norm): Promise<Tree | null> {
    // "dir/." resolves a symlinked directory and names members "./...".
    const path = `${norm}/.`;
    const container = this.calls.docker.getContainer(this.container.id);
    const name = this.container.name;
    return this.calls.call(`scan ${dir} in ${name}`, name, async () => {
      let stream: NodeJS.ReadableStream;
      try {
        stream = await container.getArchive({ path });
      } catch (err) {
        if (statusOf(err) === 404 && !isNoSuchContainer(err)) return null;
        if (/not a directory/i.test(engineMessage(err))) return null;
        throw err;
      }
      return treeFromArchive(stream);
    });
  }

  /** Stat each path with a HEAD request (a few at a time); null for missing ones. */
  async stat(paths: string[], out: Map<string, RemoteStat | null>): Promise<void> {
    const container = this.calls.docker.getContainer(this.container.id);
    const name = this.container.name;
    let next = 0;
    let missing = false;
    const statOne = async (path: string): Promise<RemoteStat | null> => {
      try {
        return await this.calls.callOrMissing(
          `stat ${path} in ${name}`,
          this.container,
          async () => {
            const res = (await container.infoArchive({ path })) as NodeJS.ReadableStream & {
              headers: Record<string, string | undefined>;
            };
            res.resume();
            const header = res.headers['x-docker-container-path-stat'];
            if (!header) throw new Error('the engine sent no X-Docker-Container-Path-Stat header');
            return parsePathStat(header);
          },
        );
      } catch (err) {
        // A path below a file (ENOTDIR) is a bare 500 to HEAD, with no message: it cannot
        // exist, so it is missing when its parent is not a directory.
        const parent = posix.dirname(path);
        if (statusOf((err as EngineError).cause) !== 500 || parent === path) throw err;
        const up = await statOne(parent);
        if (up === null || up.kind !== 'dir') return null;
        throw err;
      }
    };
    const worker = async () => {
      while (next < paths.length) {
        const path = paths[next++]!;
        const st = await statOne(path);
        if (st === null) missing = true;
        out.set(path, st);
      }
    };
    await Promise.all(Array.from({ length: Math.min(STAT_CONCURRENCY, paths.length) }, worker));
    // HEAD's 404 does not say whether the path or the container is missing.
    if (missing) await this.calls.inspect(this.container.id, name);
  }

  /** Read entries below a directory, one archive read of it (or of each entry). */
  read(
    dir: string,
    rels: string[],
    onEntry: (rel: string, entry: Entry, content: AsyncIterable<Buffer> | null) => Promise<void>,
  ): Promise<void> {
    const container = this.calls.docker.getContainer(this.container.id);
    const name = this.container.name;
    const get = archiveGetter(container, (err) => statusOf(err) === 404 && !isNoSuchContainer(err));
    return this.calls.call(`read ${rels.length} paths below ${dir} in ${name}`, name, () =>
      readEntries(get, dir, rels, onEntry),
    );
  }
}

/**
 * The entry the engine's message names, if any. Engines up to 26 name the container path
 * (`open /a/b: ...`, `"/a/b"`); engine 28 extracts relative to the target directory and names
 * the tar member (`openat a/b: ...`, `cannot overwrite directory "a/b" with non-directory "/"`).
 * A member name is matched only quoted or followed by `:`, as those messages put it, so a
 * short member name does not match an ordinary word of the message.
 */
function namedIn(message: string, entries: PreparedEntry[]): PreparedEntry | undefined {
  let best: PreparedEntry | undefined;
  let bestLength = 0;
  const consider = (
    p: PreparedEntry,
    needle: string,
    bounded: (b: string, a: string) => boolean,
  ) => {
    if (needle.length <= bestLength) return;
    for (let i = message.indexOf(needle); i !== -1; i = message.indexOf(needle, i + 1)) {
      const before = i === 0 ? ' ' : message[i - 1]!;
      const after = message[i + needle.length] ?? ' ';
      if (bounded(before, after)) {
        best = p;
        bestLength = needle.length;
        return;
      }
    }
  };
  for (const p of entries) {
    const path = posix.normalize(p.path).replace(/(.)\/+$/, '$1');
    consider(p, path, (b, a) => /[\s"']/.test(b) && /[\s"':]/.test(a));
    const member = path.slice(1);
    if (member)
      consider(
        p,
        member,
        (b, a) => ((b === '"' || b === "'") && a === b) || (/\s/.test(b) && a === ':'),
      );
  }
  return best;
}
