/**
 * The sync algorithm as pure data in, data out: a three-way decision per path between the
 * local entry, the container entry and the last-synced entry (Mutagen's reconcile), shaped by
 * the rule's mode and, for paths the state knows nothing about, its initial-sync strategy
 * (DevSpace's names). `planSync` applies it to whole trees and returns what to do.
 */
import type { InitialSync, Mode } from './model.js';
import { MODE_SPECS } from './modes.js';
import { forEachWith } from './table.js';
import {
  isWithin,
  sameContent,
  type Entry,
  type StateEntry,
  type StateTree,
  type Tree,
} from './tree.js';

export type Action = 'none' | 'upload' | 'download' | 'delete-remote' | 'delete-local' | 'conflict';

/** A side's view of a path for the decision: an entry or absent. */
type Side = Entry | StateEntry | undefined;

/**
 * Decide one path. `strategy` is given during an initial sync (start, container start, `sync`)
 * and matters for paths with no last-synced entry, and for the mirror strategies always.
 */
export function decide(
  local: Side,
  remote: Side,
  base: Side,
  mode: Mode,
  strategy?: InitialSync,
): Action {
  if (sameContent(local, remote)) return 'none';
  const spec = MODE_SPECS[mode];
  const up = spec.direction !== 'down';
  const down = spec.direction !== 'up';

  if (strategy === 'mirrorLocal') return local ? 'upload' : 'delete-remote';
  if (strategy === 'mirrorRemote') return remote ? 'download' : 'delete-local';
  if (strategy && strategy !== 'disabled' && !base) {
    return decideUnknownBase(local, remote, strategy, up, down);
  }
  return spec.decide({
    local: !!local,
    remote: !!remote,
    base: !!base,
    localChanged: !sameContent(local, base),
    remoteChanged: !sameContent(remote, base),
  });
}

function decideUnknownBase(
  local: Side,
  remote: Side,
  strategy: InitialSync,
  up: boolean,
  down: boolean,
): Action {
  const both = up && down;
  const allow = (a: Action): Action =>
    (a === 'upload' || a === 'delete-remote') && !up
      ? 'none'
      : (a === 'download' || a === 'delete-local') && !down
        ? 'none'
        : a;
  if (local && !remote) {
    if (strategy === 'preferRemote') return both ? 'upload' : 'none';
    return allow('upload');
  }
  if (!local && remote) {
    if (strategy === 'preferLocal') return both ? 'download' : 'none';
    return allow('download');
  }
  // both exist and differ
  switch (strategy) {
    case 'preferLocal':
      return allow('upload');
    case 'preferRemote':
      return allow('download');
    case 'preferNewest':
      return mtimeOf(local) >= mtimeOf(remote) ? allow('upload') : allow('download');
    default:
      return 'conflict';
  }
}

const mtimeOf = (s: Side): number => (!s ? 0 : 'mtimeMs' in s ? s.mtimeMs : s.lMtimeMs);

/** A path left alone on both sides, and why. */
export interface Conflict {
  path: string;
  reason: string;
}

export interface Plan {
  /** Paths to write into the container, parents before children. */
  upload: string[];
  /** Paths to remove in the container (`rm -rf`), collapsed to the topmost whole directory. */
  deleteRemote: string[];
  /** Paths to write locally, parents before children. */
  download: string[];
  /** Local paths to remove, collapsed like deleteRemote. */
  deleteLocal: string[];
  conflicts: Conflict[];
  /**
   * Paths equal on both sides whose record is missing or differs from what both sides hold
   * now: the state records them as synced. In no particular order. A path whose record still
   * holds (most paths of a reconcile) is left out: its record stays as it is.
   */
  agreed: string[];
  /** Paths both sides lack: the state forgets them. In no particular order. */
  gone: string[];
}

