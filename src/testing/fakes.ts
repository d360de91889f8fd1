/**
 * In-memory stand-ins for the engine port and the watcher, for unit tests of the session loop
 * (as compose's watch tests drive their loop with a fake syncer and a fake clock). Not shipped.
 * The real engine is tested in test/; these reproduce what it cannot: a write held open for as
 * long as a test likes, a failure on a chosen path, a container starting at a chosen moment.
 */
import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Clock } from '../core/batcher.js';
import { hashBuffer } from '../core/hash.js';
import type {
  ContainerChannel,
  ContainerInfo,
  ContainerRef,
  Engine,
  EngineEvent,
  ExecResult,
  Problem,
  RemoteStat,
  Watcher,
  WriteEntry,
  WriteResult,
} from '../core/ports.js';
import type { Entry, Tree } from '../core/tree.js';

/** One container-side entry of a fake container. */
interface Node {
  kind: 'file' | 'dir' | 'symlink';
  content?: Buffer;
  link?: string;
  mtimeMs: number;
  mode: number;
}

/** A container whose file system is a map of absolute paths. */
export class FakeContainer implements ContainerChannel {
  readonly fs = new Map<string, Node>();
  readonly info: ContainerInfo = { workdir: '/', uid: 0, gid: 0, tar: 'busybox', shell: true };
  /** Called before each write lands; a test may hold the write open by returning a promise. */
  beforeWrite: (paths: string[]) => Promise<void> | void = () => undefined;
  /** Paths whose writes fail (reported as problems, the rest of the batch lands). */
  readonly failing = new Set<string>();
  /** The writes in order: the paths of each. */
  readonly writes: string[][] = [];
  /** The stat requests in order: the paths of each. */
  readonly stats: string[][] = [];
  /** The directories scanned whole, in order (a reconcile scans its target). */
  readonly scans: string[] = [];

  constructor(
    readonly container: ContainerRef,
    private readonly log: string[],
  ) {}

  resolveOwner() {
    return Promise.resolve({ uid: 0, gid: 0 });
  }

  async write(entries: WriteEntry[]): Promise<WriteResult> {
    const paths = entries.map((e) => e.path);
    this.writes.push(paths);
    this.log.push(`write ${this.container.name} ${paths.join(' ')}`);
    await this.beforeWrite(paths);
    const res: WriteResult = {
      written: 0,
      bytes: 0,
      problems: [],
      via: 'archive',
      stats: new Map(),
    };
    for (const e of entries) {
      if (this.failing.has(e.path)) {
        res.problems.push({ path: e.path, message: 'no space left on device' });
        continue;
      }
      for (let d = posix.dirname(e.path); d !== '/' && !this.fs.has(d); d = posix.dirname(d))
        this.fs.set(d, { kind: 'dir', mtimeMs: e.mtimeMs, mode: 0o755 });
      const content =
        e.kind === 'file'
          ? (e.content ?? (await readFile(e.source!).catch(() => null)))
          : undefined;
      if (e.kind === 'file' && !content) {
        res.problems.push({ path: e.path, message: 'vanished before it could be read' });
        continue;
      }
      this.fs.set(e.path, {
        kind: e.kind,
        content: content ?? undefined,
        link: e.link,
        mtimeMs: e.mtimeMs,
        mode: e.mode,
      });
      res.written++;
      if (content) {
        res.bytes += content.length;
        res.stats.set(e.path, {
          size: content.length,
          mtime: Math.floor(e.mtimeMs / 1000),
          hash: hashBuffer(content),
        });
      }
    }
    return res;
  }

  remove(paths: string[]): Promise<Problem[]> {
    this.log.push(`remove ${this.container.name} ${paths.join(' ')}`);
    for (const p of paths)
      for (const k of [...this.fs.keys()]) if (k === p || k.startsWith(p + '/')) this.fs.delete(k);
    return Promise.resolve([]);
  }

  private entry(n: Node): Entry {
    return {
      kind: n.kind,
      hash: n.content ? hashBuffer(n.content) : undefined,
      link: n.link,
      size: n.content?.length ?? 0,
      mtimeMs: n.mtimeMs,
      mode: n.mode,
    };
  }

