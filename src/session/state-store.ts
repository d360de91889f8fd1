/**
 * The last-synced state of one rule in one container: per path the content both sides agreed
 * on, plus quick-check data. Stored as JSON under `.composync/state/`, written atomically.
 */
import { readFile } from 'node:fs/promises';
import type { Conflict } from '../core/reconcile.js';
import type { EntryKind, StateEntry, StateTree } from '../core/tree.js';
import { writeFileAtomic } from './files.js';

const VERSION = 1;

type Row = [EntryKind, string | null, number, number, number, number];

interface StateFile {
  version: number;
  rule: string;
  container: string;
  target: string;
  entries: Record<string, Row>;
  conflicts: Conflict[];
}

export interface RuleState {
  tree: StateTree;
  conflicts: Conflict[];
}

/** Load a state; a missing, unreadable or foreign file yields an empty state. */
export async function loadState(path: string, expect: { target: string }): Promise<RuleState> {
  try {
    const data = JSON.parse(await readFile(path, 'utf8')) as StateFile;
    if (data.version !== VERSION || data.target !== expect.target) throw new Error('stale');
    const tree: StateTree = new Map();
    for (const [p, [kind, h, lSize, lMtimeMs, rSize, rMtime]] of Object.entries(data.entries)) {
      const e: StateEntry = { kind, lSize, lMtimeMs, rSize, rMtime };
      if (kind === 'file' && h !== null) e.hash = h;
      if (kind === 'symlink' && h !== null) e.link = h;
      tree.set(p, e);
    }
    return { tree, conflicts: data.conflicts ?? [] };
  } catch {
    return { tree: new Map(), conflicts: [] };
  }
}

export async function saveState(
  path: string,
  meta: { rule: string; container: string; target: string },
  state: RuleState,
): Promise<void> {
  const entries: Record<string, Row> = {};
  for (const [p, e] of state.tree) {
    entries[p] = [e.kind, e.hash ?? e.link ?? null, e.lSize, e.lMtimeMs, e.rSize, e.rMtime];
  }
  const file: StateFile = { version: VERSION, ...meta, entries, conflicts: state.conflicts };
  await writeFileAtomic(path, JSON.stringify(file));
}