export interface PlanInput {
  local: Tree;
  remote: Tree;
  base: StateTree;
  mode: Mode;
  strategy?: InitialSync;
  /** Paths never uploaded or deleted in the container (uploadExclude). */
  noUp?: (rel: string) => boolean;
  /** Paths never downloaded or deleted locally (downloadExclude). */
  noDown?: (rel: string) => boolean;
  /**
   * Paths whose last write into the container failed in a way that leaves it unknown whether
   * the bytes landed (the container died mid-archive, the confirmation was lost). What the
   * container holds there counts as composync's own write, i.e. as the base, so a write that
   * did land is not taken for a container-side edit and reported as a conflict.
   */
  unsure?: ReadonlySet<string>;
}

/**
 * The record of a path both sides agree on still describes both: same content, the local
 * size and mtime, and the container size and whole-second mtime it recorded.
 */
export function recordHolds(b: StateEntry, l: Entry, r: Entry): boolean {
  return (
    b.kind === l.kind &&
    b.hash === l.hash &&
    b.link === l.link &&
    b.lSize === l.size &&
    b.lMtimeMs === l.mtimeMs &&
    b.rSize === r.size &&
    b.rMtime === Math.floor(r.mtimeMs / 1000)
  );
}

/** Code-unit order of paths: a directory sorts right before what lies below it. */
export const byPath = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A plan that does nothing. */
export const emptyPlan = (): Plan => ({
  upload: [],
  deleteRemote: [],
  download: [],
  deleteLocal: [],
  conflicts: [],
  agreed: [],
  gone: [],
});

/** Plan a reconcile of every path any of the three trees knows. */
export function planSync(input: PlanInput): Plan {
  const { local, remote, base, mode, strategy } = input;
  // every path once, straight from the trees: no set or sorted array of all their keys (a
  // million of each for a tree of a million), and only the lists that need an order are
  // sorted, by the planner's paths, not all of them (most paths of a reconcile agree)
  const decisions = new Map<string, Action>();
  const plan = emptyPlan();
  // the paths of the remote and base trees visited so far: when the pass over the local tree
  // has seen all of them (a reconcile where most paths agree), the passes over the other two
  // trees are skipped (each was a lookup per key in one or two other trees)
  let seenRemote = 0;
  let seenBase = 0;
  const visit = (
    p: string,
    l: Entry | undefined,
    r: Entry | undefined,
    recorded: StateEntry | undefined,
  ) => {
    if (r) seenRemote++;
    if (recorded) seenBase++;
    const unsure = input.unsure?.has(p) === true;
    const b = r && unsure ? r : recorded;
    let action = decide(l, r, b, mode, strategy);
    if ((action === 'upload' || action === 'delete-remote') && input.noUp?.(p)) action = 'none';
    if ((action === 'download' || action === 'delete-local') && input.noDown?.(p)) action = 'none';
    if (action !== 'none') decisions.set(p, action);
    if (action === 'none') {
      if (l && r && sameContent(l, r)) {
        if (!(recorded && !unsure && recordHolds(recorded, l, r))) plan.agreed.push(p);
      } else if (!l && !r) plan.gone.push(p);
    } else if (action === 'conflict') {
      plan.conflicts.push({ path: p, reason: conflictReason(l, r, b) });
    } else if (action === 'upload') {
      // a kind change (file ↔ directory ↔ link) needs the old entry removed first
      if (r && l && r.kind !== l.kind) plan.deleteRemote.push(p);
      plan.upload.push(p);
    } else if (action === 'download') {
      if (r && l && r.kind !== l.kind) plan.deleteLocal.push(p);
      plan.download.push(p);
    } else if (action === 'delete-remote') {
      plan.deleteRemote.push(p);
    } else {
      plan.deleteLocal.push(p);
    }
  };
  // the local entries as the tree yields them, with the other two sides of each path read from
  // their rows where the trees are aligned with the state (core/table.ts)
  forEachWith(local, remote, base, visit);
  if (seenRemote < remote.size)
    for (const [p, r] of remote) if (!local.has(p)) visit(p, undefined, r, base.get(p));
  if (seenBase < base.size)
    for (const [p, b] of base)
      if (!local.has(p) && !remote.has(p)) visit(p, undefined, undefined, b);
  for (const list of [plan.upload, plan.download, plan.deleteRemote, plan.deleteLocal])
    list.sort(byPath);
  plan.conflicts.sort((a, b) => byPath(a.path, b.path));
  plan.deleteRemote = collapseDeletes(plan.deleteRemote, remote, decisions, 'delete-remote');
  plan.deleteLocal = collapseDeletes(plan.deleteLocal, local, decisions, 'delete-local');
  return plan;
}

