/**
 * Compact trees: a path's fields in typed columns instead of an object per path. A tree of a
 * million paths as a Map of objects held about 230 bytes a state record (the object, two boxed
 * numbers for the times, the key) and 110 a scanned entry, and gave the garbage collector a
 * dozen objects a path to trace; here a path costs its key (shared between the trees of one
 * reconcile, which are aligned with its state: see Table), its hash string and about 50 bytes
 * of columns.
 *
 * A table reads and writes like a `Map<string, V>` ({@link PathMap}), so the core's pure
 * functions take either and tests keep passing Maps. `get` builds the value on each call: a
 * value read from a table is a copy, and changing it changes nothing until it is `set` again.
 */
import type { Entry, EntryKind, StateEntry } from './tree.js';

/** What the core reads and writes of a tree: the part of `Map<string, V>` it uses. */
export interface PathMap<V> {
  readonly size: number;
  get(key: string): V | undefined;
  has(key: string): boolean;
  set(key: string, value: V): this;
  delete(key: string): boolean;
  keys(): IterableIterator<string>;
  values(): IterableIterator<V>;
  entries(): IterableIterator<[string, V]>;
  [Symbol.iterator](): IterableIterator<[string, V]>;
}

const KIND_CODE: Record<EntryKind, number> = { file: 1, dir: 2, symlink: 3 };
const KIND_OF: (EntryKind | undefined)[] = [undefined, 'file', 'dir', 'symlink'];

/** A file's hash, a link's text, nothing for a directory: what the text column holds. */
const textOf = (e: { kind: EntryKind; hash?: string; link?: string }) =>
  e.kind === 'file' ? e.hash : e.kind === 'symlink' ? e.link : undefined;

/**
 * Rows of columns behind a key → row map; rows of deleted keys are reused. The kind and the
 * text (a file's hash or a link's text) are columns of every table; each kind of table adds its
 * numbers.
 *
 * A table built beside a state table (the local walk's and the container listing's trees of a
 * reconcile, `beside`) is aligned with it: a path the state holds takes the state's row number
 * and the state's string, so it costs no map entry of its own and its lookup is the state's one;
 * only paths the state lacks go into the table's own map. Rows are tied to the state's as long
 * as the state deletes nothing: once it does (a row of its may then be reused for another
 * path), the table moves its aligned rows into its own map on its next lookup and is a table
 * on its own from then on.
 */
abstract class Table<V> implements PathMap<V> {
  /** Key → row: every key of a table on its own, the keys not aligned with `beside` else. */
  private readonly rows = new Map<string, number>();
  /**
   * Row → its key (the string the map holds), for {@link keyOf} and for an aligned table's
   * iteration: kept by a table whose strings others share (the state) and by aligned tables,
   * not by a table on its own that borrows nothing (8 bytes a row each).
   */
  private readonly keyAt: (string | undefined)[] | null;
  private readonly free: number[] = [];
  private capacity = 0;
  private kinds = new Uint8Array(0);
  private readonly texts: (string | undefined)[] = [];
  /** The capacity of the first growth. */
  private readonly initial: number;
  /** Rows handed out so far, free or not. */
  private next = 0;
  private count = 0;
  /** Keys deleted so far: what an aligned table checks its alignment by. */
  private deletions = 0;
  /** The table this one is aligned with (its rows below `alignedRows` are that table's). */
  private beside: Table<unknown> | null = null;
  private alignedRows = 0;
  private besideDeletions = 0;
  /** Iteration in row order (an aligned table) rather than the map's insertion order. */
  private readonly byRow: boolean;
  /**
   * The last key looked up in the map and its row: the walk and the listing ask the state for a
   * path and then set it in their table, which an aligned table looks up in the state again.
   */
  private memoKey: string | undefined;
  private memoRow: number | undefined;

