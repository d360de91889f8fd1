/**
 * One sync rule bound to one container: initial reconcile and watch batches. A coordinator:
 * reads both sides (the local tree, the container through its RemoteView), asks the pure
 * planner what to do (core/reconcile) and whether it is safe (core/safety), has the
 * PlanApplier carry it out, and records the next state (core/transition). Per-path failures
 * come back as data in the report; only a lost container or engine rejects.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { resolveTarget, toContainerPath } from '../core/paths.js';
import {
  emptyPlan,
  planSync,
  rawPlan,
  restrictPlan,
  type Conflict,
  type Plan,
} from '../core/reconcile.js';
import type { SyncModel, SyncRule } from '../core/model.js';
import { modeDirection, TRANSFER_MODE } from '../core/modes.js';
import type { ContainerChannel, Problem } from '../core/ports.js';
import type { StateTree, Tree } from '../core/tree.js';
import {
  checkSafety,
  needsRootFacts,
  withoutHeld,
  type Hold,
  type RootFacts,
  type Side,
} from '../core/safety.js';
import { applyTransition, nextState } from '../core/transition.js';
import { hashFile, readLocalPaths, scanLocal, type LocalFilter } from './local-tree.js';
import { writeLocal } from './local-writer.js';
import {
  emptyState,
  loadState,
  saveStateNow,
  saveStateSoon,
  type RuleState,
} from './state-store.js';
import { paths as files } from './files.js';
import { PlanApplier } from './apply-plan.js';
import { RemoteView } from './remote-view.js';

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
  via?: string;
  /** Bytes sent to the engine for the uploads (after gzip on remote engines). */
  wireBytes?: number;
  /** Container paths written or deleted (for exec triggers). */
  changedPaths: string[];
  plan: Plan;
  /** Set when deletions were held back: the rule is halted (see core/safety). */
  halted?: Halted;
}

/** A rule whose deletions are held back until the situation changes or the user resumes it. */
export interface Halted {
  /** The side whose deletions are held back. */
  side: Side;
  /** What happened and what was held back, in a sentence for the user. */
  reason: string;
  /** The command that applies the held deletions. */
  command: string;
  /** When the rule halted (ISO time). */
  since: string;
  /** Root halts clear themselves once the root is back; the share guard needs a rescan. */
  cause: Hold['cause'];
}

/**
 * A changed file above this size is sent before it is hashed (the send hashes what it sends):
 * reading a 1 GB file once to hash it and once to send it took 1.3x a raw copy (bench/ F1).
 */
const DEFER_HASH_OVER = 8 * 1024 * 1024;

export interface ApplyOptions {
  /** Apply deletions a halt holds back (an explicit command the user asked for: resume). */
  force?: boolean;
  /** Write the state within a second instead of at once (watch batches: bursts share a write). */
  deferSave?: boolean;
}

/** A plan after the safety checks: the deletions they held back are taken out. */
interface Judged {
  plan: Plan;
  /** The rule's halt after this plan (raised now or kept from before). */
  halted?: Halted;
  /** This plan had deletions held back (the halt is reported with it). */
  held: boolean;
  /** A root halt: nothing of the plan is applied, the state stays as it is. */
  stopped?: boolean;
}

export class RuleSync {
  readonly targetAbs: string;
  private state: RuleState = emptyState();
  private owner = { uid: 0, gid: 0 };
  private readonly statePath: string;
  /** Set while deletions are held back (core/safety); cleared by a safe plan or a resume. */
  halted: Halted | null = null;
  /** The container side, read (scans, stats, hashes, entries). */
  readonly remote: RemoteView;
  private readonly applier: PlanApplier;

  constructor(
    readonly rule: SyncRule,
    readonly channel: ContainerChannel,
    readonly model: SyncModel,
    readonly filter: RuleFilter,
  ) {
    this.targetAbs = resolveTarget(rule.target, channel.info.workdir);
    this.statePath = files.state(model.projectDir, rule.id, channel.container.name);
    this.remote = new RemoteView(rule, channel, this.targetAbs, filter, () => this.state.tree);
    this.applier = new PlanApplier(rule, channel, this.targetAbs, this.remote, () => this.owner);
  }