/**
 * Collapse deletions: a directory whose every descendant on that side is deleted too becomes
 * one `rm -rf`; a directory with a descendant that stays (a conflict, a container-only file in
 * a safe mode) is not deleted at all, only its deleted descendants are.
 */
function collapseDeletes(
  paths: string[],
  side: Tree,
  decisions: Map<string, Action>,
  action: Action,
): string[] {
  if (paths.length === 0) return paths;
  const sideKeys = [...side.keys()].sort(byPath);
  const out: string[] = [];
  let covering: string | null = null;
  for (const p of paths) {
    if (covering !== null && isWithin(p, covering) && p !== covering) continue;
    const entry = side.get(p);
    if (entry?.kind === 'dir') {
      const whole = descendants(sideKeys, p).every((k) => decisions.get(k) === action);
      if (!whole) continue;
      covering = p;
    }
    out.push(p);
  }
  return out;
}

/** Keys strictly below `dir` in a sorted key list. */
function descendants(sorted: string[], dir: string): string[] {
  const prefix = dir + '/';
  const out: string[] = [];
  for (
    let i = firstAtOrAfter(sorted, prefix);
    i < sorted.length && sorted[i]!.startsWith(prefix);
    i++
  )
    out.push(sorted[i]!);
  return out;
}

/** Index of the first key not less than `key` in a sorted key list (binary search). */
export function firstAtOrAfter(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function conflictReason(l: Side, r: Side, b: Side): string {
  const what = (s: Side, was: Side) =>
    !s
      ? 'deleted'
      : !was
        ? 'created'
        : s.kind !== was.kind
          ? `replaced by a ${s.kind}`
          : 'modified';
  if (!b) return `created on both sides with different content`;
  return `${what(l, b)} locally and ${what(r, b)} in the container since the last sync`;
}

/** Keep only the operations of the allowed directions (push without pull, pull only, ...). */
export function restrictPlan(plan: Plan, allow: { up: boolean; down: boolean }): Plan {
  return {
    ...plan,
    upload: allow.up ? plan.upload : [],
    deleteRemote: allow.up ? plan.deleteRemote : [],
    download: allow.down ? plan.download : [],
    deleteLocal: allow.down ? plan.deleteLocal : [],
  };
}

/**
 * A stateless overwrite: every entry of the source side is written to the other side,
 * whatever is there; nothing is deleted (`push --raw`, `pull --raw`).
 */
export function rawPlan(source: Tree, other: Tree, direction: 'up' | 'down'): Plan {
  const paths = [...source.keys()].sort(byPath);
  // a path whose kind differs on the other side is removed there first
  const replace = paths.filter((p) => {
    const o = other.get(p);
    return o !== undefined && o.kind !== source.get(p)!.kind;
  });
  const agreed = paths.filter((p) => sameContent(source.get(p), other.get(p)));
  const moving = paths.filter((p) => !sameContent(source.get(p), other.get(p)));
  return {
    upload: direction === 'up' ? moving : [],
    deleteRemote: direction === 'up' ? replace : [],
    download: direction === 'down' ? moving : [],
    deleteLocal: direction === 'down' ? replace : [],
    conflicts: [],
    agreed,
    gone: [],
  };
}