  /**
   * @param opts.lendsKeys the table's keys are handed out by {@link keyOf}
   * @param opts.beside a state tree this table is filled beside: aligned with it when it is a
   *   table that lends its keys, else room is made for as many rows as it has (a tree about to
   *   be filled with about as many paths: no column is copied while it grows)
   */
  constructor(opts: { lendsKeys: boolean; beside?: PathMap<unknown> }) {
    const b = opts.beside;
    let initial = 0;
    if (b instanceof Table && b.keyAt !== null && b.beside === null && !opts.lendsKeys) {
      this.beside = b;
      this.alignedRows = b.next;
      this.besideDeletions = b.deletions;
      this.next = b.next;
      initial = b.next + 1024;
    } else if (b) initial = b.size;
    this.byRow = this.beside !== null;
    this.keyAt = opts.lendsKeys || this.byRow ? [] : null;
    this.initial = initial;
  }

  get size(): number {
    return this.count;
  }

  has(key: string): boolean {
    return this.find(key) >= 0;
  }

  get(key: string): V | undefined {
    const r = this.find(key);
    return r < 0 ? undefined : this.at(r);
  }

  /** Record `value` at `key` (through the subclass's setFields). */
  abstract set(key: string, value: V): this;

  delete(key: string): boolean {
    const r = this.find(key);
    if (r < 0) return false;
    this.kinds[r] = 0;
    this.texts[r] = undefined;
    if (this.keyAt) this.keyAt[r] = undefined;
    // an aligned row stays the state's: it is not reused for another key
    if (this.beside === null || r >= this.alignedRows) {
      this.rows.delete(key);
      this.memoKey = undefined;
      this.free.push(r);
    }
    this.count--;
    this.deletions++;
    return true;
  }

  /**
   * The key this table holds equal to `key`, if any. A tree built beside another (the local and
   * container trees of a reconcile beside its state) keys its rows with the other's strings, so
   * a path's text is kept once rather than once per tree.
   */
  keyOf(key: string): string | undefined {
    const r = this.find(key);
    if (r < 0) return undefined;
    return this.keyAt ? this.keyAt[r] : key;
  }

  keys(): IterableIterator<string> {
    return this.byRow ? this.rowKeys() : this.rows.keys();
  }

  *values(): IterableIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  *entries(): IterableIterator<[string, V]> {
    if (this.byRow) {
      for (let r = 0; r < this.next; r++)
        if (this.kinds[r]! > 0) yield [this.keyAt![r]!, this.at(r)];
    } else for (const [k, r] of this.rows) yield [k, this.at(r)];
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }

  private *rowKeys(): IterableIterator<string> {
    for (let r = 0; r < this.next; r++) if (this.kinds[r]! > 0) yield this.keyAt![r]!;
  }

  private at(r: number): V {
    return this.read(r, KIND_OF[this.kinds[r]!]!, this.texts[r]);
  }

  /** Whether the rows below alignedRows are still the state's (see the class). */
  private aligned(b: Table<unknown>): boolean {
    if (b.deletions === this.besideDeletions) return true;
    for (let r = 0; r < this.alignedRows; r++)
      if (this.kinds[r]! > 0) this.rows.set(this.keyAt![r]!, r);
    this.memoKey = undefined;
    this.beside = null;
    return false;
  }

  /** `rows.get(key)`, remembering the last answer. */
  private lookup(key: string): number | undefined {
    if (key === this.memoKey) return this.memoRow;
    const r = this.rows.get(key);
    this.memoKey = key;
    this.memoRow = r;
    return r;
  }

  /** The value at row `r`, if it holds one. */
  private valueAt(r: number): V | undefined {
    return this.kinds[r]! > 0 ? this.at(r) : undefined;
  }

  /** See {@link forEachWith}. */
  static forEachWith<V, A, B>(
    tree: PathMap<V>,
    a: PathMap<A>,
    b: PathMap<B>,
    fn: (key: string, value: V, inA: A | undefined, inB: B | undefined) => void,
  ): void {
    const x = tree instanceof Table && tree.byRow ? tree.beside : null;
    if (x === null || !(tree as Table<V>).aligned(x)) {
      for (const [k, v] of tree) fn(k, v, a.get(k), b.get(k));
      return;
    }
    const t = tree as Table<V>;
    // how many of the rows of `m` are the state's: all of its own for the state itself, those
    // below its alignedRows for a table aligned with the same state, none for any other tree
    const rowsOf = (m: PathMap<unknown>) =>
      m === x ? x.next : m instanceof Table && m.beside === x && m.aligned(x) ? m.alignedRows : 0;
    const ta = a as unknown as Table<A>;
    const tb = b as unknown as Table<B>;
    const limA = Math.min(rowsOf(a), t.alignedRows);
    const limB = Math.min(rowsOf(b), t.alignedRows);
    for (let r = 0; r < t.next; r++) {
      if (!(t.kinds[r]! > 0)) continue;
      const k = t.keyAt![r]!;
      fn(k, t.at(r), r < limA ? ta.valueAt(r) : a.get(k), r < limB ? tb.valueAt(r) : b.get(k));
    }
  }

