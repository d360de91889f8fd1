/**
 * `verify` as pure data: compare a rule's local tree with a container's, by content (kind,
 * content hash, link text; never mtimes or permissions), and classify every difference.
 *
 * Which side is the truth follows the rule's direction:
 * - local → container (`one-way-safe`, `one-way-replica`): `missing` is what the container
 *   lacks, `extra` what only the container has;
 * - container → local (the reverse modes): the other way round (`missing` locally, `extra`
 *   only locally);
 * - both (two-way modes): `missing` is local-only, `extra` container-only, and both are drift.
 *
 * `extra` counts as drift only where the mode mirrors (`one-way-replica`, its reverse, the
 * two-way modes); the safe one-way modes keep the other side's own files, so there they are
 * listed for information and `drift` stays false. Paths the rule excludes in the direction that
 * would carry them are ignored. The three-way planner does not fit here: there is no last-synced
 * state to judge by, only the two sides, so the comparison is `sameContent`, the planner's own
 * equality.
 */
import type { Mode } from './model.js';
import { MODE_SPECS } from './modes.js';
import { parentsOf, sameContent, type Entry, type EntryKind, type Tree } from './tree.js';

/** One difference. Below a directory that is missing or extra, only the directory is listed. */
export interface DriftEntry {
  path: string;
  /** The kind on the side that has it (for `different`: the source of truth's). */
  kind: EntryKind;
  /** `different` only: what differs. */
  reason?: 'content' | 'kind' | 'link';
  /** Entries below this directory that are part of the same difference. */
  below?: number;
}

export interface VerifyResult {
  /** Paths compared (the union of both sides, exclusions left out). */
  compared: number;
  missing: DriftEntry[];
  extra: DriftEntry[];
  different: DriftEntry[];
  /** Whether `extra` entries are drift for this mode (false: the mode keeps them). */
  extraIsDrift: boolean;
  /** Any missing or different entry, or an extra one where extras are drift. */
  drift: boolean;
}

export interface VerifyInput {
  local: Tree;
  remote: Tree;
  mode: Mode;
  /** The path is excluded from upload (local → container). */
  noUp?: (rel: string, isDir: boolean) => boolean;
  /** The path is excluded from download (container → local). */
  noDown?: (rel: string, isDir: boolean) => boolean;
}

/** Compare the two trees of one rule and container (see the module comment for the rules). */
export function verifyTrees(input: VerifyInput): VerifyResult {
  const { local, remote, mode } = input;
  const direction = MODE_SPECS[mode].direction;
  const noUp = input.noUp ?? (() => false);
  const noDown = input.noDown ?? (() => false);
  // for one-way rules the truth is one side; two-way rules compare both ways
  const truth = direction === 'down' ? remote : local;
  const replica = direction === 'down' ? local : remote;
  const carriedFromTruth = (rel: string, isDir: boolean) =>
    direction === 'down' ? !noDown(rel, isDir) : !noUp(rel, isDir);
  const carriedFromReplica = (rel: string, isDir: boolean) =>
    direction === 'both' ? !noDown(rel, isDir) : carriedFromTruth(rel, isDir);

  const paths = [...new Set([...truth.keys(), ...replica.keys()])].sort();
  const missing: DriftEntry[] = [];
  const extra: DriftEntry[] = [];
  const different: DriftEntry[] = [];
  const reported = new Map<string, DriftEntry>();
  let compared = 0;

  for (const rel of paths) {
    const t = truth.get(rel);
    const r = replica.get(rel);
    const isDir = (t ?? r)!.kind === 'dir';
    const carried = t ? carriedFromTruth(rel, isDir) : carriedFromReplica(rel, isDir);
    if (!carried) continue;
    compared++;
    if (sameContent(t, r)) continue;
    const under = parentsOf(rel)
      .map((p) => reported.get(p))
      .find((e) => e !== undefined);
    if (under) {
      under.below = (under.below ?? 0) + 1;
      continue;
    }
    let e: DriftEntry;
    if (t && r) {
      e = { path: rel, kind: t.kind, reason: reasonOf(t, r) };
      different.push(e);
      if (e.reason !== 'kind') continue; // a changed file has nothing below it
    } else if (t) {
      e = { path: rel, kind: t.kind };
      missing.push(e);
    } else {
      e = { path: rel, kind: r!.kind };
      extra.push(e);
    }
    if (e.kind === 'dir' || r?.kind === 'dir') reported.set(rel, e);
  }

  const extraIsDrift = MODE_SPECS[mode].mirrors;
  return {
    compared,
    missing,
    extra,
    different,
    extraIsDrift,
    drift: missing.length > 0 || different.length > 0 || (extraIsDrift && extra.length > 0),
  };
}

function reasonOf(a: Entry, b: Entry): 'content' | 'kind' | 'link' {
  if (a.kind !== b.kind) return 'kind';
  return a.kind === 'symlink' ? 'link' : 'content';
}
