/**
 * One sync rule bound to one container: initial reconcile and watch batches. Reads both sides,
 * asks the pure planner what to do, applies it through the container channel, and records the
 * agreed state. Per-path failures come back as data in the report; only a lost container or
 * engine rejects.
 */
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { isInside, fromContainerRel, resolveTarget, toContainerPath } from '../core/paths.js';
import {
  countDeletes,
  planSync,
  rawPlan,
  restrictPlan,
  type Conflict,
  type Plan,
} from '../core/reconcile.js';
import { posix } from 'node:path';
import { removeLocal, writeLocal } from './local-writer.js';
import type { SyncModel, SyncRule } from '../core/model.js';
import type { ContainerChannel, Problem, RemoteStat, WriteEntry } from '../core/ports.js';
import {
  dirsWithEntries,
  parentsOf,
  type Entry,
  type StateEntry,
  type StateTree,
  type Tree,
} from '../core/tree.js';
import { hashChunks } from '../core/hash.js';
import { hashFile, readLocalPaths, scanLocal, type LocalFilter } from './local-tree.js';
import { loadState, saveStateNow, saveStateSoon, type RuleState } from './state-store.js';
import { paths as files } from './files.js';

/** Filter of a rule, by direction (implemented by core/ignore's PathFilter). */
export interface RuleFilter {
  excluded(rel: string, isDir: boolean, direction: 'up' | 'down'): boolean;
  /** Excluded in both directions (one evaluation of what the directions share). */
  excludedBoth(rel: string, isDir: boolean): boolean;
  canSkipDir(rel: string): boolean;
}

export interface SyncReport {
  rule: string;
  container: string;
  /** Entries written into the container. */
  uploaded: number;
  bytes: number;
  /** Container paths removed. */
  deleted: number;
  /** Entries written locally (files, links, directories) and bytes of file content. */
  downloaded: number;
  downloadedBytes: number;
  /** Local paths removed. */
  deletedLocal: number;
  conflicts: Conflict[];
  problems: Problem[];
  ms: number;
  via?: 'archive' | 'tar-stream';
  /** Bytes sent to the engine for the uploads (after gzip on remote engines). */
  wireBytes?: number;
  /** Container paths written or deleted (for exec triggers). */
  changedPaths: string[];
  plan: Plan;
}

/**
 * A changed file above this size is sent before it is hashed (the send hashes what it sends):
 * reading a 1 GB file once to hash it and once to send it took 1.3x a raw copy (bench/ F1).
 */
const DEFER_HASH_OVER = 8 * 1024 * 1024;

/** A batch above this many paths reads the container side with one scan instead of stats. */
const STAT_LIMIT = 128;
/** The same where the image has a shell: the channel then stats many paths in one exec. */
const STAT_LIMIT_SHELL = 4096;

/** The delete guard ignores batches deleting fewer entries than this (normal edits). */
export const GUARD_MIN_ENTRIES = 10;

export interface ApplyOptions {
  /** Apply deletions even past the delete guard (an explicit command the user asked for). */
  force?: boolean;
  /** Write the state within a second instead of at once (watch batches: bursts share a write). */
  deferSave?: boolean;
}

export class RuleSync {
  readonly targetAbs: string;
  private state: RuleState = { tree: new Map(), conflicts: [], unsure: new Set() };
  private owner = { uid: 0, gid: 0 };
  private readonly statePath: string;

  constructor(
    readonly rule: SyncRule,
    readonly channel: ContainerChannel,
    readonly model: SyncModel,
    readonly filter: RuleFilter,
  ) {
    this.targetAbs = resolveTarget(rule.target, channel.info.workdir);
    this.statePath = files.state(model.projectDir, rule.id, channel.container.name);
  }

  get localFilter(): LocalFilter {
    return {
      excluded: (rel, isDir) => this.filter.excludedBoth(rel, isDir),
      canSkipDir: (rel) => this.filter.canSkipDir(rel),
      symlinks: this.rule.symlinks,
    };
  }

  get base(): StateTree {
    return this.state.tree;
  }

  get conflicts(): Conflict[] {
    return this.state.conflicts;
  }

