/**
 * The last-synced state of one rule in one container: per path the content both sides agreed
 * on, plus quick-check data. Stored as JSON under `.composync/state/`, written atomically.
 */
import { readFile } from 'node:fs/promises';
import type { Conflict } from '../core/reconcile.js';
import type { EntryKind, StateTree } from '../core/tree.js';
import { writeFileAtomic } from './files.js';

const VERSION = 1;

type Row = [EntryKind, string | null, number, number, number, number];

interface StateFile {
  version: number;
  rule: string;
  container: string;
  /** The container's id: a recreated container keeps its name but not its id. */
  containerId?: string;
  target: string;
  entries: Record<string, Row>;
  conflicts: Conflict[];
  /** Paths whose last write into the container may or may not have landed. */
  unsure?: string[];
}

export interface RuleState {
  tree: StateTree;
  conflicts: Conflict[];
  /**
   * Paths whose last write into the container failed without telling whether it landed (the
   * container died mid-archive): the planner takes what the container holds there for
   * composync's own write (see PlanInput.unsure).
   */
  unsure?: Set<string>;
  /**
   * Loaded from a file written for the same rule, container (name and id) and target: while
   * nothing changes, that file need not be written again.
   */
  stored?: boolean;
}

/**
 * Load a state; a missing, unreadable or foreign file yields an empty state, and so does the
 * state of another container of the same name (recreated): what it recorded is not in the new
 * container, and a two-way rule would take its absence there for deletions to apply locally.
 */
export async function loadState(
  path: string,
  expect: { target: string; containerId?: string; rule?: string; container?: string },
): Promise<RuleState> {
  // a rule re-attached to a recreated container must see what its predecessor recorded
  await flushState(path);
  try {
    const data = JSON.parse(await readFile(path, 'utf8')) as StateFile;
    if (data.version !== VERSION || data.target !== expect.target) throw new Error('stale');
    if (expect.containerId && data.containerId && data.containerId !== expect.containerId)
      throw new Error('another container');
    const tree: StateTree = new Map();
    for (const [p, [kind, h, lSize, lMtimeMs, rSize, rMtime]] of Object.entries(data.entries)) {
      // one object literal per shape (a property added afterwards costs a properties array)
      tree.set(
        p,
        kind === 'file' && h !== null
          ? { kind, lSize, lMtimeMs, rSize, rMtime, hash: h }
          : kind === 'symlink' && h !== null
            ? { kind, lSize, lMtimeMs, rSize, rMtime, link: h }
            : { kind, lSize, lMtimeMs, rSize, rMtime },
      );
    }
    const stored =
      data.containerId === expect.containerId &&
      data.rule === expect.rule &&
      data.container === expect.container;
    return { tree, conflicts: data.conflicts ?? [], unsure: new Set(data.unsure ?? []), stored };
  } catch {
    return { tree: new Map(), conflicts: [], unsure: new Set() };
  }
}

type Meta = { rule: string; container: string; containerId?: string; target: string };

/** Entries serialized between two yields to the event loop. */
const CHUNK = 2000;

/**
 * Write a state now (atomically). The tree is copied first and serialized in chunks, yielding
 * between them, so a state of 100,000 entries never blocks the event loop for long: a watch
 * batch arriving meanwhile is not held up. Entries are replaced in the tree, never changed in
 * place, so the copy is consistent.
 */
export async function saveState(path: string, meta: Meta, state: RuleState): Promise<void> {
  const rows = [...state.tree];
  const conflicts = JSON.stringify(state.conflicts);
  const parts: string[] = [];
  for (let i = 0; i < rows.length; i += CHUNK) {
    if (i > 0) await new Promise((r) => setImmediate(r));
    for (const [p, e] of rows.slice(i, i + CHUNK)) {
      const row: Row = [e.kind, e.hash ?? e.link ?? null, e.lSize, e.lMtimeMs, e.rSize, e.rMtime];
      parts.push(`${JSON.stringify(p)}:${JSON.stringify(row)}`);
    }
  }
  const head = JSON.stringify({ version: VERSION, ...meta });
  const unsure = state.unsure?.size ? `,"unsure":${JSON.stringify([...state.unsure])}` : '';
  const text = `${head.slice(0, -1)},"entries":{${parts.join(',')}},"conflicts":${conflicts}${unsure}}`;
  await writeFileAtomic(path, text);
}

/**
 * How long a state may stay unwritten after a watch batch changed it. A whole-file write per
 * batch cost tens of ms on a 10,000-entry tree (hundreds on 100,000), more than the batch
 * itself; now a burst of batches shares one write. Losing the last second of state in a crash
 * is safe: a path whose record is missing or old is compared on both sides again and found
 * equal (or reported), never overwritten blindly.
 */
export const SAVE_DELAY_MS = 1000;

interface Pending {
  timer: NodeJS.Timeout;
  write: () => Promise<void>;
}

const pending = new Map<string, Pending>();
const writing = new Map<string, Promise<void>>();

/** Write a state within {@link SAVE_DELAY_MS}; later calls before then share the write. */
export function saveStateSoon(path: string, meta: Meta, state: RuleState): void {
  const write = () => saveState(path, meta, state);
  const p = pending.get(path);
  if (p) {
    p.write = write;
    return;
  }
  pending.set(path, { timer: setTimeout(() => void flushState(path), SAVE_DELAY_MS), write });
}

/** Write a state now, replacing a pending write of it; after any write of it in progress. */
export async function saveStateNow(path: string, meta: Meta, state: RuleState): Promise<void> {
  const p = pending.get(path);
  if (p) {
    clearTimeout(p.timer);
    pending.delete(path);
  }
  await writing.get(path);
  await saveState(path, meta, state);
}

/** Write a pending state of `path` now, and wait for any write of it in progress. */
export async function flushState(path: string): Promise<void> {
  const p = pending.get(path);
  if (p) {
    clearTimeout(p.timer);
    pending.delete(path);
    const prev = writing.get(path) ?? Promise.resolve();
    const next = prev.then(p.write).catch(() => undefined);
    writing.set(path, next);
    void next.then(() => {
      if (writing.get(path) === next) writing.delete(path);
    });
  }
  await writing.get(path);
}
