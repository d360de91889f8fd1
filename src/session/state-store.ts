/**
 * The last-synced state of one rule in one container: per path the content both sides agreed
 * on, plus quick-check data. Stored as JSON under `.composync/state/`: a base file written
 * atomically, one record per line, and beside it a journal (`<file>.journal`) to which a watch
 * batch appends only the records it changed; the journal is folded into a new base once it
 * holds about a quarter of the tree's records.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { appendFile, rm } from 'node:fs/promises';
import type { Conflict } from '../core/reconcile.js';
import { StateTable } from '../core/table.js';
import type { EntryKind, StateEntry, StateTree } from '../core/tree.js';
import { forEachLine, forEachLineBytes } from '../lines.js';
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
  /** The generation of this base: the journal's lines that carry another one are ignored. */
  gen?: string;
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
  /**
   * Entries the state of this rule held for a predecessor of the container (same name, another
   * id: recreated). Its records do not apply to the new container, but they tell the safety
   * checks that this rule had content before (an empty new target is then suspect).
   */
  predecessor?: number;
  /**
   * The generation of the base file on disk that holds this state (with its journal), when
   * that file was written for the same rule, container and target; the records changed since
   * then are in `dirty` (kept up to date by applyTransition), and `journaled` records are in the
   * journal already. Without a generation the next write is a whole new base.
   */
  gen?: string;
  dirty?: Set<string>;
  journaled?: number;
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
  let foreign = false;
  try {
    const data = await readStateFile(path, (head) => {
      if (head.version !== VERSION || head.target !== expect.target) throw new Error('stale');
      if (expect.containerId && head.containerId && head.containerId !== expect.containerId)
        foreign = true;
    });
    const state: RuleState & { tree: StateTable } = {
      tree: data.tree,
      conflicts: data.conflicts ?? [],
      unsure: new Set(data.unsure ?? []),
    };
    // the journal belongs to its base whatever container reads it
    const journaled = data.gen === undefined ? 0 : await readJournal(path, data.gen, state);
    if (foreign) return { ...emptyState(), predecessor: state.tree.size };
    // a file in the old one-line layout is rewritten by the next reconcile
    state.stored =
      !data.oneLine &&
      data.containerId === expect.containerId &&
      data.rule === expect.rule &&
      data.container === expect.container;
    // a journal is extended only for this very rule, container and target
    if (state.stored && data.gen !== undefined)
      Object.assign(state, { gen: data.gen, dirty: new Set(), journaled });
    return state;
  } catch {
    return emptyState();
  }
}

/** A state that records nothing. */
export const emptyState = (): RuleState => ({
  tree: new StateTable(),
  conflicts: [],
  unsure: new Set(),
});

const journalPath = (path: string) => `${path}.journal`;

/** One journal line: the records a write changed, and the conflicts and unsure paths after it. */
interface JournalLine {
  /** The generation of the base this line extends. */
  g: string;
  s: [string, Row][];
  d: string[];
  c: Conflict[];
  u: string[];
}

/**
 * Apply the journal lines of generation `gen` to `state`; the number of records they hold. A
 * line torn by a crash is skipped: the records it held are older in the state than on either
 * side, and an old or missing record is compared on both sides again, never trusted blindly.
 */