  async open(): Promise<void> {
    // `target: .` with an image whose WORKDIR is / (the config refuses an explicit root)
    if (this.targetAbs === '/')
      throw new Error(
        `rule ${this.rule.id}: its target resolves to the container root in ${this.channel.container.name}; refusing to sync there (name a directory below it)`,
      );
    this.state = await loadState(this.statePath, {
      target: this.targetAbs,
      containerId: this.channel.container.id,
      rule: this.rule.id,
      container: this.channel.container.name,
    });
    this.owner =
      this.rule.owner !== undefined || this.rule.group !== undefined
        ? await this.channel.resolveOwner(this.rule.owner, this.rule.group)
        : { uid: this.channel.info.uid, gid: this.channel.info.gid };
  }

  /** Scan the container side of the rule, as rule-relative entries the rule covers. */
  async scanRemote(): Promise<Tree> {
    const out: Tree = new Map();
    if (this.rule.kind === 'file') {
      const st = (await this.channel.stat([this.targetAbs])).get(this.targetAbs);
      if (!st || st.kind === 'dir' || st.kind === 'other') return out;
      const t = await this.channel.scan(this.targetAbs);
      const e = t?.get('') ?? (t && t.size === 1 ? [...t.values()][0] : undefined);
      if (e && this.rule.only) out.set(this.rule.only, e);
      return out;
    }
    // what the state recorded spares reading the files that did not change since
    const tree = await this.channel.scanKnown(this.targetAbs, (remoteRel) => {
      const rel = fromContainerRel(this.rule, remoteRel);
      const b = rel ? this.state.tree.get(rel) : undefined;
      return b && { kind: b.kind, size: b.rSize, mtime: b.rMtime, hash: b.hash, link: b.link };
    });
    if (!tree) return out;
    for (const [remoteRel, e] of tree) {
      const rel = fromContainerRel(this.rule, remoteRel);
      if (rel === null || rel === '') continue;
      if (this.filter.excludedBoth(rel, e.kind === 'dir')) continue;
      out.set(rel, e);
    }
    return out;
  }

  private noUp = (rel: string) => this.filter.excluded(rel, false, 'up');
  private noDown = (rel: string) => this.filter.excluded(rel, false, 'down');

  /** Scan the local side of the whole rule (may be shared between the rule's containers). */
  scanLocal(opts: { deferHashNew?: boolean } = {}): Promise<{ tree: Tree; problems: Problem[] }> {
    return scanLocal(this.rule.root, this.localFilter, this.state.tree, opts);
  }

  /**
   * Hash the local files left unhashed that may equal their container counterpart: only a
   * container file of the same size can. The others differ whatever their bytes and are sent
   * unhashed (the send hashes what it sends).
   */
  private async hashWhereNeeded(local: Tree, remote: Tree): Promise<void> {
    for (const [rel, e] of local) {
      const r = remote.get(rel);
      if (e.kind === 'file' && e.hash === undefined && r?.kind === 'file' && r.size === e.size)
        e.hash = await hashFile(join(this.rule.root, rel), e.size).catch(() => undefined);
    }
  }

  /**
   * Initial sync: reconcile the whole rule with its strategy. `local` may be passed in when
   * the caller scanned it once for several containers.
   */
  async initialSync(
    opts: { dryRun?: boolean; local?: { tree: Tree; problems: Problem[] } } & ApplyOptions = {},
  ): Promise<SyncReport> {
    const t0 = performance.now();
    // both sides at once: the container lists its side while the local tree is walked; a
    // file new to the state is hashed only if the container has one of its size (an initial
    // copy into an empty target reads each file once, to send it)
    const [local, remote] = await Promise.all([
      opts.local ?? this.scanLocal({ deferHashNew: true }),
      this.scanRemote(),
    ]);
    await this.hashWhereNeeded(local.tree, remote);
    const plan = planSync({
      local: local.tree,
      remote,
      base: this.state.tree,
      mode: this.rule.mode,
      strategy: this.rule.initialSync,
      noUp: this.noUp,
      noDown: this.noDown,
      unsure: this.state.unsure,
    });
    if (opts.dryRun) return this.report(plan, t0, local.problems);
    return this.apply(plan, local.tree, remote, null, local.problems, t0, opts);
  }

