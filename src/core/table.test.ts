import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EntryTable, forEachWith, StateTable } from './table.js';
import type { Entry, StateEntry } from './tree.js';

const kinds = ['file', 'dir', 'symlink'] as const;
type Kind = (typeof kinds)[number];

/** The generated text as a file's hash or a link's text (a directory has neither). */
function withText<T extends object>({ kind, text, ...rest }: T & { kind: Kind; text?: string }) {
  if (kind === 'file' && text !== undefined) return { kind, hash: text, ...rest };
  if (kind === 'symlink' && text !== undefined) return { kind, link: text, ...rest };
  return { kind, ...rest };
}

const stateEntry = fc
  .record({
    kind: fc.constantFrom(...kinds),
    text: fc.option(fc.string({ minLength: 1, maxLength: 8 }), { nil: undefined }),
    lSize: fc.nat(),
    lMtimeMs: fc.double({ min: 0, max: 4e12, noNaN: true }),
    rSize: fc.nat(),
    rMtime: fc.integer({ min: 0, max: 4e9 }),
  })
  .map((r): StateEntry => withText(r));

const entry = fc
  .record({
    kind: fc.constantFrom(...kinds),
    text: fc.option(fc.string({ minLength: 1, maxLength: 8 }), { nil: undefined }),
    size: fc.nat(),
    mtimeMs: fc.double({ min: 0, max: 4e12, noNaN: true }),
    mode: fc.integer({ min: 0, max: 0o7777 }),
  })
  .map((r): Entry => withText(r));

/** Random sets and deletes on a few keys: the table reads as a Map given the same calls. */
function behavesAsMap<V>(make: () => EntryTable | StateTable, value: fc.Arbitrary<V>) {
  const key = fc.constantFrom('a', 'b', 'a/b', 'a/b/c', 'd', 'é/ü', '');
  const op = fc.oneof(
    fc.record({ set: key, value }),
    fc.record({ del: key }),
    fc.record({ get: key }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const table = make() as unknown as Map<string, V>;
      const map = new Map<string, V>();
      for (const o of ops) {
        if ('set' in o) {
          table.set(o.set, o.value);
          map.set(o.set, o.value);
        } else if ('del' in o) assert.equal(table.delete(o.del), map.delete(o.del));
        else assert.deepEqual(table.get(o.get), map.get(o.get));
        assert.equal(table.size, map.size);
      }
      // the same entries in the same (insertion) order, by every way of iterating
      assert.deepEqual([...table], [...map]);
      assert.deepEqual([...table.keys()], [...map.keys()]);
      assert.deepEqual([...table.values()], [...map.values()]);
      assert.deepEqual([...table.entries()], [...map.entries()]);
      for (const k of map.keys()) assert.ok(table.has(k));
    }),
  );
}

test('a state table reads back what was set, as a Map of the same calls does', () => {
  behavesAsMap(() => new StateTable(), stateEntry);
});

test('an entry table reads back what was set, as a Map of the same calls does', () => {
  behavesAsMap(() => new EntryTable(), entry);
  // made beside a tree that is not a state table: with room for as many rows at once, below
  // and past that room
  const sized = (n: number) => new Map(Array.from({ length: n }, (_, i) => [`s/${i}`, i]));
  behavesAsMap(() => new EntryTable({ beside: sized(3) }), entry);
  behavesAsMap(() => new EntryTable({ beside: sized(5000) }), entry);
});

test('tables grow past their first columns and reuse the rows of deleted keys', () => {
  const t = new StateTable();
  for (let i = 0; i < 5000; i++)
    t.setFields(`d/${i}`, 'file', `h${i}`, i, 1.7e12 + i + 0.5, i + 1, 1.7e9 + i);
  for (let i = 0; i < 5000; i += 2) t.delete(`d/${i}`);
  for (let i = 0; i < 2500; i++)
    t.set(`n/${i}`, { kind: 'dir', lSize: 0, lMtimeMs: 1, rSize: 0, rMtime: 1 });
  assert.equal(t.size, 5000);
  assert.deepEqual(t.get('d/4999'), {
    kind: 'file',
    hash: 'h4999',
    lSize: 4999,
    lMtimeMs: 1.7e12 + 4999.5,
    rSize: 5000,
    rMtime: 1.7e9 + 4999,
  });
  assert.equal(t.get('d/4998'), undefined);
  assert.deepEqual(t.get('n/2499'), { kind: 'dir', lSize: 0, lMtimeMs: 1, rSize: 0, rMtime: 1 });
});

test('a value read from a table is a copy: changing it changes the table only when set again', () => {
  const t = new EntryTable();
  t.setFields('f', 'file', 3, 1000, 0o644);
  const e = t.get('f')!;
  e.hash = 'abc';
  assert.equal(t.get('f')!.hash, undefined);
  t.set('f', e);
  assert.equal(t.get('f')!.hash, 'abc');
  // a directory keeps no text, whatever it was given
  t.setFields('d', 'dir', 0, 1000, 0o755, 'ignored');
  assert.deepEqual(t.get('d'), { kind: 'dir', size: 0, mtimeMs: 1000, mode: 0o755 });
});

const sorted = <T>(it: Iterable<[string, T]>) => [...it].sort(([a], [b]) => (a < b ? -1 : 1));

