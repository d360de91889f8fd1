/**
 * A channel into one container, the policy over three resources: the archive endpoint
 * (engine/archive-endpoint.ts), the image's own tools through exec (engine/exec-tools.ts) and
 * the exec tar session (engine/tar-session.ts). It chooses the transport of each write
 * (engine/transport.ts), routes tmpfs targets to the image's tools, serializes writes and
 * deletions, and keeps the tar session open.
 */
import { stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type {
  ContainerChannel,
  ContainerInfo,
  ContainerRef,
  KnownEntry,
  Problem,
  RemoteStat,
  WriteEntry,
  WriteResult,
} from '../core/ports.js';
import { EntryTable } from '../core/table.js';
import type { Entry, StateTree, Tree } from '../core/tree.js';
import { hashChunks } from '../core/hash.js';
import { EngineError } from '../errors.js';
import type { EngineCalls } from './calls.js';
import { explainContainerProblem } from './engine-errors.js';
import { isTorn, prepareEntries, type FedEntry, type PreparedEntry } from './tar-entries.js';
import { LIST_SCRIPT, parseListing, type Listed } from './list-tree.js';
import { BULK_READ_THRESHOLD } from './remote-read.js';
import { startRemoteWatch, type RemoteWatchHandle } from './remote-watch.js';
import { SessionDied, TarSession } from './tar-session.js';
import { StatSession } from './stat-session.js';
import { chooseTransport } from './transport.js';
import { execIO } from './exec-io.js';
import { ArchiveEndpoint } from './archive-endpoint.js';
import { chunkByBytes, ExecTools, MAX_ARGV_BYTES } from './exec-tools.js';
import { parseGroup, parsePasswd, resolveIds, type UserDb } from './users.js';

export interface ChannelOptions {
  calls: EngineCalls;
  ref: ContainerRef;
  info: ContainerInfo;
  /** The image has `sh` (even without rm). */
  hasSh: boolean;
  /** Send archives gzip-compressed (remote engines): the endpoint then takes every write. */
  compress: boolean;
  sessionTimeoutMs: number;
  log?: (line: string) => void;
  /**
   * Mount points of the container's tmpfs mounts. The archive endpoint works on the
   * container's filesystem as the engine sees it, where a tmpfs is not mounted: what it writes
   * there is hidden under the mount, and what it reads is not the tmpfs content. So paths on a
   * tmpfs are written, read, scanned and stat-ed only through execs of the image's own tools.
   */
  tmpfs?: string[];
  /**
   * The container was created and not started: no exec is possible, so deletions are returned
   * as deferred problems (the caller deletes them once the container runs).
   */
  notStarted?: boolean;
}

/**
 * Above this many paths, stat() asks the image's own `stat` in one exec (about 40-120 ms here)
 * rather than sending a HEAD request per path (8 at a time, 2-5 ms each).
 */
export const EXEC_STAT_MIN = 128;

/** A stat request unanswered this long (a paused container) goes to the endpoint instead. */
const STAT_SESSION_TIMEOUT_MS = 5000;
/** How long a listing started by prefetchListing may wait for its scanKnown. */
const EARLY_LISTING_MS = 10_000;

/** A directory as listings name it: normalized, without a trailing slash. */
const listedDir = (dir: string) => posix.normalize(dir).replace(/(.)\/+$/, '$1');
const listArgv = (dir: string) => ['sh', '-c', LIST_SCRIPT, 'sh', dir];

/** A listing of `dir` started at `at`, its output held in `out` until its scan reads it. */
interface EarlyListing {
  dir: string;
  at: number;
  out: PassThrough;
  done: Promise<{ exitCode: number }>;
}

/**
 * The ContainerChannel of one running container (see the port's contract). Writes and
 * deletions are serialized in call order; the exec tar session is opened on first use and
 * reopened when it died.
 */
export class DockerChannel implements ContainerChannel {
  readonly container: ContainerRef;
  readonly info: ContainerInfo;
  private readonly calls: EngineCalls;
  private session: TarSession | undefined;
  /** A listing started ahead of its scan (prefetchListing). */
  private early: EarlyListing | undefined;
  private opening: Promise<TarSession> | undefined;
  private userDb: Promise<UserDb> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** False once the image turned out to have no `stat`. */
  private execStat = true;
  /** The stat session (engine/stat-session.ts), opened on first use; false: none can run. */
  private statSession: StatSession | false | undefined;
  private statOpening: Promise<StatSession | null> | undefined;
  private readonly watches = new Set<RemoteWatchHandle>();

  /** The engine's archive endpoint and the image's own tools, for this container. */
  private readonly archive: ArchiveEndpoint;
  private readonly tools: ExecTools;

  constructor(private readonly opts: ChannelOptions) {
    this.calls = opts.calls;
    this.container = opts.ref;
    this.info = opts.info;
    this.archive = new ArchiveEndpoint(opts.calls, opts.ref, opts.compress);
    this.tools = new ExecTools(opts.calls, opts.ref);
  }

  /** Look up names in the container's /etc/passwd and /etc/group (read once, lazily). */
  loadUserDb(): Promise<UserDb> {
    this.userDb ??= Promise.all([
      this.readSmallFile('/etc/passwd'),
      this.readSmallFile('/etc/group'),
    ]).then(([passwd, group]) => ({
      passwd: parsePasswd(passwd ?? ''),
      group: parseGroup(group ?? ''),
    }));
    return this.userDb;
  }

  async resolveOwner(
    owner?: string | number,
    group?: string | number,
  ): Promise<{ uid: number; gid: number }> {
    if (owner === undefined && group === undefined)
      return { uid: this.info.uid, gid: this.info.gid };
    const db = await this.loadUserDb();
    if (owner === undefined) {
      const { gid } = resolveIds(db, 0, group, this.container.name);
      return { uid: this.info.uid, gid };
    }
    return resolveIds(db, owner, group, this.container.name);
  }

  write(
    entries: WriteEntry[],
    opts: { via?: 'auto' | 'archive' | 'tar-stream' } = {},
  ): Promise<WriteResult> {
    return this.serialized(async () =>
      this.removeTorn(await this.writeNow(entries, opts.via ?? 'auto')),
    ).then((r) => ({
      ...r,
      problems: explained(r.problems),
    }));
  }

  /**
   * Remove the torn copies a write left (files that changed while they were streamed), so that
   * the next change finds the path absent rather than holding content nobody wrote.
   */
  private async removeTorn(r: WriteResult): Promise<WriteResult> {
    const torn = r.problems.filter(isTorn);
    if (torn.length === 0) return r;
    const left = new Set((await this.removeNow(torn.map((p) => p.path))).map((p) => p.path));
    const note = ' (its partial copy was removed from the container)';
    return {
      ...r,
      problems: r.problems.map((p) =>
        isTorn(p) && !left.has(p.path) ? { ...p, message: p.message + note } : p,
      ),
    };
  }

  /** Which transport a batch takes (engine/transport.ts). */
  async pickTransport(
    prepared: PreparedEntry[],
    via: 'auto' | 'archive' | 'tar-stream',
  ): Promise<'archive' | 'tar-stream'> {
    return chooseTransport({
      tar: this.info.tar,
      via,
      onTmpfs: prepared.some((p) => this.onTmpfs(p.path)),
      linksOutside: prepared.some((p) => unsafeForBusybox(p.entry)),
      compress: this.opts.compress,
      entries: prepared.length,
      bytes: async () => {
        const sizes = await Promise.all(
          prepared.map(({ entry: e }) =>
            e.kind !== 'file'
              ? 0
              : e.content !== undefined
                ? e.content.length
                : stat(e.source!).then(
                    (st) => st.size,
                    () => 0, // the write reports it
                  ),
          ),
        );
        return sizes.reduce((a, b) => a + b, 0);
      },
    });
  }

  private async writeNow(
    entries: WriteEntry[],
    via: 'auto' | 'archive' | 'tar-stream',
  ): Promise<WriteResult> {
    this.assertOpen();
    const { prepared: all, problems } = prepareEntries(entries);
    let prepared = all;
    const tmpfs = prepared.some((p) => this.onTmpfs(p.path));
    if (tmpfs && this.info.tar === 'none') {
      for (const p of prepared.filter((p) => this.onTmpfs(p.path)))
        problems.push({
          path: p.path,
          message:
            'it is on a tmpfs mount, which the engine cannot write into from outside, and the image has no tar to write it from inside',
        });
      prepared = prepared.filter((p) => !this.onTmpfs(p.path));
    }
    if (prepared.length === 0) return result('archive', [], problems);
    if ((await this.pickTransport(prepared, via)) === 'tar-stream') {
      const streamable = await this.withoutDirsOverNonDirs(prepared, problems);
      try {
        const session = await this.tarSession();
        const r = await session.write(streamable);
        if (
          tmpfs &&
          this.info.tar === 'busybox' &&
          streamable.some((p) => unsafeForBusybox(p.entry))
        ) {
          // busybox tar creates links pointing outside only when it exits
          this.session = undefined;
          await session.close();
        }
        return result('tar-stream', r.confirmed, [...problems, ...r.problems], r.wireBytes);
      } catch (err) {
        // No exec can start in a paused container, but the endpoint writes into it: a session
        // that was not open yet when the container was paused (nothing had been streamed since
        // it started, as when its files went in before the start) must not fail the batch.
        const paused = !tmpfs && err instanceof Error && /is paused/i.test(err.message);
        if (paused) {
          this.opts.log?.(`engine: ${err.message}; writing through the archive endpoint`);
          const r = await this.archive.write(prepared);
          return result('archive', r.confirmed, [...problems, ...r.problems], r.wireBytes);
        }
        if (!(err instanceof SessionDied)) throw err;
        if (tmpfs) {
          // No fallback: the endpoint would write below the mount, where nobody sees it.
          this.opts.log?.(`engine: ${err.message}; sending the batch again entry by entry`);
          return this.writeOneByOne(streamable, problems);
        }
        // The batch is sent again as a whole: writes are idempotent.
        this.opts.log?.(`engine: ${err.message}; falling back to the archive endpoint`);
      }
    }
    const r = await this.archive.write(prepared);
    return result('archive', r.confirmed, [...problems, ...r.problems], r.wireBytes);
  }

  /**
   * After tar died in the middle of a batch (a full tmpfs: busybox tar exits on a write error),
   * each entry again in its own write, so one entry that cannot be written does not sink the
   * rest. The entry that kills tar again is a problem, and what tar left of it is removed: a
   * truncated file must not stay behind as if it were synced.
   */
  private async writeOneByOne(entries: PreparedEntry[], problems: Problem[]): Promise<WriteResult> {
    const confirmed: FedEntry[] = [];
    let wireBytes = 0;
    for (const p of entries) {
      try {
        const session = await this.tarSession();
        const r = await session.write([p]);
        confirmed.push(...r.confirmed);
        problems.push(...r.problems);
        wireBytes += r.wireBytes;
      } catch (err) {
        if (!(err instanceof SessionDied)) throw err;
        problems.push({ path: p.path, message: `not written: ${err.message}` });
        if (p.entry.kind === 'file') await this.removeNow([p.path]);
      }
    }
    return result('tar-stream', confirmed, problems, wireBytes);
  }

  /**
   * The endpoint refuses to turn a file (or symlink) into a directory; GNU tar would delete the
   * file and busybox tar would chmod it silently. So directory entries are checked first, and
   * those in the way of a non-directory become problems, as through the endpoint.
   */
  private async withoutDirsOverNonDirs(
    prepared: PreparedEntry[],
    problems: Problem[],
  ): Promise<PreparedEntry[]> {
    const dirs = prepared.filter((p) => p.entry.kind === 'dir');
    if (dirs.length === 0) return prepared;
    const st = await this.stat(dirs.map((p) => p.path));
    const blocked = new Set(
      dirs.filter((p) => {
        const s = st.get(p.path);
        return s != null && s.kind !== 'dir';
      }),
    );
    for (const p of blocked)
      problems.push({
        path: p.path,
        message: `cannot overwrite the ${st.get(p.path)!.kind} there with a directory (delete it first)`,
      });
    return blocked.size === 0 ? prepared : prepared.filter((p) => !blocked.has(p));
  }

  /**
   * The stat session, opened on first use and again after it died; null when none can run now
   * (no shell, a container not started or paused: the endpoint answers) or ever (no `stat`).
   */
  private async openStatSession(): Promise<StatSession | null> {
    if (this.statSession === false || !this.opts.hasSh || this.opts.notStarted) return null;
    if (this.statSession?.alive) return this.statSession;
    this.statOpening ??= StatSession.open(execIO(this.calls, this.container), this.container.name, {
      timeoutMs: Math.min(STAT_SESSION_TIMEOUT_MS, this.opts.sessionTimeoutMs),
    })
      .then((s) => {
        this.statSession = s;
        return s;
      })
      .catch((err: unknown) => {
        // the shell ran and exited before it was ready: the image has no stat
        if (err instanceof SessionDied) this.statSession = false;
        else this.statSession = undefined;
        return null;
      })
      .finally(() => {
        this.statOpening = undefined;
      });
    return this.statOpening;
  }

  private tarSession(): Promise<TarSession> {
    if (this.session?.alive) return Promise.resolve(this.session);
    this.opening ??= TarSession.open(execIO(this.calls, this.container), this.container.name, {
      flavour: this.info.tar === 'gnu' ? 'gnu' : 'busybox',
      shell: this.opts.hasSh,
      timeoutMs: this.opts.sessionTimeoutMs,
    })
      .then((s) => {
        this.session = s;
        return s;
      })
      .finally(() => {
        this.opening = undefined;
      });
    return this.opening;
  }

  remove(paths: string[]): Promise<Problem[]> {
    return this.serialized(() => this.removeNow(paths)).then(explained);
  }

  private async removeNow(paths: string[]): Promise<Problem[]> {
    this.assertOpen();
    if (this.opts.notStarted)
      return paths.map((path) => ({
        path,
        message: 'the container has not started yet: deleted once it runs',
        deferred: true,
      }));
    const problems: Problem[] = [];
    const targets: { path: string; norm: string }[] = [];
    for (const path of paths) {
      if (!posix.isAbsolute(path) || path.includes('\0')) {
        problems.push({ path, message: 'not an absolute container path; not deleted' });
        continue;
      }
      const norm = posix.normalize(path).replace(/(.)\/+$/, '$1');
      if (norm === '/') {
        problems.push({ path, message: 'refusing to delete the container root' });
        continue;
      }
      targets.push({ path, norm });
    }
    for (const chunk of chunkByBytes(targets, MAX_ARGV_BYTES)) {
      const r = await this.tools.rm(chunk.map((t) => t.norm));
      if (r.cannotStart) {
        for (const t of chunk)
          problems.push({
            path: t.path,
            message:
              'the image has no `rm`, so it cannot be deleted in the container (delete it by hand, or add rm to the image)',
          });
        continue;
      }
      if (r.exitCode === 0) continue;
      const left = await this.stat(chunk.map((t) => t.norm));
      const lines = r.output.split('\n').filter(Boolean);
      for (const t of chunk) {
        if (left.get(t.norm) === null) continue;
        const own = lines.filter((l) => l.includes(t.norm));
        problems.push({
          path: t.path,
          message: `rm failed (exit ${r.exitCode}): ${(own.length ? own : lines).join('; ') || 'no output'}`,
        });
      }
    }
    return problems;
  }

  async scan(dir: string): Promise<Tree | null> {
    this.assertOpen();
    if (!posix.isAbsolute(dir))
      throw new EngineError(`scan: not an absolute container path: ${dir}`);
    const norm = posix.normalize(dir).replace(/\/+$/, '');
    if (this.onTmpfs(norm || '/')) return this.tools.scanTar(norm);
    return this.archive.scan(norm, dir);
  }

  /**
   * Start the listing of `dir` that the next `scanKnown(dir, .., { early: true })` parses, so
   * the container's `find` runs while the caller does other work (loads the rule's state); its
   * output is held meanwhile. Within {@link EARLY_LISTING_MS} or not at all: a listing is a
   * snapshot of the container, and an old one must not stand in for a new one.
   */
  prefetchListing(dir: string): void {
    if (!this.opts.hasSh || this.onTmpfs(dir) || this.closed) return;
    this.takeEarlyListing(null);
    const norm = listedDir(dir);
    const out = new PassThrough({ highWaterMark: 64 << 20 });
    const done = this.tools.output(
      `list ${norm} (find, stat, started early)`,
      listArgv(norm),
      (s) => pipeline(s, out),
    );
    done.catch(() => out.destroy());
    this.early = { dir: norm, at: performance.now(), out, done };
  }

  /**
   * The listing prefetchListing started for `dir`, when it is fresh and `wanted`; any other one
   * is read to its end and dropped (its exec must not stay blocked on a full pipe).
   */
  private takeEarlyListing(dir: string | null, wanted = false): EarlyListing | undefined {
    const e = this.early;
    this.early = undefined;
    if (e && wanted && e.dir === dir && performance.now() - e.at < EARLY_LISTING_MS) return e;
    e?.out.resume();
    return undefined;
  }

  async scanKnown(
    dir: string,
    known: (rel: string) => KnownEntry | undefined,
    opts: { early?: boolean; beside?: StateTree } = {},
  ): Promise<Tree | null> {
    this.assertOpen();
    if (!this.opts.hasSh || this.onTmpfs(dir)) {
      this.takeEarlyListing(null);
      return this.scan(dir);
    }
    const norm = listedDir(dir);
    const early = this.takeEarlyListing(norm, opts.early);
    // a compact table (core/table.ts), each entry taken as it arrives
    const tree = new EntryTable({ beside: opts.beside });
    const unknown: string[] = [];
    const take = (e: Listed) => {
      const { rel, kind, mode } = e;
      const mtimeMs = e.mtime * 1000;
      if (kind === 'dir') {
        tree.setFields(rel, kind, 0, mtimeMs, mode);
        return;
      }
      const k = known(rel);
      // a symlink's size is the length of its text; the record keeps the text itself
      if (k === undefined || k.kind !== kind || k.rMtime !== e.mtime) unknown.push(rel);
      else if (kind === 'file' && k.rSize === e.size && k.hash !== undefined)
        tree.setFields(rel, kind, e.size, mtimeMs, mode, k.hash);
      else if (kind === 'symlink' && k.link !== undefined && Buffer.byteLength(k.link) === e.size)
        tree.setFields(rel, kind, 0, mtimeMs, mode, k.link);
      else unknown.push(rel);
    };
    let r: { value: boolean; exitCode: number };
    if (early) {
      const [value, listed] = await Promise.all([parseListing(early.out, take), early.done]);
      r = { value, exitCode: listed.exitCode };
    } else {
      r = await this.tools.output(`list ${norm} (find, stat)`, listArgv(norm), (out) =>
        parseListing(out, take),
      );
    }
    if (r.exitCode === 3) return null; // no such directory
    if (r.exitCode !== 0 || !r.value) return this.scan(dir); // no find or stat, or odd names
    // reading many paths costs one archive of the whole directory: that is a scan
    if (unknown.length > BULK_READ_THRESHOLD) return this.scan(dir);
    await this.read(norm, unknown, async (rel, entry, content) => {
      if (entry.kind !== 'file' || !content) {
        tree.set(rel, entry);
        return;
      }
      const { hash, size } = await hashChunks(content);
      tree.setFields(rel, 'file', size, entry.mtimeMs, entry.mode, hash);
    });
    return tree;
  }

  async stat(paths: string[]): Promise<Map<string, RemoteStat | null>> {
    this.assertOpen();
    // a stat session answers on an open stream (a name with a newline keeps the endpoint)
    if (paths.length && !paths.some((p) => p.includes('\n'))) {
      const session = await this.openStatSession();
      if (session) {
        try {
          const t0 = performance.now();
          const out = await session.stat(paths);
          const what = paths.length === 1 ? paths[0] : `${paths.length} paths`;
          this.opts.log?.(
            `engine: stat ${what} in ${this.container.name} (stat session, ${(performance.now() - t0).toFixed(1)} ms)`,
          );
          return out;
        } catch (err) {
          if (!(err instanceof SessionDied)) throw err;
          this.opts.log?.(`engine: ${err.message}; asking the archive endpoint`);
        }
      }
    }
    const out = new Map<string, RemoteStat | null>();
    const onTmpfs = paths.filter((p) => this.onTmpfs(p));
    if (onTmpfs.length) {
      for (const [p, st] of await this.tools.stat(onTmpfs)) out.set(p, st);
      paths = paths.filter((p) => !this.onTmpfs(p));
    }
    // stat prints a line per path: a name with a newline keeps the requests
    if (
      paths.length > EXEC_STAT_MIN &&
      this.opts.hasSh &&
      this.execStat &&
      !paths.some((p) => p.includes('\n'))
    ) {
      try {
        for (const [p, st] of await this.tools.stat(paths)) out.set(p, st);
        return out;
      } catch (err) {
        if (!(err instanceof EngineError)) throw err;
        this.execStat = false;
      }
    }
    await this.archive.stat(paths, out);
    return out;
  }

  read(
    dir: string,
    rels: string[],
    onEntry: (rel: string, entry: Entry, content: AsyncIterable<Buffer> | null) => Promise<void>,
  ): Promise<void> {
    this.assertOpen();
    if (this.onTmpfs(dir)) return this.tools.readTar(dir, rels, onEntry);
    return this.archive.read(dir, rels, onEntry);
  }

  async watchChanges(
    dir: string,
    opts: { intervalMs: number },
    onChange: (changes: { path: string; dir: boolean }[]) => void,
  ): Promise<(() => Promise<void>) | null> {
    this.assertOpen();
    if (!this.opts.hasSh) return null;
    const h = await startRemoteWatch(
      this.calls.docker,
      this.container.id,
      dir,
      opts.intervalMs,
      onChange,
    );
    if (!h) return null;
    this.watches.add(h);
    return async () => {
      this.watches.delete(h);
      await h.stop();
    };
  }

  /** True when a container path lies on one of the container's tmpfs mounts. */
  private onTmpfs(path: string): boolean {
    return (this.opts.tmpfs ?? []).some((m) => isInsideDir(posix.normalize(path), m));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const h of this.watches) await h.stop();
    this.watches.clear();
    this.closed = true;
    this.takeEarlyListing(null);
    await this.queue;
    await (this.opening?.catch(() => undefined) ?? Promise.resolve());
    await this.session?.close();
    this.session = undefined;
    await this.statOpening;
    if (this.statSession) this.statSession.close();
    this.statSession = undefined;
  }

  private assertOpen(): void {
    if (this.closed) throw new EngineError(`the channel into ${this.container.name} is closed`);
  }

  /** Writes and deletions apply in call order. */
  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Content of a small container file through the archive endpoint; null when missing. */
  private async readSmallFile(path: string): Promise<string | null> {
    const container = this.calls.docker.getContainer(this.container.id);
    return this.calls.callOrMissing(
      `read ${path} in ${this.container.name}`,
      this.container,
      async () => {
        const stream = await container.getArchive({ path });
        const extract = tar.extract();
        stream.on('error', (err: Error) => extract.destroy(err));
        stream.pipe(extract);
        let text = '';
        for await (const member of extract) {
          for await (const chunk of member as AsyncIterable<Buffer>)
            if (text.length < 4 * 1024 * 1024) text += chunk.toString('utf8');
        }
        return text;
      },
    );
  }
}