  /**
   * `push` / `pull`: stateful by default (a two-way-safe reconcile against the recorded state,
   * restricted to the asked directions: conflicts are reported and both versions kept); `raw`
   * overwrites the other side with every entry of this one and deletes nothing.
   */
  async transfer(
    kind: 'push' | 'pull',
    opts: { raw?: boolean; skipPull?: boolean; dryRun?: boolean } & ApplyOptions = {},
  ): Promise<SyncReport> {
    const t0 = performance.now();
    const local = await this.scanLocal();
    const remote = await this.scanRemote();
    let plan: Plan;
    if (opts.raw) {
      plan =
        kind === 'push' ? rawPlan(local.tree, remote, 'up') : rawPlan(remote, local.tree, 'down');
    } else {
      const full = planSync({
        local: local.tree,
        remote,
        base: this.state.tree,
        mode: 'two-way-safe',
        noUp: this.noUp,
        noDown: this.noDown,
        unsure: this.state.unsure,
      });
      plan = restrictPlan(full, {
        up: kind === 'push',
        down: kind === 'pull' || !opts.skipPull,
      });
    }
    if (opts.dryRun) return this.report(plan, t0, local.problems);
    return this.apply(
      plan,
      local.tree,
      remote,
      opts.raw ? new Set() : null,
      local.problems,
      t0,
      opts,
    );
  }

  /**
   * A watch batch: `changed` are rule-relative paths reported by the watcher. `local` may be
   * passed in when the caller read it once for several containers.
   */
  async applyBatch(
    changed: Set<string>,
    opts: { remoteDirs?: Set<string>; remoteFiles?: Set<string> } = {},
  ): Promise<SyncReport> {
    const t0 = performance.now();
    // a directory that changed in the container: its entries may have been added or removed
    // (one pass over the state for all of them: posix.dirname of a top-level path is '.')
    const dirs = opts.remoteDirs ?? new Set<string>();
    if (dirs.size) {
      for (const d of dirs) changed.add(d);
      for (const k of this.state.tree.keys()) {
        const parent = posix.dirname(k);
        if (dirs.has(parent === '.' ? '' : parent)) changed.add(k);
      }
    }
    changed.delete('');
    const l = await this.readLocal(changed);
    const base: StateTree = new Map();
    for (const p of l.covered) {
      const b = this.state.tree.get(p);
      if (b) base.set(p, b);
    }
    const remote = await this.readRemote(l.covered, l.tree, opts.remoteFiles);
    await this.hashWhereNeeded(l.tree, remote);
    const plan = planSync({
      local: l.tree,
      remote,
      base,
      mode: this.rule.mode,
      noUp: this.noUp,
      noDown: this.noDown,
      unsure: this.state.unsure,
    });
    return this.apply(plan, l.tree, remote, l.covered, l.problems, t0, { deferSave: true });
  }

  readLocal(changed: Set<string>) {
    return readLocalPaths(this.rule.root, this.localFilter, this.state.tree, changed, {
      deferHashOver: DEFER_HASH_OVER,
      // a file new to the state is sent whatever its bytes (unless the container has one of
      // its size, hashed below): the send hashes what it sends
      deferHashNew: true,
    });
  }