async function readJournal(
  path: string,
  gen: string,
  state: RuleState & { tree: StateTable },
): Promise<number> {
  let records = 0;
  const take = (line: string) => {
    if (line === '') return;
    let j: JournalLine;
    try {
      j = JSON.parse(line) as JournalLine;
    } catch {
      return;
    }
    if (j.g !== gen) return;
    for (const [p, row] of j.s) setRow(state.tree, p, row);
    for (const p of j.d) state.tree.delete(p);
    state.conflicts = j.c;
    state.unsure = new Set(j.u);
    records += j.s.length + j.d.length;
  };
  try {
    await forEachLine(createReadStream(journalPath(path)) as AsyncIterable<Buffer>, take);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return records;
}

/** One record of the file into the table, without an entry object between. */
function setRow(tree: StateTable, p: string, [kind, h, lSize, lMtimeMs, rSize, rMtime]: Row) {
  tree.setFields(p, kind, h ?? undefined, lSize, lMtimeMs, rSize, rMtime);
}

type Head = Omit<StateFile, 'entries'>;

/**
 * Read a state file. Files are written one record per line ({@link saveState}) and read line by
 * line, so a state of 100,000 paths never exists as one 11 MB string plus its parsed copy (which
 * took 60 MB of heap at start-up); a file in one line (as written before) is parsed whole.
 * Records are read from the bytes ({@link takeRecord}); a record in another form than the one
 * saveState writes for plain names (an escape in its path or link text) is parsed as JSON.
 * `check` sees the head (everything but the records) before any record is read, and may throw.
 */
async function readStateFile(
  path: string,
  check: (head: Head) => void,
): Promise<Head & { tree: StateTable; oneLine?: boolean }> {
  const tree = new StateTable();
  let head: Head | null = null;
  let whole: string[] | null = null; // the lines of a file in the old layout
  let tail = '';
  const take = (buf: Buffer, start: number, end: number) => {
    if (whole) whole.push(buf.toString('utf8', start, end));
    else if (head === null) {
      const line = buf.toString('utf8', start, end);
      if (!line.endsWith(ENTRIES_OPEN)) whole = [line];
      else {
        head = JSON.parse(`${line}}}`) as Head;
        check(head);
      }
    } else if (tail !== '' || buf[start] === CLOSE) tail += buf.toString('utf8', start, end);
    else if (!takeRecord(tree, buf, start, end)) {
      const line = buf.toString('utf8', start, end);
      // `"path":[row],`: the key ends at its first unescaped quote
      let q = 1;
      while (q < line.length && line[q] !== '"') q += line[q] === '\\' ? 2 : 1;
      const to = line.endsWith(',') ? line.length - 1 : line.length;
      const [p, row] = JSON.parse(`[${line.slice(0, q + 1)},${line.slice(q + 2, to)}]`) as [
        string,
        Row,
      ];
      setRow(tree, p, row);
    }
  };
  await forEachLineBytes(
    createReadStream(path, { highWaterMark: 1 << 18 }) as AsyncIterable<Buffer>,
    take,
  );
  if (whole) {
    const { entries, ...data } = JSON.parse((whole as string[]).join('\n')) as StateFile;
    check(data);
    for (const [p, row] of Object.entries(entries)) setRow(tree, p, row);
    return { ...data, tree, oneLine: true };
  }
  if (head === null) throw new Error('empty');
  const end = JSON.parse(`{"entries":{${tail}`) as Pick<StateFile, 'conflicts' | 'unsure'>;
  return { ...(head as Head), conflicts: end.conflicts, unsure: end.unsure, tree };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const CLOSE = 0x7d; // '}'
const KIND_BYTES: [EntryKind, Buffer][] = (['file', 'dir', 'symlink'] as const).map((k) => [
  k,
  Buffer.from(`["${k}",`),
]);
const NULL_BYTES = Buffer.from('null,');

/** Whether `buf` holds `lit` at `at`. */
function bytesAt(buf: Buffer, at: number, lit: Buffer): boolean {
  for (let j = 0; j < lit.length; j++) if (buf[at + j] !== lit[j]) return false;
  return true;
}

/** The end of the JSON string starting at the quote at `from`; -1 when it holds an escape. */
function plainStringEnd(buf: Buffer, from: number, end: number): number {
  for (let k = from + 1; k < end; k++) {
    const c = buf[k];
    if (c === QUOTE) return k;
    if (c === BACKSLASH) return -1;
  }
  return -1;
}

/**
 * One record line as saveState writes it, `"path":["kind","text"|null,n,n,n,n]` with a comma
 * after all but the last, read from its bytes into the table: about four times quicker than
 * JSON.parse, and the path and text are decoded into strings of their own. False (nothing
 * taken) for any other form; the caller parses that line as JSON.
 */
function takeRecord(tree: StateTable, buf: Buffer, start: number, end: number): boolean {
  if (buf[start] !== QUOTE) return false;
  const keyEnd = plainStringEnd(buf, start, end);
  if (keyEnd === -1 || buf[keyEnd + 1] !== 0x3a) return false; // ':'
  let i = keyEnd + 2;
  const kind = KIND_BYTES.find(([, lit]) => bytesAt(buf, i, lit));
  if (!kind) return false;
  i += kind[1].length;
  let text: string | undefined;
  if (bytesAt(buf, i, NULL_BYTES)) i += NULL_BYTES.length;
  else {
    if (buf[i] !== QUOTE) return false;
    const textEnd = plainStringEnd(buf, i, end);
    if (textEnd === -1 || buf[textEnd + 1] !== COMMA) return false;
    text = buf.toString('utf8', i + 1, textEnd);
    i = textEnd + 2;
  }
  const n = [0, 0, 0, 0];
  for (let f = 0; f < 4; f++) {
    const stop = f < 3 ? COMMA : 0x5d; // ']'
    let j = i;
    let int = 0;
    let digits = true;
    for (; j < end && buf[j] !== stop; j++) {
      const d = buf[j]! - 0x30;
      if (d >= 0 && d <= 9) int = int * 10 + d;
      else digits = false;
    }
    if (j === i || j === end) return false;
    // a fraction or an exponent: parsed as JavaScript does, to the same double
    n[f] = digits && j - i < 16 ? int : Number(buf.toString('latin1', i, j));
    if (Number.isNaN(n[f])) return false;
    i = j + 1;
  }
  if (i !== end && !(i === end - 1 && buf[i] === COMMA)) return false;
  tree.loadFields(
    buf.toString('utf8', start + 1, keyEnd),
    kind[0],
    text,
    n[0]!,
    n[1]!,
    n[2]!,
    n[3]!,
  );
  return true;
}

const ENTRIES_OPEN = '"entries":{';

type Meta = { rule: string; container: string; containerId?: string; target: string };

/** Entries serialized between two yields to the event loop. */
const CHUNK = 2000;

const rowOf = (e: StateEntry): Row => [
  e.kind,
  e.hash ?? e.link ?? null,
  e.lSize,
  e.lMtimeMs,
  e.rSize,
  e.rMtime,
];

/**
 * Write a state now as a new base (atomically), one record per line, and drop the journal. The
 * tree is serialized in chunks that are written as they are made, yielding between them, so a
 * state of 100,000 entries never blocks the event loop for long (a watch batch arriving
 * meanwhile is not held up) and never exists as one string. The tree is read as it is, not
 * copied first (a copy of 100,000 records was 10 MB of entries at the end of an initial copy,
 * when memory peaks): a path that changes while the file is written may be in it with either
 * value or not at all, and it is in `dirty`, emptied as the write begins, so the journal written
 * after this base holds what it is now.
 */
export async function saveState(path: string, meta: Meta, state: RuleState): Promise<void> {
  const gen = randomBytes(6).toString('hex');
  const rows = state.tree.entries();
  state.gen = undefined;
  state.dirty = new Set();
  const conflicts = JSON.stringify(state.conflicts);
  const head = JSON.stringify({ version: VERSION, ...meta, gen });
  const unsure = state.unsure?.size ? `,"unsure":${JSON.stringify([...state.unsure])}` : '';
  async function* text() {
    yield `${head.slice(0, -1)},${ENTRIES_OPEN}\n`;
    // each record ends with a comma but the last, which is only known once the tree ends
    let part = '';
    let n = 0;
    for (const [p, e] of rows) {
      if (n > 0 && n % CHUNK === 0) {
        yield part;
        part = '';
        await new Promise((res) => setImmediate(res));
      }
      part += `${n++ === 0 ? '' : ',\n'}${JSON.stringify(p)}:${JSON.stringify(rowOf(e))}`;
    }
    yield `${part}${n === 0 ? '' : '\n'}`;
    yield `},"conflicts":${conflicts}${unsure}}\n`;
  }
  await writeFileAtomic(path, text());
  // lines of the old generation left by a failed removal are ignored on load
  await rm(journalPath(path), { force: true }).catch(() => undefined);
  state.gen = gen;
  state.journaled = 0;
}

/**
 * Journal records past which the next write is a new base: a quarter of the tree (at least
 * 10,000), so a load reads at most a quarter more records than the tree holds, and the base's
 * rewrite is paid once per that many changed records rather than once per batch.
 */
const journalLimit = (size: number) => Math.max(10_000, size >> 2);

/**
 * Write what changed of a state: the records in `dirty` appended to the journal as one line,
 * when the base on disk holds the rest and the journal has room; else a new base. A watch batch
 * on a tree of a million records then writes its few records, not the million (which took
 * about 4 s of CPU a write and held every edit behind it).
 */
async function writeState(path: string, meta: Meta, state: RuleState): Promise<void> {
  const { gen, dirty } = state;
  const journaled = state.journaled ?? 0;
  if (
    gen === undefined ||
    dirty === undefined ||
    journaled + dirty.size > journalLimit(state.tree.size)
  )
    return saveState(path, meta, state);
  state.dirty = new Set();
  const line: JournalLine = {
    g: gen,
    s: [],
    d: [],
    c: state.conflicts,
    u: [...(state.unsure ?? [])],
  };
  for (const p of dirty) {
    const e = state.tree.get(p);
    if (e) line.s.push([p, rowOf(e)]);
    else line.d.push(p);
  }
  try {
    // a line torn by a crash is followed by a newline before the next one
    await appendFile(journalPath(path), `\n${JSON.stringify(line)}\n`);
    state.journaled = journaled + dirty.size;
  } catch (err) {
    state.gen = undefined; // what this line held is written with the next base
    throw err;
  }
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
  const write = () => writeState(path, meta, state);
  const p = pending.get(path);
  if (p) {
    p.write = write;
    return;
  }
  pending.set(path, { timer: setTimeout(() => void flushState(path), SAVE_DELAY_MS), write });
}

/** Run `write` after any write of `path` in progress: two writes of one state never overlap. */
function enqueue(path: string, write: () => Promise<void>): Promise<void> {
  const next = (writing.get(path) ?? Promise.resolve()).then(write);
  const settled = next.catch(() => undefined);
  writing.set(path, settled);
  void settled.then(() => {
    if (writing.get(path) === settled) writing.delete(path);
  });
  return next;
}

/** Write a state now, replacing a pending write of it; after any write of it in progress. */
export async function saveStateNow(path: string, meta: Meta, state: RuleState): Promise<void> {
  const p = pending.get(path);
  if (p) {
    clearTimeout(p.timer);
    pending.delete(path);
  }
  await enqueue(path, () => writeState(path, meta, state));
}

/** Write a pending state of `path` now, and wait for any write of it in progress. */
export async function flushState(path: string): Promise<void> {
  const p = pending.get(path);
  if (p) {
    clearTimeout(p.timer);
    pending.delete(path);
    void enqueue(path, p.write).catch(() => undefined);
  }
  await writing.get(path);
}
