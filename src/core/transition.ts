/**
 * The state transition as pure data (Mutagen's `transition`): from the last-synced state, a
 * plan and what applying it achieved (the outcome), the changes that make the next state.
 * The changes are data rather than a new state because a state holds up to a million records:
 * copying it per batch would cost more than the batch. {@link applyTransition} carries them out.
 */
import { recordHolds, type Conflict, type Plan } from './reconcile.js';
import {
  dirsWithEntries,
  parentsOf,
  type Entry,
  type StateEntry,
  type StateTree,
  type Tree,
} from './tree.js';

/** What applying a plan achieved, path by path (rule-relative paths). */
export interface Outcome {
  /** Container deletions carried out (plan paths: a directory with everything below it). */
  deletedRemote: string[];
  /**
   * Uploads the container confirmed, with what it got where the transport read it while
   * sending (the file may have changed since it was hashed).
   */
  uploaded: { rel: string; got?: { hash?: string; size: number; mtime: number } }[];
  /**
   * Uploads that failed, or whose write died before its confirmation: they may or may not have
   * landed, so the next plan takes the container's copy there for composync's own write.
   */
  unsure: string[];
  /** Local deletions carried out. */
  deletedLocal: string[];
  /** Downloads written locally: the entry as written and the container entry it came from. */
  downloaded: { rel: string; written: Entry; from: { size: number; mtimeMs: number } }[];
  /**
   * The write died with the container or the engine: only the deletions, the confirmed uploads
   * and the unsure paths are known; the rest of the plan (agreed paths, conflicts, downloads)
   * did not happen.
   */
  aborted?: boolean;
}

/** The state a transition reads. */
export interface StateView {
  readonly tree: StateTree;
  readonly unsure?: ReadonlySet<string>;
  readonly conflicts: readonly Conflict[];
}

/** One change of the state, in order. */
export type StateOp =
  /** Forget what the state has at or below each path (and their unsure marks). */
  | { op: 'forget'; rels: string[] }
  /** Record a path as synced (and no longer unsure). */
  | { op: 'record'; rel: string; entry: StateEntry }
  /** Mark a path unsure. */
  | { op: 'unsure'; rel: string }
  /** Forget exactly this path: both sides lack it. */
  | { op: 'drop'; rel: string };

export interface Transition {
  ops: StateOp[];
  /** The open conflicts after the plan: a full reconcile replaces them, a batch its paths'. */
  conflicts: Conflict[];
  conflictsChanged: boolean;
}

export interface TransitionInput {
  plan: Plan;
  local: Tree;
  remote: Tree;
  /** The paths a watch batch covered; null for a reconcile of the whole rule. */
  covered: ReadonlySet<string> | null;
}

