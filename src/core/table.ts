/**
 * Compact trees: a path's fields in typed columns instead of an object per path. A tree of a
 * million paths as a Map of objects held about 230 bytes a state record (the object, two boxed
 * numbers for the times, the key) and 110 a scanned entry, and gave the garbage collector a
 * dozen objects a path to trace; here a path costs its key (shared between the trees of one
 * reconcile, see {@link Table.keyOf}), its hash string and about 50 bytes of columns.
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
 */
abstract class Table<V> implements PathMap<V> {
  /** Key → row, in insertion order (iteration follows it, as a Map's does). */
  private readonly rows = new Map<string, number>();
  /**
   * Row → its key (the string the map holds), for {@link keyOf}: kept by a table whose strings
   * others share (the state), not by those that borrow them (8 bytes a row each).
   */
  private readonly keyAt: (string | undefined)[] | null;
  private readonly free: number[] = [];
  private capacity = 0;
  private kinds = new Uint8Array(0);
  private readonly texts: (string | undefined)[] = [];
  /** The capacity of the first growth. */
  private readonly initial: number;

  /**
   * @param opts.lendsKeys the table's keys are handed out by {@link keyOf}
   * @param opts.capacity rows to make room for at once (a tree about to be filled with about
   *   as many paths as another: no column is copied while it grows)
   */
  constructor(opts: { lendsKeys: boolean; capacity?: number }) {
    this.keyAt = opts.lendsKeys ? [] : null;
    this.initial = Math.max(0, opts.capacity ?? 0);
  }

  get size(): number {
    return this.rows.size;
  }

  has(key: string): boolean {
    return this.rows.has(key);
  }

  get(key: string): V | undefined {
    const r = this.rows.get(key);
    return r === undefined ? undefined : this.at(r);
  }

  /** Record `value` at `key` (through the subclass's setFields). */
  abstract set(key: string, value: V): this;

  delete(key: string): boolean {
    const r = this.rows.get(key);
    if (r === undefined) return false;
    this.rows.delete(key);
    if (this.keyAt) this.keyAt[r] = undefined;
    this.texts[r] = undefined;
    this.free.push(r);
    return true;
  }

  /**
   * The key this table holds equal to `key`, if any. A tree built beside another (the local and
   * container trees of a reconcile beside its state) keys its rows with the other's strings, so
   * a path's text is kept once rather than once per tree.
   */
  keyOf(key: string): string | undefined {
    const r = this.rows.get(key);
    if (r === undefined) return undefined;
    return this.keyAt ? this.keyAt[r] : key;
  }

  keys(): IterableIterator<string> {
    return this.rows.keys();
  }

  *values(): IterableIterator<V> {
    for (const r of this.rows.values()) yield this.at(r);
  }

  *entries(): IterableIterator<[string, V]> {
    for (const [k, r] of this.rows) yield [k, this.at(r)];
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }

  private at(r: number): V {
    return this.read(r, KIND_OF[this.kinds[r]!]!, this.texts[r]);
  }

  /**
   * The row of `key` (made when it has none), its kind and text set; the caller sets the
   * numbers. A directory keeps no text, whatever it is given.
   */
  protected rowFor(key: string, kind: EntryKind, text: string | undefined): number {
    let r = this.rows.get(key);
    if (r === undefined) {
      r = this.free.pop() ?? this.rows.size;
      if (r >= this.capacity) {
        this.capacity = Math.max(1024, this.initial, this.capacity * 2);
        this.kinds = grown(this.kinds, this.capacity);
        this.grow(this.capacity);
      }
      this.rows.set(key, r);
      if (this.keyAt) this.keyAt[r] = key;
    }
    this.kinds[r] = KIND_CODE[kind];
    this.texts[r] = kind === 'dir' ? undefined : text;
    return r;
  }

  /** The value of a row, from its kind, its text and the subclass's numbers. */
  protected abstract read(row: number, kind: EntryKind, text: string | undefined): V;
  /** Make room for `capacity` rows in the subclass's columns. */
  protected abstract grow(capacity: number): void;
}

/**
 * The string `other` keys `key` with when it is a table that holds it, else `key`: what a tree
 * built beside `other` keys its row with.
 */
export function sharedKey(other: PathMap<unknown>, key: string): string {
  return other instanceof Table ? (other.keyOf(key) ?? key) : key;
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
    const r = this.rowFor(key, kind, text);
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
  /** @param capacity rows to make room for at once (see Table) */
  constructor(capacity?: number) {
    super({ lendsKeys: false, capacity });
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