  scan(dir: string): Promise<Tree | null> {
    this.scans.push(dir);
    if (dir !== '/' && !this.fs.has(dir)) return Promise.resolve(null);
    const out: Tree = new Map();
    const prefix = dir === '/' ? '/' : dir + '/';
    for (const [k, n] of this.fs)
      if (k.startsWith(prefix)) out.set(k.slice(prefix.length), this.entry(n));
    return Promise.resolve(out);
  }

  scanKnown(dir: string): Promise<Tree | null> {
    return this.scan(dir);
  }

  stat(paths: string[]): Promise<Map<string, RemoteStat | null>> {
    this.stats.push(paths);
    const out = new Map<string, RemoteStat | null>();
    for (const p of paths) {
      const n = this.fs.get(p);
      out.set(
        p,
        n
          ? {
              kind: n.kind,
              size: n.content?.length ?? 0,
              mtime: Math.floor(n.mtimeMs / 1000),
              mode: n.mode,
            }
          : null,
      );
    }
    return Promise.resolve(out);
  }

  async read(
    dir: string,
    rels: string[],
    onEntry: (rel: string, entry: Entry, content: AsyncIterable<Buffer> | null) => Promise<void>,
  ): Promise<void> {
    for (const rel of rels) {
      const n = this.fs.get(posix.join(dir, rel));
      if (!n) continue;
      const content = n.content;
      await onEntry(
        rel,
        this.entry(n),
        content
          ? (async function* () {
              yield content;
            })()
          : null,
      );
    }
  }

  watchChanges(): Promise<null> {
    return Promise.resolve(null);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** The content of a container file, or undefined. */
  text(path: string): string | undefined {
    return this.fs.get(path)?.content?.toString();
  }
}

/** An engine with fake containers; every call it gets is appended to `log`. */
export class FakeEngine implements Engine {
  readonly log: string[] = [];
  readonly containers = new Map<string, FakeContainer>();
  private listeners: ((e: EngineEvent) => void)[] = [];
  /** Exit code of exec calls. */
  execExit = 0;

  /** A running container of `service` (its id and name derive from the number). */
  add(project: string, service: string, number = 1): FakeContainer {
    const ref: ContainerRef = {
      id: `${service}-${number}-id`,
      name: `${project}-${service}-${number}`,
      service,
      replica: number,
      state: 'running',
      running: true,
    };
    const c = new FakeContainer(ref, this.log);
    this.containers.set(ref.id, c);
    return c;
  }

  /** Tell the session's event listener that a container started. */
  emit(e: EngineEvent): void {
    for (const l of this.listeners) l(e);
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  listContainers(project: string, services?: string[]): Promise<ContainerRef[]> {
    return Promise.resolve(
      [...this.containers.values()]
        .map((c) => c.container)
        .filter((r) => !services?.length || services.includes(r.service)),
    );
  }

  attach(ref: ContainerRef): Promise<ContainerChannel> {
    return Promise.resolve(this.containers.get(ref.id)!);
  }

  events(_project: string, onEvent: (e: EngineEvent) => void): Promise<() => void> {
    this.listeners.push(onEvent);
    return Promise.resolve(() => {
      this.listeners = this.listeners.filter((l) => l !== onEvent);
    });
  }

  restart(id: string): Promise<void> {
    this.log.push(`restart ${this.containers.get(id)?.container.name}`);
    return Promise.resolve();
  }

  kill(id: string, signal: string): Promise<void> {
    this.log.push(`kill ${this.containers.get(id)?.container.name} ${signal}`);
    return Promise.resolve();
  }

  exec(
    id: string,
    command: string[],
    opts?: { env?: Record<string, string> },
  ): Promise<ExecResult> {
    this.log.push(
      `exec ${this.containers.get(id)?.container.name} ${command.join(' ')} [${(opts?.env?.COMPOSYNC_CHANGED_FILES ?? '').split('\n').join(',')}]`,
    );
    return Promise.resolve({ exitCode: this.execExit, output: '' });
  }
}

/** A watcher the test drives: `change(abs)` reports a path as the real one would. */
export class FakeWatcher implements Watcher {
  readonly roots: string[] = [];
  constructor(readonly change: (abs: string) => void) {}
  add(root: string): Promise<void> {
    this.roots.push(root);
    return Promise.resolve();
  }
  refresh(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A clock whose time moves only when the test says so. */
export class ManualClock implements Clock {
  private t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private seq = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }
  /** Move time on, firing the timers that fall due, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}
