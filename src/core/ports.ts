/**
 * The ports: what the session needs from the outside world, as interfaces. The adapters in
 * `engine/`, `compose/` and `watch/` implement them; `session/` wires them together; tests
 * may substitute them where the real thing cannot reproduce a case.
 */
import type { Entry, EntryKind, StateTree, Tree } from './tree.js';

// ---------------------------------------------------------------------------------------------
// Engine

/** A container of the compose project, as found by its compose labels. */
export interface ContainerRef {
  id: string;
  /** Container name without the leading '/', e.g. `proj-web-1`. */
  name: string;
  service: string;
  /** The container's ordinal among its service's replicas, from 1 (`web-1`, `web-2`). */
  replica: number;
  state: string;
  running: boolean;
}

/** One entry to write into a container. Paths are absolute container paths. */
export interface WriteEntry {
  path: string;
  kind: 'file' | 'dir' | 'symlink';
  /** Permission bits. */
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  /** Files: the absolute local path to read the content from at write time. */
  source?: string;
  /** Files: in-memory content, used instead of `source` when set. */
  content?: Buffer;
  /** Symlinks: the link text. */
  link?: string;
}

/** A per-path failure: reported to the user, never thrown. */
export interface Problem {
  path: string;
  message: string;
  /**
   * The operation waits for a later moment rather than failing: a deletion in a container that
   * was created and not started yet (only a running container can run `rm`).
   */
  deferred?: boolean;
}

export interface WriteResult {
  /** Entries confirmed written by the container. */
  written: number;
  bytes: number;
  /** Entries not written (local file vanished or unreadable, ...). */
  problems: Problem[];
  /**
   * The adapter's name for the transport that carried the batch, for logs and status (the
   * Docker adapter's: `archive`, its archive endpoint, or `tar-stream`, an exec'd tar).
   */
  via: string;
  /** Bytes sent to the engine for it: the tar stream, after gzip when compressed. */
  wireBytes?: number;
  /**
   * The size (bytes), whole-second mtime and, when known, content hash each written file has
   * in the container (the bytes sent, which may be newer than the scan that planned them).
   */
  stats: Map<string, { size: number; mtime: number; hash?: string }>;
}

/** What was last recorded at a container path (see {@link ContainerChannel.scanKnown}). */
export interface KnownEntry {
  kind: EntryKind;
  /** The container-side size recorded. */
  rSize: number;
  /** The container-side mtime recorded, whole seconds. */
  rMtime: number;
  hash?: string;
  link?: string;
}

export interface RemoteStat {
  kind: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  /** Whole seconds since the epoch. */
  mtime: number;
  mode: number;
}

/** What composync learned about a container when it attached. */
export interface ContainerInfo {
  workdir: string;
  /** The container's configured user as numeric ids (root when none is configured). */
  uid: number;
  gid: number;
  /** Which tar the image has, if any. */
  tar: 'gnu' | 'busybox' | 'none';
  /** The image has `sh` and `rm`. */
  shell: boolean;
  /**
   * Set for a container that was created and not started yet: only the archive endpoint
   * reaches it (exec needs a running container), so deletions wait until it runs, and its tmpfs
   * mounts (listed here) are not mounted yet: what is written there now would be hidden.
   */
  notStarted?: { tmpfs: string[] };
}

/**
 * A channel into one running container. Every write is confirmed by the container before its
 * promise resolves. Methods reject only on fatal errors (container gone, engine unreachable);
 * per-path failures are returned as problems.
 */
