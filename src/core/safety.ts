/**
 * The safety predicates of a plan (Mutagen's model, SPEC §3 "Safety"): deletions are data the
 * planner derived from what each side holds, and two situations make that data untrustworthy.
 *
 * - A root that is missing, emptied or of another kind than a directory, while the recorded
 *   state still holds content: an unmounted volume, a wrong path, a source renamed away, a
 *   container recreated with an empty target. Propagating that as deletions would empty the
 *   other side, so the rule halts instead: nothing is deleted on the other side. A root a
 *   watcher saw being emptied is the user's doing, except a two-way rule's container target
 *   (see SafetyInput.scan).
 * - A scan-based plan (initial sync, `sync`, the resync after a container start) that would
 *   delete more than `deleteGuard` of a side through paths no earlier sync recorded: those
 *   deletions are not the user's (the state cannot explain them), so they are held back.
 *
 * Deletions of paths the state recorded and that are gone on the other side are the user's own
 * (a branch switch, an `rm -rf` of a generated folder) and always go through, whatever their
 * share of the tree. Pure: the caller gathers the facts and applies the verdict.
 */
import { byPath, firstAtOrAfter, type Plan } from './reconcile.js';
import type { StateTree, Tree } from './tree.js';

/** The side whose entries a plan deletes. */
export type Side = 'local' | 'container';

export type RootKind = 'dir' | 'file' | 'symlink' | 'other' | 'missing';

/** What a side's root is now. */
export interface RootFacts {
  kind: RootKind;
  /** It holds no entry the rule covers. */
  empty: boolean;
}

export type HoldCause = 'root-missing' | 'root-emptied' | 'root-kind' | 'unexplained';

/** Deletions on one side held back, and why. */
export interface Hold {
  /** The side whose deletions are held back (the other side is the one that looks wrong). */
  side: Side;
  cause: HoldCause;
  /** The held deletions (plan paths: a directory stands for everything below it). */
  paths: string[];
  /** Entries those deletions would have removed on that side. */
  count: number;
  /** Entries of that side. */
  total: number;
}

/** The guard ignores plans deleting fewer unexplained entries than this (ordinary edits). */
export const GUARD_MIN_ENTRIES = 10;

export interface SafetyInput {
  plan: Plan;
  local: Tree;
  remote: Tree;
  /** The recorded state of the paths the plan covers. */
  base: StateTree;
  /**
   * Entries the recorded state holds for the rule and container (for a recreated container:
   * what its predecessor's state held). Zero: nothing was ever synced, no root is suspect.
   */
  recorded: number;
  /** Root checks apply to directory rules; file and glob rules have no root to lose. */
  rootChecks: boolean;
  /**
   * The local root, needed when the plan deletes in the container; the container's root,
   * needed when it deletes locally ({@link needsRootFacts} says which).
   */
  localRoot?: RootFacts;
  remoteRoot?: RootFacts;
  /**
   * A plan from a scan of both sides (start, `sync`, a container start), not a watch batch.
   * In a batch the deletions are what a watcher saw happen: an emptied root is then the user's
   * doing, except a container target emptied under a two-way rule (`twoWay`), whose local
   * side is the user's own work. A missing root or one of another kind halts either way.
   */
  scan: boolean;
  /** The rule moves files both ways. */
  twoWay?: boolean;
  /** The share of a side that unexplained deletions may reach (1: no guard). */
  deleteGuard: number;
}

/** Deletions of a side that are not replacements (a kind change writes the path again). */
function deletions(plan: Plan, side: Side): string[] {
  const del = side === 'container' ? plan.deleteRemote : plan.deleteLocal;
  if (del.length === 0) return del;
  const rewritten = new Set(side === 'container' ? plan.upload : plan.download);
  return del.filter((p) => !rewritten.has(p));
}

/** Which roots the caller must look at before {@link checkSafety} can judge the plan. */
export function needsRootFacts(
  plan: Plan,
  recorded: number,
  rootChecks: boolean,
): { local: boolean; remote: boolean } {
  if (!rootChecks || recorded === 0) return { local: false, remote: false };
  return {
    local: deletions(plan, 'container').length > 0,
    remote: deletions(plan, 'local').length > 0,
  };
}

/** Each deleted path with how many entries it removes and how many of them the state never knew. */
function tally(
  paths: string[],
  side: Tree,
  base: StateTree,
): { path: string; count: number; unknown: number }[] {
  if (paths.length === 0) return [];
  // each deleted path's entries found in the sorted keys: a pass over every key per deleted
  // path would be quadratic
  const sorted = [...side.keys()].sort(byPath);
  return paths.map((p) => {
    let count = 1;
    let unknown = base.has(p) ? 0 : 1;
    const prefix = p === '' ? '' : p + '/';
    for (let i = firstAtOrAfter(sorted, prefix); i < sorted.length; i++) {
      const k = sorted[i]!;
      if (!k.startsWith(prefix)) break;
      if (k === p) continue;
      count++;
      if (!base.has(k)) unknown++;
    }
    return { path: p, count, unknown };
  });
}

function rootCause(f: RootFacts | undefined): HoldCause | null {
  if (!f) return null;
  if (f.kind === 'missing') return 'root-missing';
  if (f.kind !== 'dir') return 'root-kind';
  return f.empty ? 'root-emptied' : null;
}

/**
 * Judge a plan: the deletions to hold back, per side (at most one hold per side). Deletions
 * not named in a hold are the user's and are applied.
 */
export function checkSafety(input: SafetyInput): Hold[] {
  const { plan, local, remote, base, recorded } = input;
  const holds: Hold[] = [];
  for (const side of ['container', 'local'] as const) {
    const paths = deletions(plan, side);
    if (paths.length === 0) continue;
    const tree = side === 'container' ? remote : local;
    const total = Math.max(tree.size, recorded);
    // the other side's root decides whether these deletions mean anything
    let cause =
      input.rootChecks && recorded > 0
        ? rootCause(side === 'container' ? input.localRoot : input.remoteRoot)
        : null;
    if (cause === 'root-emptied' && !input.scan && !(side === 'local' && input.twoWay))
      cause = null;
    if (cause) {
      const counted = tally(paths, tree, base);
      const count = counted.reduce((n, t) => n + t.count, 0);
      holds.push({ side, cause, paths, count, total });
      continue;
    }
    if (!input.scan || input.deleteGuard >= 1) continue;
    const counted = tally(paths, tree, base);
    const unknown = counted.reduce((n, t) => n + t.unknown, 0);
    if (unknown < GUARD_MIN_ENTRIES || unknown <= input.deleteGuard * tree.size) continue;
    const held = counted.filter((t) => t.unknown > 0);
    holds.push({
      side,
      cause: 'unexplained',
      paths: held.map((t) => t.path),
      count: unknown,
      total: tree.size,
    });
  }
  return holds;
}

/** The plan without the held deletions. */
export function withoutHeld(plan: Plan, holds: Hold[]): Plan {
  if (holds.length === 0) return plan;
  const held = (side: Side) =>
    new Set(holds.filter((h) => h.side === side).flatMap((h) => h.paths));
  const remote = held('container');
  const local = held('local');
  return {
    ...plan,
    deleteRemote: plan.deleteRemote.filter((p) => !remote.has(p)),
    deleteLocal: plan.deleteLocal.filter((p) => !local.has(p)),
  };
}