  /**
   * The container side of the covered paths. Replica mode trusts the state (it overwrites
   * whatever is there); the other modes look, so a container edit is never overwritten blindly:
   * a file whose size and mtime still match what was last written counts as unchanged, unless
   * the container-side watcher (`reported`), whose listing has sub-second mtimes, saw it change:
   * a rewrite of the same size within the same second then has its content read and compared.
   */
  private async readRemote(
    covered: Set<string>,
    local?: Tree,
    reported?: Set<string>,
  ): Promise<Tree> {
    const remote: Tree = new Map();
    const fromState = (b: StateEntry): Entry => ({
      kind: b.kind,
      hash: b.hash,
      link: b.link,
      size: b.rSize,
      mtimeMs: b.rMtime * 1000,
      mode: 0,
    });
    let toStat = covered;
    if (this.rule.mode === 'one-way-replica') {
      // the state stands for the container, except for a path it does not know that is gone
      // locally: a write may have landed although its file vanished while it was sent, and
      // only a look tells whether a copy must be removed
      toStat = new Set();
      for (const p of covered) {
        const b = this.state.tree.get(p);
        if (b) remote.set(p, fromState(b));
        else if (local && !local.has(p)) toStat.add(p);
      }
      if (toStat.size === 0) return remote;
    }
    const stats = await this.statCovered(toStat);
    if (!stats) {
      const all = await this.scanRemote();
      for (const p of toStat) {
        const e = all.get(p);
        if (e) remote.set(p, e);
      }
      return remote;
    }
    const recheck = new Map<string, RemoteStat>();
    for (const [rel, st] of stats) {
      if (!st || st.kind === 'other') continue;
      const b = this.state.tree.get(rel);
      const unchanged =
        b &&
        b.kind === st.kind &&
        (st.kind !== 'file' || (b.rSize === st.size && b.rMtime === st.mtime));
      if (unchanged) {
        remote.set(rel, fromState(b));
        if (st.kind === 'file' && reported?.has(rel)) recheck.set(rel, st);
      } else if (st.kind === 'dir') {
        remote.set(rel, { kind: 'dir', size: 0, mtimeMs: st.mtime * 1000, mode: st.mode });
      } else {
        // changed in the container: content unknown, so it equals neither side
        remote.set(rel, {
          kind: st.kind,
          hash: `container:${st.size}:${st.mtime}`,
          link: st.kind === 'symlink' ? `container:${st.mtime}` : undefined,
          size: st.size,
          mtimeMs: st.mtime * 1000,
          mode: st.mode,
        });
      }
    }
    if (recheck.size) {
      for (const [rel, hash] of await this.containerHashes([...recheck.keys()])) {
        const st = recheck.get(rel)!;
        if (hash !== remote.get(rel)?.hash)
          remote.set(rel, {
            kind: 'file',
            hash,
            size: st.size,
            mtimeMs: st.mtime * 1000,
            mode: st.mode,
          });
      }
    }
    return remote;
  }

  /** Content hashes of container files (rule-relative paths); a path that cannot be read is left out. */
  private async containerHashes(rels: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    await this.readContainer(rels, async (rel, entry, content) => {
      if (entry.kind !== 'file' || !content) return;
      out.set(rel, (await hashChunks(content)).hash);
    });
    return out;
  }

  /**
   * Read container entries of the rule (rule-relative paths), one read per container
   * directory they lie in; `onEntry` gets each one found with its rule-relative path.
   */
  private async readContainer(
    rels: string[],
    onEntry: (rel: string, entry: Entry, content: AsyncIterable<Buffer> | null) => Promise<void>,
  ): Promise<void> {
    const byDir = new Map<string, Map<string, string>>();
    for (const rel of rels) {
      const loc = this.readLocation(rel);
      if (!loc) continue;
      if (!byDir.has(loc.dir)) byDir.set(loc.dir, new Map());
      byDir.get(loc.dir)!.set(loc.sub, rel);
    }
    for (const [dir, subs] of byDir) {
      await this.channel.read(dir, [...subs.keys()], async (sub, entry, content) => {
        const rel = subs.get(sub);
        if (rel !== undefined) await onEntry(rel, entry, content);
      });
    }
  }