const explained = (problems: Problem[]): Problem[] =>
  problems.map((p) => ({ ...p, message: explainContainerProblem(p.message, p.path) }));

function result(
  via: WriteResult['via'],
  confirmed: FedEntry[],
  problems: Problem[],
  wireBytes = 0,
): WriteResult {
  const stats = new Map<string, { size: number; mtime: number; hash?: string }>();
  let bytes = 0;
  for (const f of confirmed) {
    if (f.entry.kind !== 'file') continue;
    bytes += f.size;
    // What the tar header carried: whole seconds, as tar-stream encodes them.
    const ms = Number.isFinite(f.entry.mtimeMs) ? Math.max(0, f.entry.mtimeMs) : 0;
    stats.set(f.path, { size: f.size, mtime: Math.floor(ms / 1000), hash: f.hash });
  }
  return { written: confirmed.length, bytes, problems, via, stats, wireBytes };
}

/** True when container path `p` is the directory `dir` or below it. */
function isInsideDir(p: string, dir: string): boolean {
  const d = dir.replace(/(.)\/+$/, '$1');
  return d === '/' || p === d || p.startsWith(d + '/');
}

function unsafeForBusybox(e: WriteEntry): boolean {
  return e.kind === 'symlink' && (e.link!.startsWith('/') || e.link!.includes('..'));
}
