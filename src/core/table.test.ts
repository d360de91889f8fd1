import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EntryTable, sharedKey, StateTable } from './table.js';
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
  // made with room for rows at once, below and past that room
  behavesAsMap(() => new EntryTable(3), entry);
  behavesAsMap(() => new EntryTable(5000), entry);
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

test('sharedKey: the key a table holds for a path, or the path itself', () => {
  const t = new StateTable();
  t.setFields('a/b', 'dir', undefined, 0, 0, 0, 0);
  assert.equal(sharedKey(t, 'a/b'), 'a/b');
  assert.equal(sharedKey(t, 'x'), 'x');
  assert.equal(sharedKey(new Map([['a/b', 1]]), 'a/b'), 'a/b');
  // an entry table keeps no row -> key column: it answers with the path asked
  const e = new EntryTable(2000);
  for (let i = 0; i < 3000; i++) e.setFields(`p/${i}`, 'file', i, 1000, 0o644);
  assert.equal(sharedKey(e, 'p/2999'), 'p/2999');
  assert.equal(e.keyOf('p/3000'), undefined);
  assert.deepEqual(e.get('p/2999'), { kind: 'file', size: 2999, mtimeMs: 1000, mode: 0o644 });
});