  /**
   * Container stats of the covered paths, asked from the top down: what lies below a path the
   * container lacks (a new directory) is absent too, without a request, so a burst of files in
   * new directories costs one request per new top directory. Null when more paths than the
   * limit would need a stat: one scan is cheaper then.
   */
  private async statCovered(covered: Set<string>): Promise<Map<string, RemoteStat | null> | null> {
    const cpOf = new Map<string, string>();
    for (const rel of covered) {
      const cp = toContainerPath(this.rule, this.targetAbs, rel);
      if (cp) cpOf.set(rel, cp);
    }
    const children = new Map<string, string[]>();
    let level: string[] = [];
    for (const [rel, cp] of cpOf) {
      const parent = posix.dirname(rel);
      const parentCp = cpOf.get(parent);
      // descend only where the container paths nest as the local ones do
      if (parentCp !== undefined && posix.dirname(cp) === parentCp) {
        if (!children.has(parent)) children.set(parent, []);
        children.get(parent)!.push(rel);
      } else level.push(rel);
    }
    const out = new Map<string, RemoteStat | null>();
    // With a shell, one exec answers any number of paths for about the price of one: below the
    // top directories that exist, everything is asked at once rather than level by level (a
    // burst into directories an earlier batch created cost an exec per level).
    const flat = this.channel.info.shell;
    const below = (rel: string): string[] =>
      (children.get(rel) ?? []).flatMap((c) => [c, ...below(c)]);
    let budget = flat ? STAT_LIMIT_SHELL : STAT_LIMIT;
    let descended = false;
    while (level.length) {
      if (level.length > budget) return null;
      budget -= level.length;
      const stats = await this.channel.stat(level.map((rel) => cpOf.get(rel)!));
      const next: string[] = [];
      for (const rel of level) {
        const st = stats.get(cpOf.get(rel)!) ?? null;
        out.set(rel, st);
        if (st?.kind === 'dir' && !(flat && descended))
          next.push(...(flat ? below(rel) : (children.get(rel) ?? [])));
      }
      descended = true;
      level = next;
    }
    return out;
  }

  private report(plan: Plan, t0: number, problems: Problem[]): SyncReport {
    return {
      rule: this.rule.id,
      container: this.channel.container.name,
      uploaded: 0,
      bytes: 0,
      deleted: 0,
      downloaded: 0,
      downloadedBytes: 0,
      deletedLocal: 0,
      conflicts: plan.conflicts,
      problems,
      ms: performance.now() - t0,
      changedPaths: [],
      plan,
    };
  }