/** The changes from `state` to the state after `plan` was applied with `outcome`. */
export function nextState(state: StateView, input: TransitionInput, outcome: Outcome): Transition {
  const { plan, local, remote, covered } = input;
  const tree = state.tree;
  const unsure = state.unsure ?? new Set<string>();
  const ops: StateOp[] = [];
  if (outcome.deletedRemote.length) ops.push({ op: 'forget', rels: outcome.deletedRemote });
  for (const rel of outcome.unsure) ops.push({ op: 'unsure', rel });
  // the state's directories with entries below them, built on first use: a burst of new
  // directories then costs a lookup each instead of a pass over the whole state each
  let parents: Set<string> | null = null;
  const recordedAtOrBelow = (rel: string) =>
    tree.has(rel) || (parents ??= dirsWithEntries(tree.keys())).has(rel);
  // uploads the container confirmed, even when a later write of the batch died (an upload is
  // written in slices: session/apply-plan.ts)
  for (const { rel, got } of outcome.uploaded) {
    const e = local.get(rel);
    if (!e) continue;
    // a directory where the container had a file or link: what was recorded below it is gone
    if (e.kind === 'dir' && remote.get(rel)?.kind !== 'dir' && recordedAtOrBelow(rel))
      ops.push({ op: 'forget', rels: [rel] });
    ops.push({
      op: 'record',
      rel,
      entry: {
        kind: e.kind,
        hash: got?.hash ?? e.hash,
        link: e.link,
        lSize: e.size,
        lMtimeMs: e.mtimeMs,
        rSize: got?.size ?? e.size,
        rMtime: got?.mtime ?? Math.floor(e.mtimeMs / 1000),
      },
    });
  }

  if (outcome.aborted) return { ops, conflicts: [...state.conflicts], conflictsChanged: false };

  for (const rel of plan.agreed) {
    const l = local.get(rel)!;
    const r = remote.get(rel)!;
    const prev = tree.get(rel);
    // an entry rebuilt from the state carries the recorded container stat
    const rMtime =
      prev && r.mtimeMs === prev.rMtime * 1000 ? prev.rMtime : Math.floor(r.mtimeMs / 1000);
    // unchanged since the last sync: the record stays as it is (the planner leaves most such
    // paths out of `agreed` already)
    if (prev && !unsure.has(rel) && recordHolds(prev, l, r)) continue;
    ops.push({
      op: 'record',
      rel,
      entry: {
        kind: l.kind,
        hash: l.hash,
        link: l.link,
        lSize: l.size,
        lMtimeMs: l.mtimeMs,
        rSize: r.size,
        rMtime,
      },
    });
  }
  for (const rel of plan.gone) ops.push({ op: 'drop', rel });

  const kept = covered ? state.conflicts.filter((c) => !covered.has(c.path)) : [];
  const conflicts = [...kept, ...plan.conflicts];
  const before = state.conflicts;
  const conflictsChanged =
    conflicts.length !== before.length ||
    conflicts.some((c, i) => c.path !== before[i]!.path || c.reason !== before[i]!.reason);

  if (outcome.deletedLocal.length) ops.push({ op: 'forget', rels: outcome.deletedLocal });
  for (const { rel, written: w, from } of outcome.downloaded)
    ops.push({
      op: 'record',
      rel,
      entry: {
        kind: w.kind,
        hash: w.hash,
        link: w.link,
        lSize: w.size,
        lMtimeMs: w.mtimeMs,
        rSize: from.size,
        rMtime: Math.floor(from.mtimeMs / 1000),
      },
    });
  return { ops, conflicts, conflictsChanged };
}

/** The state a transition is applied to (the session's in-memory state of a rule). */
export interface MutableState {
  tree: StateTree;
  unsure?: Set<string>;
  conflicts: Conflict[];
  /**
   * When present, every path whose record {@link applyTransition} sets or removes is added: what
   * the store must write of this state besides its conflicts and unsure paths (a journal of the
   * changed records instead of the whole tree).
   */
  dirty?: Set<string>;
}

/** Carry a transition out on `state`; true when anything changed. */
export function applyTransition(state: MutableState, t: Transition): boolean {
  const tree = state.tree;
  const unsure = (state.unsure ??= new Set());
  const dirty = state.dirty;
  let changed = t.conflictsChanged;
  for (const o of t.ops) {
    switch (o.op) {
      case 'forget': {
        // one pass over the state for all the paths (a pass per path made deleting many
        // directories quadratic in the size of the state)
        const gone = new Set(o.rels);
        const all = gone.has('');
        const hit = (k: string) => all || gone.has(k) || parentsOf(k).some((d) => gone.has(d));
        for (const k of tree.keys())
          if (hit(k) && tree.delete(k)) {
            dirty?.add(k);
            changed = true;
          }
        for (const k of unsure) if (hit(k)) changed = unsure.delete(k) || changed;
        break;
      }
      case 'record':
        tree.set(o.rel, o.entry);
        dirty?.add(o.rel);
        unsure.delete(o.rel);
        changed = true;
        break;
      case 'unsure':
        unsure.add(o.rel);
        changed = true;
        break;
      case 'drop':
        if (tree.delete(o.rel)) {
          dirty?.add(o.rel);
          changed = true;
        }
        changed = unsure.delete(o.rel) || changed;
        break;
    }
  }
  state.conflicts = t.conflicts;
  return changed;
}