test('a table aligned with a state reads as a Map of the same calls, while the state changes', () => {
  const key = fc.constantFrom('a', 'b', 'a/b', 'a/b/c', 'd', 'é/ü', '', 'x', 'y/z');
  const st = (text: string): StateEntry => ({
    kind: 'file',
    hash: text,
    lSize: 1,
    lMtimeMs: 2,
    rSize: 3,
    rMtime: 4,
  });
  const op = fc.oneof(
    fc.record({ set: key, value: entry }),
    fc.record({ del: key }),
    fc.record({ get: key }),
    // the state it was built beside: new paths (on reused rows too) and deleted ones
    fc.record({ baseSet: key }),
    fc.record({ baseDel: key }),
  );
  fc.assert(
    fc.property(fc.uniqueArray(key), fc.array(op, { maxLength: 60 }), (known, ops) => {
      const base = new StateTable();
      for (const k of known) base.set(k, st(k));
      // rows the state freed before the table was made
      if (known.length > 1) base.delete(known[0]!);
      const table = new EntryTable({ beside: base });
      const map = new Map<string, Entry>();
      for (const o of ops) {
        if ('set' in o) {
          table.set(o.set, o.value);
          map.set(o.set, o.value);
        } else if ('del' in o) assert.equal(table.delete(o.del), map.delete(o.del));
        else if ('get' in o) assert.deepEqual(table.get(o.get), map.get(o.get));
        else if ('baseSet' in o) base.set(o.baseSet, st('new'));
        else base.delete(o.baseDel);
        assert.equal(table.size, map.size);
      }
      // the same entries, in row order rather than insertion order
      assert.deepEqual(sorted(table), sorted(map));
      assert.deepEqual([...table.keys()].sort(), [...map.keys()].sort());
      assert.deepEqual([...table.values()].length, [...map.values()].length);
      for (const k of map.keys()) assert.ok(table.has(k));
      for (const k of map.keys()) assert.equal(table.keyOf(k), k);
      // the state itself is untouched by the table
      for (const k of base.keys()) assert.ok(base.get(k));
    }),
  );
});

test('an aligned table takes the rows of its state: a large tree beside a large state', () => {
  const base = new StateTable();
  for (let i = 0; i < 3000; i++) base.setFields(`p/${i}`, 'file', `h${i}`, i, 1, i, 1);
  const e = new EntryTable({ beside: base });
  for (let i = 2999; i >= 0; i -= 2) e.setFields(`p/${i}`, 'file', i, 1000, 0o644);
  // a path the state lacks goes to the table's own map
  e.setFields('q', 'dir', 0, 1000, 0o755);
  assert.equal(e.size, 1501);
  assert.deepEqual(e.get('p/2999'), { kind: 'file', size: 2999, mtimeMs: 1000, mode: 0o644 });
  assert.equal(e.get('p/2998'), undefined);
  assert.ok(e.has('q'));
  // iteration follows the state's rows, then the table's own
  const keys = [...e.keys()];
  assert.equal(keys[0], 'p/1');
  assert.equal(keys.at(-1), 'q');
  // once the state deletes, the table stands on its own and still holds every path
  base.delete('p/2999');
  base.setFields('r', 'file', 'h', 1, 1, 1, 1);
  assert.equal(e.get('r'), undefined);
  assert.deepEqual(e.get('p/2999'), { kind: 'file', size: 2999, mtimeMs: 1000, mode: 0o644 });
  assert.equal(e.size, 1501);
  assert.ok(e.delete('p/1'));
  assert.equal(e.size, 1500);
  assert.equal(e.keyOf('p/3'), 'p/3');
});

test('forEachWith reads the other two sides as get does, aligned or not', () => {
  const key = fc.constantFrom('a', 'b', 'a/b', 'a/b/c', 'd', 'é/ü', '', 'x', 'y/z');
  const st: StateEntry = { kind: 'dir', lSize: 0, lMtimeMs: 1, rSize: 0, rMtime: 1 };
  const side = fc.array(fc.tuple(key, entry), { maxLength: 12 });
  fc.assert(
    fc.property(
      fc.uniqueArray(key),
      side,
      side,
      fc.array(fc.oneof(fc.record({ baseSet: key }), fc.record({ baseDel: key })), {
        maxLength: 3,
      }),
      fc.boolean(),
      (known, local, remote, baseOps, plainRemote) => {
        const base = new StateTable();
        for (const k of known) base.set(k, { ...st, rSize: k.length });
        const l = new EntryTable({ beside: base });
        for (const [k, e] of local.slice(0, 6)) l.set(k, e);
        // the state may change between the two trees (the remote one is then made beside a
        // larger state, or the local one loses its alignment)
        for (const o of baseOps)
          if ('baseSet' in o) base.set(o.baseSet, st);
          else base.delete(o.baseDel);
        for (const [k, e] of local.slice(6)) l.set(k, e);
        const r = plainRemote ? new Map<string, Entry>() : new EntryTable({ beside: base });
        for (const [k, e] of remote) r.set(k, e);
        const seen: unknown[] = [];
        forEachWith(l, r, base, (k, v, inR, inB) => seen.push([k, v, inR, inB]));
        const expected = [...l].map(([k, v]) => [k, v, r.get(k), base.get(k)]);
        assert.deepEqual(seen, expected);
      },
    ),
  );
});