  private async apply(
    plan: Plan,
    local: Tree,
    remote: Tree,
    covered: Set<string> | null,
    localProblems: Problem[],
    t0: number,
    opts: ApplyOptions = {},
  ): Promise<SyncReport> {
    const rep = this.report(plan, t0, [...localProblems]);
    const tree = this.state.tree;
    const unsure = (this.state.unsure ??= new Set());
    // whether this reconcile changed the state: a no-change sync leaves the file alone
    let changed = false;
    // Forget what the state has at or below each of `rels`, in one pass over the state (a
    // pass per path made deleting many directories quadratic in the size of the state).
    const forget = (rels: string[]) => {
      if (rels.length === 0) return;
      const gone = new Set(rels);
      const all = gone.has('');
      const hit = (k: string) => all || gone.has(k) || parentsOf(k).some((d) => gone.has(d));
      for (const k of tree.keys()) if (hit(k)) changed = tree.delete(k) || changed;
      for (const k of unsure) if (hit(k)) changed = unsure.delete(k) || changed;
    };
    const record = (rel: string, e: StateEntry) => {
      tree.set(rel, e);
      unsure.delete(rel);
      changed = true;
    };
    // the state's directories with entries below them, built on first use: a burst of new
    // directories then costs a lookup each instead of a pass over the whole state each
    let parents: Set<string> | null = null;
    const recordedAtOrBelow = (rel: string) =>
      tree.has(rel) || (parents ??= dirsWithEntries(tree.keys())).has(rel);
    if (!opts.force) this.guard(plan, local, remote, rep);

    // deletions first: a kind change removes the old entry before the new one is written
    if (plan.deleteRemote.length) {
      const targets: string[] = [];
      const relOf = new Map<string, string>();
      for (const rel of plan.deleteRemote) {
        const cp = toContainerPath(this.rule, this.targetAbs, rel);
        if (cp && cp !== this.targetAbs && isInside(cp, this.targetAbs)) {
          targets.push(cp);
          relOf.set(cp, rel);
        }
      }
      const problems = await this.channel.remove(targets);
      const failed = new Set(problems.map((p) => p.path));
      const removed: string[] = [];
      for (const cp of targets) {
        if (failed.has(cp)) continue;
        removed.push(relOf.get(cp)!);
        rep.deleted++;
        rep.changedPaths.push(cp);
      }
      forget(removed);
      rep.problems.push(...problems);
    }

    if (plan.upload.length) {
      const entries: WriteEntry[] = [];
      const relOf = new Map<string, string>();
      for (const rel of plan.upload) {
        const e = local.get(rel);
        const cp = toContainerPath(this.rule, this.targetAbs, rel);
        if (!e || !cp) continue;
        relOf.set(cp, rel);
        entries.push({
          path: cp,
          kind: e.kind,
          mode:
            e.kind === 'dir'
              ? (this.rule.dirMode ?? e.mode)
              : e.kind === 'file'
                ? (this.rule.fileMode ?? e.mode)
                : 0o777,
          uid: this.owner.uid,
          gid: this.owner.gid,
          mtimeMs: e.mtimeMs,
          source: e.kind === 'file' ? join(this.rule.root, rel) : undefined,
          link: e.link,
        });
      }
      // until the container confirms, an entry may or may not have landed: if the write dies
      // with the container, what it holds there is taken for this write, not for an edit
      const res = await this.channel.write(entries, { via: 'auto' }).catch(async (err) => {
        for (const rel of relOf.values()) unsure.add(rel);
        await this.save().catch(() => undefined);
        throw err;
      });
      rep.via = res.via;
      rep.bytes += res.bytes;
      rep.wireBytes = (rep.wireBytes ?? 0) + (res.wireBytes ?? 0);
      const failed = new Set(res.problems.map((p) => p.path));
      for (const w of entries) {
        const rel = relOf.get(w.path)!;
        if (failed.has(w.path)) {
          unsure.add(rel);
          changed = true;
          continue;
        }
        const e = local.get(rel)!;
        const st = res.stats.get(w.path);
        if (e.kind === 'dir' && remote.get(rel)?.kind !== 'dir' && recordedAtOrBelow(rel))
          forget([rel]);
        record(rel, {
          kind: e.kind,
          // what the container got: the file may have changed since it was hashed
          hash: st?.hash ?? e.hash,
          link: e.link,
          lSize: e.size,
          lMtimeMs: e.mtimeMs,
          rSize: st?.size ?? e.size,
          rMtime: st?.mtime ?? Math.floor(e.mtimeMs / 1000),
        });
        if (e.kind !== 'dir') rep.uploaded++;
        rep.changedPaths.push(w.path);
      }
      rep.problems.push(
        ...res.problems.map((p) => ({ path: relOf.get(p.path) ?? p.path, message: p.message })),
      );
    }

    for (const rel of plan.agreed) {
      const l = local.get(rel)!;
      const r = remote.get(rel)!;
      const prev = tree.get(rel);
      // an entry rebuilt from the state carries the recorded container stat
      const rMtime =
        prev && r.mtimeMs === prev.rMtime * 1000 ? prev.rMtime : Math.floor(r.mtimeMs / 1000);
      // unchanged since the last sync (most paths of a reconcile): the record stays as it is
      if (
        prev &&
        !unsure.has(rel) &&
        prev.kind === l.kind &&
        prev.hash === l.hash &&
        prev.link === l.link &&
        prev.lSize === l.size &&
        prev.lMtimeMs === l.mtimeMs &&
        prev.rSize === r.size &&
        prev.rMtime === rMtime
      )
        continue;
      record(rel, {
        kind: l.kind,
        hash: l.hash,
        link: l.link,
        lSize: l.size,
        lMtimeMs: l.mtimeMs,
        rSize: r.size,
        rMtime,
      });
    }
    for (const rel of plan.gone) {
      changed = tree.delete(rel) || changed;
      changed = unsure.delete(rel) || changed;
    }

    // conflicts: a full reconcile replaces them; a batch updates the paths it covered
    const kept = covered
      ? this.state.conflicts.filter((c) => !covered.has(c.path))
      : ([] as Conflict[]);
    const conflicts = [...kept, ...plan.conflicts];
    const before = this.state.conflicts;
    if (
      conflicts.length !== before.length ||
      conflicts.some((c, i) => c.path !== before[i]!.path || c.reason !== before[i]!.reason)
    )
      changed = true;
    this.state.conflicts = conflicts;
    rep.conflicts = plan.conflicts;

    const removedLocal: string[] = [];
    for (const rel of plan.deleteLocal) {
      const problem = await removeLocal(this.rule.root, rel);
      if (problem) rep.problems.push(problem);
      else {
        removedLocal.push(rel);
        rep.deletedLocal++;
      }
    }
    forget(removedLocal);
    if (plan.download.length) {
      await this.download(plan.download, remote, rep);
      changed = true;
    }
    // unless the file holds this state already (or a write of it is pending): nothing changed
    if (changed || !this.state.stored) {
      if (opts.deferSave) saveStateSoon(this.statePath, this.stateMeta, this.state);
      else await this.save();
    }
    rep.ms = performance.now() - t0;
    return rep;
  }