export interface ContainerChannel {
  readonly container: ContainerRef;
  readonly info: ContainerInfo;
  /** Resolve a user and group (names or ids) through the container's /etc/passwd and /etc/group. */
  resolveOwner(
    owner?: string | number,
    group?: string | number,
  ): Promise<{ uid: number; gid: number }>;
  /**
   * Write entries. `via: 'auto'` picks the transport by batch size (measured in the benchmarks,
   * see `TRANSPORT_THRESHOLDS` in engine/transport.ts): the exec tar stream for small batches
   * when the image has tar, the archive endpoint for many entries or large files (and for
   * images without tar). Parent directories missing in the container are created (root-owned,
   * 0755). A directory is never replaced by a file or the reverse: that entry is a problem
   * (delete it first).
   */
  write(
    entries: WriteEntry[],
    /** `via`: a transport of the adapter's to use (tests, benchmarks); default `auto`. */
    opts?: { via?: string },
  ): Promise<WriteResult>;
  /** `rm -rf -- paths` inside the container. Fails with a clear problem when the image has no rm. */
  remove(paths: string[]): Promise<Problem[]>;
  /**
   * Scan a container directory: every entry below it with content hashes for files (same hash
   * function as the local scan). Returns null when the directory does not exist. Needs no tools
   * in the image.
   */
  scan(dir: string): Promise<Tree | null>;
  /**
   * scan() of a directory whose entries were mostly recorded before: `known(rel)` tells what was
   * last recorded at a path below `dir`. A file or symlink whose kind, size and whole-second
   * mtime in the container still match takes the recorded hash or link text instead of being
   * read; only the others are read. It lists through the image's `find` and `stat` where it has
   * them (an accelerator: no content crosses the wire for unchanged files); otherwise, or when
   * much is unknown, it is scan(). With `early`, a listing of `dir` started moments before by
   * prefetchListing is the one parsed. `beside`, the state tree whose paths are the listed ones:
   * the tree is built aligned with it (a path's row and text are the state's; core/table.ts).
   */
  scanKnown(
    dir: string,
    known: (rel: string) => KnownEntry | undefined,
    opts?: { early?: boolean; beside?: StateTree },
  ): Promise<Tree | null>;
  /**
   * Start the listing of `dir` for the `scanKnown(dir, .., { early: true })` about to come, so
   * the container lists while the caller loads what the scan needs. Optional: without it, the
   * scan lists when it is asked.
   */
  prefetchListing?(dir: string): void;
  /** Stat absolute container paths; null for missing ones. */
  stat(paths: string[]): Promise<Map<string, RemoteStat | null>>;
  /**
   * Read entries below the container directory `dir` (paths relative to it): `onEntry` gets
   * each file, symlink or directory that exists, with a file's content as a stream that must be
   * consumed before the next entry comes. Missing paths are skipped. Needs no tools in the
   * image (archive endpoint): one call per path for a few, one archive of `dir` for many.
   */
  read(
    dir: string,
    rels: string[],
    onEntry: (rel: string, entry: Entry, content: AsyncIterable<Buffer> | null) => Promise<void>,
  ): Promise<void>;
  /**
   * Follow changes below `dir` from inside the container (an accelerator: it needs sh, find and
   * stat in the image). `onChange` gets absolute container paths whose metadata changed (a
   * directory's change stands for entries added or removed in it). Returns a stop function, or
   * null when the image lacks the tools (the caller then polls with `scan`).
   */
  watchChanges(
    dir: string,
    opts: { intervalMs: number },
    onChange: (changes: { path: string; dir: boolean }[]) => void,
  ): Promise<(() => Promise<void>) | null>;
  /** Close any open exec sessions. */
  close(): Promise<void>;
}

export interface EngineEvent {
  /**
   * What became of the container, in words every engine has: it runs (started, restarted by
   * its policy or by hand) or it no longer does (exited, killed, stopped, removed).
   */
  kind: 'started' | 'stopped';
  containerId: string;
  service: string;
  project: string;
}

export interface ExecResult {
  exitCode: number;
  output: string;
}

/** Which engine an Engine talks to (its /info), and how. */
export interface EngineIdentity {
  /** The engine's ID (`docker info --format '{{.ID}}'`): the same engine has the same ID. */
  id: string;
  name: string;
  version: string;
  /** Where it was reached: `unix:///var/run/docker.sock`, `tcp://host:2375`, `ssh://...`. */
  endpoint: string;
  /** The docker context the endpoint came from, if any. */
  context?: string;
  remote: boolean;
  /** Archives are gzip-compressed on the way to it. */
  compress: boolean;
}

export interface Engine {
  /** Verify the engine answers; throws EngineError with a hint when it does not. */
  ping(): Promise<void>;
  /** The engine's identity (one /info call); throws EngineError when it cannot be reached. */
  identity?(): Promise<EngineIdentity>;
  /** Containers of a project (all states), sorted by service then number. */
  listContainers(project: string, services?: string[]): Promise<ContainerRef[]>;
  /**
   * Open a channel into a running container; with `notStarted`, also into one that was created
   * and not started yet (see {@link ContainerInfo.notStarted}), so files are in place before
   * its process starts.
   */
  attach(container: ContainerRef, opts?: { notStarted?: boolean }): Promise<ContainerChannel>;
  /** Follow the engine's container events for a project until the returned function is called. */
  events(project: string, onEvent: (e: EngineEvent) => void): Promise<() => void>;
  restart(containerId: string): Promise<void>;
  kill(containerId: string, signal: string): Promise<void>;
  exec(
    containerId: string,
    command: string[],
    opts?: { user?: string; workdir?: string; env?: Record<string, string> },
  ): Promise<ExecResult>;
}

// ---------------------------------------------------------------------------------------------
// File watcher

export interface WatcherOptions {
  /** Use polling (filesystems without change events). */
  poll?: boolean;
  /** Called with an absolute path that was created, changed or removed (file or directory). */
  onChange(path: string): void;
  /** Non-fatal watcher errors (a directory vanished while being added, a watch limit hit). */
  onError(err: Error): void;
}

/**
 * Watches directory trees. Nothing backend-specific leaves it: callers see absolute paths only.
 * A change below a directory that appears later is reported too (new directories are watched
 * as they appear, and their contents reported).
 */
export interface Watcher {
  /**
   * Watch `root` recursively, skipping directories for which `ignored(absPath)` is true.
   * Resolves when the watches are in place.
   */
  add(root: string, ignored: (absPath: string) => boolean): Promise<void>;
  /** Re-walk a root after its ignore rules changed: watch directories that are no longer ignored. */
  refresh(root: string): Promise<void>;
  close(): Promise<void>;
}