  /** The row of `key`, or -1. */
  private find(key: string): number {
    const b = this.beside;
    if (b !== null && this.aligned(b)) {
      const r = b.lookup(key);
      if (r !== undefined && r < this.alignedRows && this.kinds[r]! > 0) return r;
      if (this.rows.size === 0) return -1;
    }
    return this.lookup(key) ?? -1;
  }

  /**
   * The row of `key` (made when it has none), its kind and text set; the caller sets the
   * numbers. A directory keeps no text, whatever it is given.
   */
  protected rowFor(key: string, kind: EntryKind, text: string | undefined, unseen = false): number {
    const r = unseen ? this.append(key) : this.place(key);
    if (r >= this.capacity) {
      this.capacity = Math.max(1024, this.initial, this.capacity * 2, r + 1);
      this.kinds = grown(this.kinds, this.capacity);
      this.grow(this.capacity);
    }
    this.kinds[r] = KIND_CODE[kind];
    this.texts[r] = kind === 'dir' ? undefined : text;
    return r;
  }

  /** The row of `key`, taken when it has none (its kind is set by the caller at once). */
  private place(key: string): number {
    const found = this.find(key);
    if (found >= 0) return found;
    // a path the state holds takes the state's row (find saw it empty, and the key is not in the
    // map: taken there before the state had it, it would have been found)
    const b = this.beside;
    if (b !== null) {
      const r = b.lookup(key); // the memo's: find has just asked
      if (r !== undefined && r < this.alignedRows) {
        this.keyAt![r] = b.keyAt![r];
        this.count++;
        return r;
      }
    }
    const r = this.free.pop() ?? this.next++;
    this.rows.set(key, r);
    this.memoKey = key;
    this.memoRow = r;
    if (this.keyAt) this.keyAt[r] = key;
    this.count++;
    return r;
  }

  /**
   * A new row for `key`, which the caller believes the table lacks (a state file's records,
   * read into a table of their own): no lookup before the insertion, which at a million keys
   * cost 0.7 s of a start. A key given twice keeps its last row, as a Map keeps its last value;
   * the earlier row is left unused.
   */
  private append(key: string): number {
    if (this.beside !== null || this.free.length > 0) return this.place(key);
    const r = this.next++;
    const n = this.rows.size;
    this.rows.set(key, r);
    this.memoKey = undefined;
    if (this.rows.size > n) this.count++;
    if (this.keyAt) this.keyAt[r] = key;
    return r;
  }

  /** The value of a row, from its kind, its text and the subclass's numbers. */
  protected abstract read(row: number, kind: EntryKind, text: string | undefined): V;
  /** Make room for `capacity` rows in the subclass's columns. */
  protected abstract grow(capacity: number): void;
}

/**
 * Call `fn` with each entry of `tree` and what `a` and `b` hold at its path. When `tree` is a
 * table aligned with a state and `a` or `b` is that state or a table aligned with it, a path the
 * state holds is read from the other's row with no lookup (the reconcile's pass over the local
 * tree); otherwise by `get`.
 */
export function forEachWith<V, A, B>(
  tree: PathMap<V>,
  a: PathMap<A>,
  b: PathMap<B>,
  fn: (key: string, value: V, inA: A | undefined, inB: B | undefined) => void,
): void {
  Table.forEachWith(tree, a, b, fn);
}

function grown<T extends Float64Array | Uint8Array | Uint16Array>(a: T, capacity: number): T {
  const b = new (a.constructor as new (n: number) => T)(capacity);
  b.set(a);
  return b;
}

/**
 * A state tree ({@link StateEntry} per path). A file's hash and a link's text share a column,
 * as they share a field of the state file's records.
 */