  /**
   * The delete guard: a plan that would delete more than `deleteGuard` of a side's entries (and
   * at least GUARD_MIN_ENTRIES) keeps those deletions back and reports a problem instead.
   */
  private guard(plan: Plan, local: Tree, remote: Tree, rep: SyncReport): void {
    const share = this.deleteGuard;
    if (share >= 1) return;
    const n = countDeletes(plan, local, remote);
    const total = Math.max(this.state.tree.size, local.size, remote.size);
    const over = (count: number) => count >= GUARD_MIN_ENTRIES && count > share * total;
    const pct = Math.round(share * 100);
    if (over(n.remote)) {
      rep.problems.push({
        path: this.targetAbs,
        message: `would delete ${n.remote} of ${total} entries in the container (more than the deleteGuard of ${pct}%): paused, nothing deleted there. If that is what you want, run \`composync sync --force\` or raise deleteGuard.`,
      });
      plan.deleteRemote = [];
    }
    if (over(n.local)) {
      rep.problems.push({
        path: this.rule.root,
        message: `would delete ${n.local} of ${total} local entries (more than the deleteGuard of ${pct}%): paused, nothing deleted locally. If that is what you want, run \`composync sync --force\` or raise deleteGuard.`,
      });
      plan.deleteLocal = [];
    }
  }

  /** Container path → where it is read from: the rule's target directory and the path below it. */
  private readLocation(rel: string): { dir: string; sub: string } | null {
    const cp = toContainerPath(this.rule, this.targetAbs, rel);
    if (!cp) return null;
    if (this.rule.kind === 'file') return { dir: posix.dirname(cp), sub: posix.basename(cp) };
    const sub = posix.relative(this.targetAbs, cp);
    return sub && !sub.startsWith('..') ? { dir: this.targetAbs, sub } : null;
  }

  private async download(rels: string[], remote: Tree, rep: SyncReport): Promise<void> {
    const seen = new Set<string>();
    await this.readContainer(rels, async (rel, entry, content) => {
      seen.add(rel);
      const mode = entry.kind === 'file' ? entry.mode : entry.kind === 'dir' ? entry.mode : 0o777;
      const res = await writeLocal(this.rule.root, rel, { ...entry, mode }, content);
      if ('message' in res) {
        rep.problems.push(res);
        return;
      }
      const w = res.entry;
      this.state.unsure?.delete(rel);
      this.state.tree.set(rel, {
        kind: w.kind,
        hash: w.hash,
        link: w.link,
        lSize: w.size,
        lMtimeMs: w.mtimeMs,
        rSize: entry.size,
        rMtime: Math.floor(entry.mtimeMs / 1000),
      });
      rep.downloaded++;
      if (w.kind === 'file') rep.downloadedBytes += w.size;
    });
    for (const rel of rels) {
      if (!seen.has(rel) && remote.has(rel))
        rep.problems.push({
          path: rel,
          message: 'disappeared in the container before it could be read',
        });
    }
  }

  private get deleteGuard(): number {
    return this.model.services.find((s) => s.name === this.rule.service)?.deleteGuard ?? 1;
  }

  private get stateMeta() {
    return {
      rule: this.rule.id,
      container: this.channel.container.name,
      containerId: this.channel.container.id,
      target: this.targetAbs,
    };
  }

  async save(): Promise<void> {
    await saveStateNow(this.statePath, this.stateMeta, this.state);
    this.state.stored = true;
  }

