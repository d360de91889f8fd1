/**
 * The sync modes in one table: per mode, which way it moves files, whether it mirrors, its
 * initial-sync strategies, whether a watch batch may take the state for the container side,
 * and its three-way decision. Everything mode-specific reads this table; adding a mode is one
 * entry here plus its column in the table tests (reconcile.test.ts, modes.test.ts).
 */
import { INITIAL_SYNCS, MODES, type InitialSync, type Mode } from './model.js';
import type { Action } from './reconcile.js';

/** The facts of one path the per-mode decision looks at (both sides differ in content). */
export interface PathChange {
  local: boolean;
  remote: boolean;
  base: boolean;
  /** The side differs from the last-synced entry. */
  localChanged: boolean;
  remoteChanged: boolean;
}

export interface ModeSpec {
  /** Which way files move. */
  direction: 'up' | 'down' | 'both';
  /** The replica side is made an exact copy: `verify` counts extra entries as drift. */
  mirrors: boolean;
  /** SPEC §3 "Initial sync": the default strategy. */
  defaultInitialSync: InitialSync;
  /** The strategies that write only in the mode's directions. */
  initialSyncs: readonly InitialSync[];
  /**
   * A watch batch rebuilds the container side of the paths the state knows from the state
   * instead of asking the container: the mode overwrites whatever is there anyway.
   */
  remoteFromState: boolean;
  /** For the JSON Schema and help. */
  summary: string;
  /** The decision for a path whose sides differ, against its last-synced entry. */
  decide(c: PathChange): Action;
}

const UP: readonly InitialSync[] = ['mirrorLocal', 'preferLocal', 'disabled'];
const DOWN: readonly InitialSync[] = ['mirrorRemote', 'preferRemote', 'disabled'];

export const MODE_SPECS: Readonly<Record<Mode, ModeSpec>> = {
  'one-way-safe': {
    direction: 'up',
    mirrors: false,
    defaultInitialSync: 'preferLocal',
    initialSyncs: UP,
    remoteFromState: false,
    summary:
      'one-way-safe (alias one-way, the default): local -> container; a container-side edit is never overwritten, it is reported as a conflict',
    decide: (c) => {
      if (!c.remoteChanged) return c.local ? 'upload' : 'delete-remote';
      if (!c.remote) return 'upload'; // deleted in the container: restore it (local exists here)
      if (!c.local && !c.base) return 'none'; // container-only: keep
      return 'conflict';
    },
  },
  'one-way-replica': {
    direction: 'up',
    mirrors: true,
    defaultInitialSync: 'mirrorLocal',
    initialSyncs: UP,
    remoteFromState: true,
    summary: 'one-way-replica: the target is made an exact mirror of the source',
    decide: (c) => (c.local ? 'upload' : 'delete-remote'),
  },
  'one-way-reverse': {
    direction: 'down',
    mirrors: false,
    defaultInitialSync: 'preferRemote',
    initialSyncs: DOWN,
    remoteFromState: false,
    summary: 'one-way-reverse: container -> local, like one-way-safe reversed',
    decide: (c) => {
      if (!c.localChanged) return c.remote ? 'download' : 'delete-local';
      if (!c.local) return 'download';
      if (!c.remote && !c.base) return 'none'; // local-only: keep
      return 'conflict';
    },
  },
  'one-way-replica-reverse': {
    direction: 'down',
    mirrors: true,
    defaultInitialSync: 'mirrorRemote',
    initialSyncs: DOWN,
    remoteFromState: false,
    summary: 'one-way-replica-reverse: the local source is made a mirror of the target',
    decide: (c) => (c.remote ? 'download' : 'delete-local'),
  },
  'two-way-safe': {
    direction: 'both',
    mirrors: true,
    defaultInitialSync: 'preferLocal',
    initialSyncs: INITIAL_SYNCS,
    remoteFromState: false,
    summary:
      'two-way-safe (alias two-way): both ways; a file changed on both sides is left alone and reported',
    decide: (c) => {
      if (!c.remoteChanged) return c.local ? 'upload' : 'delete-remote';
      if (!c.localChanged) return c.remote ? 'download' : 'delete-local';
      // changed on both sides: a modification wins over a deletion, never both lost
      if (!c.local) return 'download';
      if (!c.remote) return 'upload';
      return 'conflict';
    },
  },
  'two-way-resolved': {
    direction: 'both',
    mirrors: true,
    defaultInitialSync: 'preferLocal',
    initialSyncs: INITIAL_SYNCS,
    remoteFromState: false,
    summary: 'two-way-resolved: both ways; local wins every conflict, deletions included',
    decide: (c) => {
      if (!c.localChanged) return c.remote ? 'download' : 'delete-local';
      return c.local ? 'upload' : 'delete-remote';
    },
  },
};

/** The spec of a mode. */
export const modeSpec = (mode: Mode): ModeSpec => MODE_SPECS[mode];

/** Which way a mode moves files. */
export const modeDirection = (mode: Mode): ModeSpec['direction'] => MODE_SPECS[mode].direction;

/** The SPEC's default initial-sync strategy of a mode. */
export const defaultInitialSync = (mode: Mode): InitialSync => MODE_SPECS[mode].defaultInitialSync;

/**
 * The mode of the stateful one-shot transfers (`push`, `pull`): a two-way-safe reconcile
 * against the state, restricted to the asked direction, so a conflicting file is kept as it is
 * on both sides whatever the rule's own mode.
 */
export const TRANSFER_MODE: Mode = 'two-way-safe';

/** The modes, each with its summary, for the schema's description. */
export const modesDescription = (): string =>
  `Sync mode (Mutagen names). ${MODES.map((m) => MODE_SPECS[m].summary).join('. ')}.`;