export class StateTable extends Table<StateEntry> {
  constructor() {
    super({ lendsKeys: true });
  }

  private lSize = new Float64Array(0);
  private lMtimeMs = new Float64Array(0);
  private rSize = new Float64Array(0);
  private rMtime = new Float64Array(0);

  /** Record a path from the fields of a state-file record, without an entry object between. */
  setFields(
    key: string,
    kind: EntryKind,
    text: string | undefined,
    lSize: number,
    lMtimeMs: number,
    rSize: number,
    rMtime: number,
  ): void {
    this.fill(this.rowFor(key, kind, text), lSize, lMtimeMs, rSize, rMtime);
  }

  /**
   * setFields of a path the table does not hold yet (a record read from a state file): see
   * Table.append.
   */
  loadFields(
    key: string,
    kind: EntryKind,
    text: string | undefined,
    lSize: number,
    lMtimeMs: number,
    rSize: number,
    rMtime: number,
  ): void {
    this.fill(this.rowFor(key, kind, text, true), lSize, lMtimeMs, rSize, rMtime);
  }

  private fill(r: number, lSize: number, lMtimeMs: number, rSize: number, rMtime: number): void {
    this.lSize[r] = lSize;
    this.lMtimeMs[r] = lMtimeMs;
    this.rSize[r] = rSize;
    this.rMtime[r] = rMtime;
  }

  set(key: string, e: StateEntry): this {
    this.setFields(key, e.kind, textOf(e), e.lSize, e.lMtimeMs, e.rSize, e.rMtime);
    return this;
  }

  protected read(r: number, kind: EntryKind, t: string | undefined): StateEntry {
    const lSize = this.lSize[r]!;
    const lMtimeMs = this.lMtimeMs[r]!;
    const rSize = this.rSize[r]!;
    const rMtime = this.rMtime[r]!;
    // only the fields an entry has: a copy deep-equals the entry that was set
    if (t === undefined) return { kind, lSize, lMtimeMs, rSize, rMtime };
    return kind === 'file'
      ? { kind, hash: t, lSize, lMtimeMs, rSize, rMtime }
      : { kind, link: t, lSize, lMtimeMs, rSize, rMtime };
  }

  protected grow(capacity: number): void {
    this.lSize = grown(this.lSize, capacity);
    this.lMtimeMs = grown(this.lMtimeMs, capacity);
    this.rSize = grown(this.rSize, capacity);
    this.rMtime = grown(this.rMtime, capacity);
  }
}

/** A scanned tree ({@link Entry} per path): what a walk or a container listing produces. */
export class EntryTable extends Table<Entry> {
  /** @param opts.beside the state tree the table is filled beside, to align with (see Table) */
  constructor(opts: { beside?: PathMap<unknown> } = {}) {
    super({ lendsKeys: false, ...opts });
  }

  private size_ = new Float64Array(0);
  private mtimeMs = new Float64Array(0);
  private mode = new Uint16Array(0);

  /** Record a path from its fields, without an entry object between. */
  setFields(
    key: string,
    kind: EntryKind,
    size: number,
    mtimeMs: number,
    mode: number,
    text?: string,
  ): void {
    const r = this.rowFor(key, kind, text);
    this.size_[r] = size;
    this.mtimeMs[r] = mtimeMs;
    this.mode[r] = mode;
  }

  set(key: string, e: Entry): this {
    this.setFields(key, e.kind, e.size, e.mtimeMs, e.mode, textOf(e));
    return this;
  }

  protected read(r: number, kind: EntryKind, t: string | undefined): Entry {
    const size = this.size_[r]!;
    const mtimeMs = this.mtimeMs[r]!;
    const mode = this.mode[r]!;
    if (t === undefined) return { kind, size, mtimeMs, mode };
    return kind === 'file'
      ? { kind, hash: t, size, mtimeMs, mode }
      : { kind, link: t, size, mtimeMs, mode };
  }

  protected grow(capacity: number): void {
    this.size_ = grown(this.size_, capacity);
    this.mtimeMs = grown(this.mtimeMs, capacity);
    this.mode = grown(this.mode, capacity);
  }
}