  /**
   * Apply a decision the user took on a conflict (the dashboard): `local` makes the container
   * match the local version of `path` (and what the state has below it), `container` makes the
   * local side match the container's, `both` keeps the local version at `path` and first saves
   * the container's file beside it as {@link conflictCopyName} (which then goes up too, so both
   * sides hold both versions). The plan comes from the planner, as a mirror of the chosen side
   * restricted to these paths, and is applied like any batch: excludes, the delete guard and
   * the state hold as usual. Resolves to the report and the copy's rule-relative path.
   */
  async resolveConflict(
    path: string,
    keep: 'local' | 'container' | 'both',
  ): Promise<{ report: SyncReport; copy?: string }> {
    const t0 = performance.now();
    let copy: string | undefined;
    const copyProblems: Problem[] = [];
    const linked = await this.linkedParent(path);
    if (linked !== null)
      copyProblems.push({
        path,
        message: `${linked} is not a directory in the container any more, so the path would lead out of the target; nothing done (a sync reconciles ${linked} first)`,
      });
    if (keep === 'both' && !copyProblems.length) {
      await this.readContainer([path], async (_rel, entry, content) => {
        if (entry.kind !== 'file') {
          for await (const _ of content ?? []) void _; // drain: the next entry waits for it
          copyProblems.push({
            path,
            message: `the container holds a ${entry.kind} here: keep both works for files only; keep the local or the container version instead`,
          });
          return;
        }
        const name = await conflictCopyName(this.rule.root, path);
        const res = await writeLocal(this.rule.root, name, entry, content);
        if ('message' in res) copyProblems.push(res);
        else copy = name;
      });
    }
    if (copyProblems.length) {
      const none: Plan = {
        upload: [],
        deleteRemote: [],
        download: [],
        deleteLocal: [],
        conflicts: [],
        agreed: [],
        gone: [],
      };
      return { report: this.report(none, t0, copyProblems) };
    }
    const changed = new Set([path, ...(copy ? [copy] : [])]);
    const l = await this.readLocal(changed);
    const base: StateTree = new Map();
    for (const p of l.covered) {
      const b = this.state.tree.get(p);
      if (b) base.set(p, b);
    }
    const remote = await this.readRemote(l.covered, l.tree);
    await this.hashWhereNeeded(l.tree, remote);
    const plan = planSync({
      local: l.tree,
      remote,
      base,
      mode: keep === 'container' ? 'one-way-replica-reverse' : 'one-way-replica',
      noUp: this.noUp,
      noDown: this.noDown,
    });
    const report = await this.apply(plan, l.tree, remote, l.covered, l.problems, t0);
    return { report, ...(copy ? { copy } : {}) };
  }

  /**
   * The first directory between the target and a rule path's container path that is not a
   * directory in the container (a symlink, say), rule-relative; null when all are. The engine
   * resolves links in the paths it reads and writes, so such a path would lead out of the target.
   */
  async linkedParent(rel: string): Promise<string | null> {
    const cp = toContainerPath(this.rule, this.targetAbs, rel);
    if (!cp || this.rule.kind === 'file') return null;
    const parents: string[] = [];
    for (let d = posix.dirname(cp); d.startsWith(this.targetAbs + '/'); d = posix.dirname(d))
      parents.push(d);
    if (parents.length === 0) return null;
    const st = await this.channel.stat(parents.reverse());
    const bad = parents.find((d) => {
      const e = st.get(d);
      return e && e.kind !== 'dir';
    });
    return bad === undefined ? null : posix.relative(this.targetAbs, bad);
  }
}

/**
 * Where "keep both" saves the container's version of a conflicting file: beside the local file,
 * `NAME.container-CONFLICT` (then `-2`, `-3`, ... when that name is taken), so a glob for the
 * file's own extension (a build, a test runner) does not pick the copy up.
 */
export async function conflictCopyName(root: string, rel: string): Promise<string> {
  for (let n = 1; ; n++) {
    const name = `${rel}.container-CONFLICT${n === 1 ? '' : `-${n}`}`;
    if (!(await lstat(join(root, name)).catch(() => null))) return name;
  }
}