  /** Scan the container side of the rule, as rule-relative entries the rule covers. */
  scanRemote(): Promise<Tree> {
    return this.remote.scan();
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

  /**
   * Load the rule's state and what it needs. With `reconcile` (an initial sync follows at once),
   * the listing of the container's target starts first, so the container lists while the state
   * loads (100,000 records: about 0.25 s).
   */
  async open(opts: { reconcile?: boolean } = {}): Promise<void> {
    // `target: .` with an image whose WORKDIR is / (the config refuses an explicit root)
    if (this.targetAbs === '/')
      throw new Error(
        `rule ${this.rule.id}: its target resolves to the container root in ${this.channel.container.name}; refusing to sync there (name a directory below it)`,
      );
    if (opts.reconcile) this.remote.prefetchListing();
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
      // most files carry the hash the state recorded: only the others ask the container side
      if (e.kind !== 'file' || e.hash !== undefined) continue;
      const r = remote.get(rel);
      if (r?.kind !== 'file' || r.size !== e.size) continue;
      e.hash = await hashFile(join(this.rule.root, rel), e.size).catch(() => undefined);
      // an entry read from a table is a copy (core/table.ts)
      if (e.hash !== undefined) local.set(rel, e);
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
      this.remote.scan({ early: true }),
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
    const judged = await this.judge(plan, local.tree, remote, this.state.tree, null, opts);
    if (opts.dryRun) return this.report(judged, t0, local.problems);
    return this.apply(judged, local.tree, remote, null, local.problems, t0, opts);
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
    const remote = await this.remote.scan();
    let plan: Plan;
    if (opts.raw) {
      plan =
        kind === 'push' ? rawPlan(local.tree, remote, 'up') : rawPlan(remote, local.tree, 'down');
    } else {
      const full = planSync({
        local: local.tree,
        remote,
        base: this.state.tree,
        mode: TRANSFER_MODE,
        noUp: this.noUp,
        noDown: this.noDown,
        unsure: this.state.unsure,
      });
      plan = restrictPlan(full, {
        up: kind === 'push',
        down: kind === 'pull' || !opts.skipPull,
      });
    }
    const judged = await this.judge(plan, local.tree, remote, this.state.tree, null, opts);
    if (opts.dryRun) return this.report(judged, t0, local.problems);
    return this.apply(
      judged,
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
    // a halt because a root was missing or empty ends when the root is back: one rescan then
    // applies what was held back, or halts again
    if (this.halted && this.halted.cause !== 'unexplained') {
      if (await this.rootsBack()) return this.initialSync();
      // one side cannot be trusted: nothing moves until it is back or the user resumes
      return this.report({ plan: emptyPlan(), halted: this.halted, held: false }, t0, []);
    }
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
    const remote = await this.remote.read(l.covered, l.tree, opts.remoteFiles);
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
    const judged = await this.judge(plan, l.tree, remote, base, l.covered, {});
    return this.apply(judged, l.tree, remote, l.covered, l.problems, t0, { deferSave: true });
  }

  /** Start the container check of an edit's paths before its batch runs (RemoteView.prefetch). */
  prefetchRemote(rels: string[]): void {
    this.remote.prefetch(rels);
  }

  readLocal(changed: Set<string>) {
    return readLocalPaths(this.rule.root, this.localFilter, this.state.tree, changed, {
      deferHashOver: DEFER_HASH_OVER,
      // a file new to the state is sent whatever its bytes (unless the container has one of
      // its size, hashed below): the send hashes what it sends
      deferHashNew: true,
    });
  }

  private report({ plan, halted, held }: Judged, t0: number, problems: Problem[]): SyncReport {
    return {
      halted,
      rule: this.rule.id,
      container: this.channel.container.name,
      uploaded: 0,
      bytes: 0,
      deleted: 0,
      downloaded: 0,
      downloadedBytes: 0,
      deletedLocal: 0,
      conflicts: plan.conflicts,
      ms: performance.now() - t0,
      changedPaths: [],
      plan,
      problems:
        halted && held
          ? [...problems, { path: this.haltPath(halted.side), message: halted.reason }]
          : problems,
    };
  }

  private async apply(
    judged: Judged,
    local: Tree,
    remote: Tree,
    covered: Set<string> | null,
    localProblems: Problem[],
    t0: number,
    opts: ApplyOptions = {},
  ): Promise<SyncReport> {
    const { plan } = judged;
    const rep = this.report(judged, t0, [...localProblems]);
    if (judged.stopped) return rep;
    const done = await this.applier.apply(plan, local, remote);
    const t = nextState(this.state, { plan, local, remote, covered }, done.outcome);
    // unless the file holds this state already (or a write of it is pending): nothing changed
    const changed = applyTransition(this.state, t);
    if (done.error !== undefined) {
      await this.save().catch(() => undefined);
      throw done.error;
    }
    if (changed || !this.state.stored) {
      if (opts.deferSave) saveStateSoon(this.statePath, this.stateMeta, this.state);
      else await this.save();
    }
    rep.deleted = done.deleted;
    rep.uploaded = done.uploaded;
    rep.bytes = done.bytes;
    rep.wireBytes = done.wireBytes;
    rep.via = done.via;
    rep.downloaded = done.downloaded;
    rep.downloadedBytes = done.downloadedBytes;
    rep.deletedLocal = done.deletedLocal;
    rep.changedPaths = done.changedPaths;
    rep.problems.push(...done.problems);
    rep.ms = performance.now() - t0;
    return rep;
  }

  /**
   * The safety checks of a plan (core/safety): deletions that would empty a side because the
   * other side's root is missing, empty or not a directory, or that a scan-based plan would make
   * through more than `deleteGuard` of a side the state never recorded, are held back and the
   * rule halts. `covered` is null for a scan of the whole rule. With `force` (the user resumed
   * the rule) nothing is held. Sets or clears {@link halted}, except on a dry run.
   */
  private async judge(
    plan: Plan,
    local: Tree,
    remote: Tree,
    base: StateTree,
    covered: Set<string> | null,
    opts: { force?: boolean; dryRun?: boolean },
  ): Promise<Judged> {
    const scan = covered === null;
    const recorded = this.state.tree.size || (this.state.predecessor ?? 0);
    const rootChecks = this.rule.kind === 'dir';
    let holds: Hold[] = [];
    if (!opts.force) {
      const need = needsRootFacts(plan, recorded, rootChecks);
      holds = checkSafety({
        plan,
        local,
        remote,
        base,
        recorded,
        rootChecks,
        localRoot: need.local ? await this.localRoot(scan ? local : null) : undefined,
        remoteRoot: need.remote ? await this.remoteRoot(remote, covered) : undefined,
        scan,
        twoWay: modeDirection(this.rule.mode) === 'both',
        deleteGuard: this.deleteGuard,
      });
    }
    // a watch batch leaves a halt as it is (it sees too little to lift one: applyBatch
    // rescans once the missing root is back); a scan or a resume settles it
    const keep = scan || opts.force ? null : this.halted;
    const halted = holds.length ? this.describeHolds(holds) : (keep ?? undefined);
    if (!opts.dryRun) this.halted = halted ?? null;
    // a root that is missing or empty stops the whole rule: what the plan would write or
    // delete on either side rests on a view of that side that cannot be trusted
    const stopped = holds.some((h) => h.cause !== 'unexplained');
    return {
      plan: stopped ? { ...emptyPlan(), conflicts: plan.conflicts } : withoutHeld(plan, holds),
      halted,
      held: holds.length > 0,
      stopped,
    };
  }

  /** One sentence per hold, with the command that resumes the rule. */
  private describeHolds(holds: Hold[]): Halted {
    const command = `composync sync --force ${this.rule.service}`;
    const source = this.rule.source;
    const target = `${this.targetAbs} in ${this.channel.container.name}`;
    const sentence = (h: Hold): string => {
      const n = `${h.count} ${h.count === 1 ? 'entry' : 'entries'}`;
      const there = h.side === 'container' ? 'in the container' : 'locally';
      if (h.cause === 'unexplained')
        return `would delete ${n} of ${h.total} ${there} that no earlier sync recorded (more than the deleteGuard of ${Math.round(this.deleteGuard * 100)}%): those deletions are held back`;
      const root = h.side === 'container' ? `the local source ${source}` : `the target ${target}`;
      const what =
        h.cause === 'root-missing'
          ? 'is missing (deleted, renamed or not mounted)'
          : h.cause === 'root-kind'
            ? 'is no longer a directory'
            : 'is empty';
      const other = h.side === 'container' ? 'the container' : 'the local source';
      return `${root} ${what} while ${other} and the last sync still hold content: the rule is halted and syncs nothing (it would have deleted ${n} ${there})`;
    };
    const first = holds[0]!;
    const end =
      first.cause === 'unexplained'
        ? `If that is what you want, run \`${command}\`.`
        : `Restore it and syncing goes on by itself, or run \`${command}\` to apply the deletions.`;
    return {
      side: first.side,
      cause: first.cause,
      reason: `${holds.map(sentence).join('; ')}. ${end}`,
      command,
      since: this.halted?.since ?? new Date().toISOString(),
    };
  }

  /** Where a halt is reported: the root of the side that stays as it is. */
  private haltPath(side: Side): string {
    return side === 'container' ? this.targetAbs : this.rule.root;
  }

  /**
   * The local root now. `scanned` is the rule's whole local tree when the caller has it (it
   * then only looks at the disk when the tree is empty); else the root's own entries are read.
   */
  private async localRoot(scanned: Tree | null): Promise<RootFacts> {
    if (scanned && scanned.size > 0) return { kind: 'dir', empty: false };
    const st = await lstat(this.rule.root).catch(() => null);
    if (!st) return { kind: 'missing', empty: true };
    if (!st.isDirectory())
      return {
        kind: st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other',
        empty: true,
      };
    if (scanned) return { kind: 'dir', empty: true };
    // a watch batch: whether the root is emptied does not matter there (see core/safety),
    // except to tell that a missing root is back
    const names = await readdir(this.rule.root, { withFileTypes: true }).catch(() => []);
    const empty = names.every((d) => this.filter.excludedBoth(d.name, d.isDirectory()));
    return { kind: 'dir', empty };
  }

  /**
   * The container's root now. `covered` is null when `remote` is the whole scanned side; for a
   * watch batch it holds the paths `remote` answers for: the target counts as empty when every
   * top-level entry the state records was asked and is gone, and none new was reported.
   */
  private async remoteRoot(remote: Tree, covered: Set<string> | null): Promise<RootFacts> {
    if (covered === null && remote.size > 0) return { kind: 'dir', empty: false };
    const st = (await this.channel.stat([this.targetAbs])).get(this.targetAbs) ?? null;
    if (!st) return { kind: 'missing', empty: true };
    if (st.kind !== 'dir') return { kind: st.kind, empty: true };
    if (covered === null) return { kind: 'dir', empty: true };
    for (const k of remote.keys()) if (!k.includes('/')) return { kind: 'dir', empty: false };
    for (const k of this.state.tree.keys())
      if (!k.includes('/') && !covered.has(k)) return { kind: 'dir', empty: false };
    return { kind: 'dir', empty: true };
  }

  /** Whether the root whose absence halted the rule is back with content. */
  private async rootsBack(): Promise<boolean> {
    if (this.halted?.side === 'container') {
      const f = await this.localRoot(null);
      return f.kind === 'dir' && !f.empty;
    }
    return (await this.remoteRoot(await this.remote.scan(), null)).empty === false;
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
      await this.remote.readEntries([path], async (_rel, entry, content) => {
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
      return { report: this.report({ plan: emptyPlan(), held: false }, t0, copyProblems) };
    }
    const changed = new Set([path, ...(copy ? [copy] : [])]);
    const l = await this.readLocal(changed);
    const base: StateTree = new Map();
    for (const p of l.covered) {
      const b = this.state.tree.get(p);
      if (b) base.set(p, b);
    }
    const remote = await this.remote.read(l.covered, l.tree);
    await this.hashWhereNeeded(l.tree, remote);
    const plan = planSync({
      local: l.tree,
      remote,
      base,
      mode: keep === 'container' ? 'one-way-replica-reverse' : 'one-way-replica',
      noUp: this.noUp,
      noDown: this.noDown,
    });
    const judged = await this.judge(plan, l.tree, remote, base, l.covered, {});
    const report = await this.apply(judged, l.tree, remote, l.covered, l.problems, t0);
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
