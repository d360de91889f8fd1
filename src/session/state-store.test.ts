import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp as mkdtempFs, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  flushState,
  loadState,
  saveState,
  saveStateNow,
  saveStateSoon,
  SAVE_DELAY_MS,
  type RuleState,
} from './state-store.js';
import type { StateEntry } from '../core/tree.js';

/** Temporary directories of this file's tests, removed when they are done. */
const made: string[] = [];
const mkdtemp = async (prefix: string) => {
  const dir = await mkdtempFs(prefix);
  made.push(dir);
  return dir;
};
after(() => Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))));

describe('state store', () => {
  const meta = { rule: 'web/0', container: 'p-web-1', target: '/app' };

  test('round trip, written atomically (no temporary file left)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'composync-state-'));
    const path = join(dir, 'state', 'web.0@p-web-1.json');
    await saveState(path, meta, {
      tree: new Map([
        ['a', { kind: 'file', hash: 'h', lSize: 1, lMtimeMs: 2, rSize: 1, rMtime: 0 }],
        ['l', { kind: 'symlink', link: 'a', lSize: 0, lMtimeMs: 2, rSize: 0, rMtime: 0 }],
      ]),
      conflicts: [{ path: 'a', reason: 'r' }],
    });
    const back = await loadState(path, { target: '/app' });
    assert.equal(back.tree.get('a')?.hash, 'h');
    assert.equal(back.tree.get('l')?.link, 'a');
    assert.deepEqual(back.conflicts, [{ path: 'a', reason: 'r' }]);
    assert.deepEqual(await readdir(join(dir, 'state')), ['web.0@p-web-1.json']);
  });

  test('a torn or foreign file is an empty state (a full reconcile follows), not a crash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'composync-state-'));
    const torn = join(dir, 'torn.json');
    await writeFile(torn, '{"version":1,"entries":{"a":["fi');
    assert.equal((await loadState(torn, { target: '/app' })).tree.size, 0);
    const other = join(dir, 'other.json');
    await saveState(other, { ...meta, target: '/elsewhere' }, { tree: new Map(), conflicts: [] });
    assert.equal((await loadState(other, { target: '/app' })).tree.size, 0);
  });

  const fileEntry = (i: number) =>
    ({ kind: 'file', hash: `h${i}`, lSize: i, lMtimeMs: i + 0.5, rSize: i, rMtime: i }) as const;

  /** Set (or, without an entry, remove) a record as applyTransition does: marked for the journal. */
  const record = (state: RuleState, rel: string, entry?: StateEntry) => {
    if (entry) state.tree.set(rel, entry);
    else state.tree.delete(rel);
    state.dirty?.add(rel);
  };

  test('a large tree round trip (serialized in chunks)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'composync-state-'));
    const path = join(dir, 'big.json');
    const tree = new Map(Array.from({ length: 5001 }, (_, i) => [`d/f${i}`, fileEntry(i)]));
    await saveState(path, meta, { tree, conflicts: [] });
    const back = await loadState(path, { target: '/app' });
    assert.equal(back.tree.size, 5001);
    assert.deepEqual(back.tree.get('d/f5000'), fileEntry(5000));
  });

  test('one record per line, read back line by line; odd names survive', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'composync-state-'));
    const path = join(dir, 'lines.json');
    const names = ['a"b', 'c\\"d', 'e\nf', 'g":["h', 'ünï/cödé', '}x', 'sep\u2028', 'k:v,'];
    const tree = new Map<string, StateEntry>(names.map((n, i) => [n, fileEntry(i)]));
    tree.set('l', { kind: 'symlink', link: '../a"b', lSize: 0, lMtimeMs: 1, rSize: 0, rMtime: 0 });
    tree.set('d', { kind: 'dir', lSize: 0, lMtimeMs: 1, rSize: 0, rMtime: 0 });
    const conflicts = [{ path: 'a"b', reason: 'r\n}' }];
    await saveState(path, meta, { tree, conflicts, unsure: new Set(['e\nf']) });
    const text = await readFile(path, 'utf8');
    assert.equal(text.trimEnd().split('\n').length, tree.size + 2); // head, records, tail
    assert.deepEqual(JSON.parse(text).entries['g":["h'], ['file', 'h3', 3, 3.5, 3, 3]);
    const back = await loadState(path, { target: '/app' });
    assert.deepEqual([...back.tree], [...tree]);
    assert.deepEqual(back.conflicts, conflicts);
    assert.deepEqual([...back.unsure!], ['e\nf']);
    // torn after a whole record: empty, as any torn file
    await writeFile(path, text.slice(0, text.indexOf('\n', text.indexOf('\n') + 1) + 1));
    assert.equal((await loadState(path, { target: '/app' })).tree.size, 0);
  });

  test('records read from their bytes hold what JSON would: numbers of every form, texts, names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'composync-state-'));
    const path = join(dir, 'numbers.json');
    const tree = new Map<string, StateEntry>();
    const numbers = [0, 7, 1.5, 0.1 + 0.2, 1e21, 2 ** 53 + 2, 123456789012345680, -3, 1e-7];
    numbers.forEach((n, i) =>
      tree.set(`d/f${i}.txt`, {
        kind: 'file',
        hash: 'ab'.repeat(20),
        lSize: i,
        lMtimeMs: n,
        rSize: n,
        rMtime: Math.trunc(n),
      }),
    );
    tree.set('dé/ünï 😀', fileEntry(1));
    tree.set('l', { kind: 'symlink', link: 'ü/x,y]', lSize: 0, lMtimeMs: 2, rSize: 6, rMtime: 2 });
    tree.set('d', { kind: 'dir', lSize: 0, lMtimeMs: 1.25, rSize: 0, rMtime: 1 });
    await saveState(path, meta, { tree, conflicts: [], unsure: new Set() });
    const back = await loadState(path, { target: '/app' });
    const text = await readFile(path, 'utf8');
    const parsed = JSON.parse(text).entries as Record<string, unknown[]>;
    assert.deepEqual(
      [...back.tree].map(([p, e]) => [
        p,
        [e.kind, e.hash ?? e.link ?? null, e.lSize, e.lMtimeMs, e.rSize, e.rMtime],
      ]),
      Object.entries(parsed),
    );
    assert.deepEqual(
      [...back.tree],
      [...tree].map(([p, e]) => [p, { ...e, rMtime: e.rMtime || 0 }]),
    );
  });

  test('a path recorded twice in a file reads back once, with its last record, as JSON reads it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'composync-state-'));
    const path = join(dir, 'twice.json');
    const tree = new Map<string, StateEntry>([
      ['a', fileEntry(1)],
      ['b', fileEntry(2)],
      ['c\\"q', fileEntry(4)], // an escape: a record parsed as JSON among those read from bytes
    ]);
    await saveState(path, meta, { tree, conflicts: [], unsure: new Set() });
    const lines = (await readFile(path, 'utf8')).split('\n');
    // the record of `a` again after `b`, with another size; the escaped one twice
    const [head, a, b, q] = lines as [string, string, string, string];
    lines.splice(0, 4, head, a, b, a.replace(/,1,/, ',9,'), `${q},`, q);
    await writeFile(path, lines.join('\n'));
    const parsed = JSON.parse(lines.join('\n')).entries as Record<string, unknown>;
    const back = await loadState(path, { target: '/app' });
    assert.equal(back.tree.size, 3);
    assert.deepEqual([...back.tree.keys()].sort(), Object.keys(parsed).sort());
    assert.equal(back.tree.get('a')!.lSize, 9);
    assert.deepEqual(back.tree.get('b'), fileEntry(2));
    assert.deepEqual(back.tree.get('c\\"q'), fileEntry(4));
  });

  test('a file in one line (as written before) still loads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'composync-state-'));
    const path = join(dir, 'old.json');
    await writeFile(
      path,
      JSON.stringify({
        version: 1,
        ...meta,
        entries: { 'a b': ['file', 'h', 1, 2.5, 1, 2], l: ['symlink', 'x', 0, 1, 0, 0] },
        conflicts: [{ path: 'a b', reason: 'r' }],
      }),
    );
    const back = await loadState(path, { target: '/app' });
    assert.deepEqual(back.tree.get('a b'), {
      kind: 'file',
      lSize: 1,
      lMtimeMs: 2.5,
      rSize: 1,
      rMtime: 2,
      hash: 'h',
    });
    assert.equal(back.tree.get('l')?.link, 'x');
    assert.deepEqual(back.conflicts, [{ path: 'a b', reason: 'r' }]);
    // not `stored`: the next reconcile rewrites it one record per line
    const expect = { target: '/app', rule: meta.rule, container: meta.container };
    assert.equal((await loadState(path, expect)).stored, false);
    assert.equal((await loadState(path, { target: '/other' })).tree.size, 0);
  });

  test('a state loaded from a file written for the same rule and container is stored', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'composync-state-'));
    const path = join(dir, 'stored.json');
    const withId = { ...meta, containerId: 'c1' };
    await saveState(path, withId, { tree: new Map(), conflicts: [] });
    const expect = { target: '/app', containerId: 'c1', rule: 'web/0', container: 'p-web-1' };
    assert.equal((await loadState(path, expect)).stored, true);
    // another container name, no container id recorded, or no file: it must be written
    assert.equal((await loadState(path, { ...expect, container: 'p-web-2' })).stored, false);
    await saveState(path, meta, { tree: new Map(), conflicts: [] });
    assert.equal((await loadState(path, expect)).stored, false);
    assert.notEqual((await loadState(join(dir, 'none.json'), expect)).stored, true);
  });

  test('paths whose write may have landed survive a save and a load', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'composync-state-'));
    const path = join(dir, 'unsure.json');
    await saveState(path, meta, { tree: new Map(), conflicts: [], unsure: new Set(['a', 'b/c']) });
    assert.deepEqual([...(await loadState(path, { target: '/app' })).unsure!].sort(), ['a', 'b/c']);
  });

  test('deferred saves: a burst shares one write, flushed by a load or an explicit save', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'composync-state-'));
    const path = join(dir, 'soon.json');
    const state: RuleState = { tree: new Map([['a', fileEntry(1)]]), conflicts: [] };
    saveStateSoon(path, meta, state);
    state.tree.set('b', fileEntry(2));
    saveStateSoon(path, meta, state);
    // nothing written yet: the write waits for the burst to end
    assert.equal(await stat(path).catch(() => null), null);
    const loaded = await loadState(path, { target: '/app' });
    assert.deepEqual([...loaded.tree.keys()].sort(), ['a', 'b']);

    record(state, 'c', fileEntry(3));
    saveStateSoon(path, meta, state);
    record(state, 'a');
    await saveStateNow(path, meta, state);
    await flushState(path); // the pending write was replaced: nothing older lands later
    await new Promise((r) => setTimeout(r, SAVE_DELAY_MS + 50));
    const back = await loadState(path, { target: '/app' });
    assert.deepEqual([...back.tree.keys()].sort(), ['b', 'c']);
  });

  test('a deferred save lands on its own within the delay', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'composync-state-'));
    const path = join(dir, 'later.json');
    saveStateSoon(path, meta, { tree: new Map([['x', fileEntry(7)]]), conflicts: [] });
    await new Promise((r) => setTimeout(r, SAVE_DELAY_MS + 200));
    assert.ok(await stat(path));
    assert.equal((await loadState(path, { target: '/app' })).tree.get('x')?.hash, 'h7');
  });

  const stored = { target: '/app', rule: meta.rule, container: meta.container };

  /** A base of `n` records for `meta`, loaded back as the session would. */
  async function based(n: number) {
    const dir = await mkdtemp(join(tmpdir(), 'composync-state-'));
    const path = join(dir, 'j.json');
    const tree = new Map(Array.from({ length: n }, (_, i) => [`f${i}`, fileEntry(i)]));
    await saveState(path, meta, { tree, conflicts: [] });
    return { path, state: await loadState(path, stored) };
  }

  test('a change appends its records to a journal; the base is not rewritten', async () => {
    const { path, state } = await based(100);
    assert.ok(state.stored && state.gen && state.dirty);
    const base = await readFile(path, 'utf8');
    record(state, 'f1', fileEntry(1001));
    record(state, 'new', fileEntry(7));
    record(state, 'f2');
    state.conflicts = [{ path: 'f3', reason: 'modified on both sides' }];
    state.unsure = new Set(['f4']);
    await saveStateNow(path, meta, state);
    record(state, 'f5', fileEntry(1005));
    await saveStateNow(path, meta, state);
    assert.equal(await readFile(path, 'utf8'), base);
    const journal = (await readFile(`${path}.journal`, 'utf8')).split('\n').filter(Boolean);
    assert.equal(journal.length, 2);
    assert.deepEqual(JSON.parse(journal[1]!).s, [
      ['f5', ['file', 'h1005', 1005, 1005.5, 1005, 1005]],
    ]);
    const back = await loadState(path, stored);
    assert.deepEqual([...back.tree].sort(), [...state.tree].sort());
    assert.deepEqual(back.conflicts, state.conflicts);
    assert.deepEqual([...back.unsure!], ['f4']);
    assert.equal(back.journaled, 4);
  });

  test('records changed while a base is written reach the file through the journal after it', async () => {
    // a state loaded from its file (a compact table), as a session holds it
    const { path, state } = await based(20_000);
    const writing = saveState(path, meta, state);
    // the write yields between chunks: change the tree meanwhile, as watch batches do, behind
    // and ahead of the record being written
    for (let round = 0; round < 12; round++) {
      await new Promise((r) => setImmediate(r));
      for (let i = round; i < 20_000; i += 997) record(state, `f${i}`);
      for (let i = round + 1; i < 20_000; i += 1_499) record(state, `f${i}`, fileEntry(i + 50_000));
      record(state, `new/${round}`, fileEntry(round));
    }
    await writing;
    assert.ok(state.dirty!.size > 0);
    await saveStateNow(path, meta, state); // the journal line for what changed
    const back = await loadState(path, stored);
    assert.equal(back.tree.size, state.tree.size);
    assert.deepEqual([...back.tree].sort(), [...state.tree].sort());
  });

  test('a journal line torn by a crash is skipped, and later lines still apply', async () => {
    const { path, state } = await based(10);
    record(state, 'f1', fileEntry(11));
    await saveStateNow(path, meta, state);
    const text = await readFile(`${path}.journal`, 'utf8');
    await writeFile(`${path}.journal`, `${text}${text.slice(0, 20)}`); // torn: no newline
    const again = await loadState(path, stored);
    assert.equal(again.tree.get('f1')?.hash, 'h11');
    record(again, 'f2', fileEntry(12));
    await saveStateNow(path, meta, again);
    const back = await loadState(path, stored);
    assert.equal(back.tree.get('f1')?.hash, 'h11');
    assert.equal(back.tree.get('f2')?.hash, 'h12');
  });

  test('past a quarter of the tree the journal is folded into a new base', async () => {
    const { path, state } = await based(40_000);
    const change = (from: number, n: number) => {
      for (let i = from; i < from + n; i++) {
        record(state, `f${i}`, fileEntry(i + 1));
      }
    };
    change(0, 9_000);
    await saveStateNow(path, meta, state);
    assert.ok(await stat(`${path}.journal`));
    change(9_000, 2_000); // 11,000 records: past 10,000, the limit of a tree of 40,000
    await saveStateNow(path, meta, state);
    assert.equal(await stat(`${path}.journal`).catch(() => null), null);
    assert.equal(state.journaled, 0);
    const back = await loadState(path, stored);
    assert.equal(back.tree.get('f10999')?.hash, 'h11000');
    assert.equal(back.tree.get('f11000')?.hash, 'h11000');
  });

  test('lines of an older base are ignored; a base for another container takes no journal', async () => {
    const { path, state } = await based(10);
    record(state, 'f1', fileEntry(11));
    await saveStateNow(path, meta, state);
    const old = await readFile(`${path}.journal`, 'utf8');
    state.tree.set('f1', fileEntry(21));
    await saveState(path, meta, state); // a new base, then the journal of the old one is back
    await writeFile(`${path}.journal`, old);
    assert.equal((await loadState(path, stored)).tree.get('f1')?.hash, 'h21');
    const other = await loadState(path, { ...stored, container: 'p-web-2' });
    assert.equal(other.gen, undefined); // its next write is a whole base
  });

  test('the records a predecessor container had, journal included, tell a recreated one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'composync-state-'));
    const path = join(dir, 'pred.json');
    const c1 = { ...meta, containerId: 'c1' };
    await saveState(path, c1, { tree: new Map(), conflicts: [] });
    const state = await loadState(path, { ...stored, containerId: 'c1' });
    for (let i = 0; i < 3; i++) record(state, `f${i}`, fileEntry(i));
    await saveStateNow(path, c1, state);
    const recreated = await loadState(path, { ...stored, containerId: 'c2' });
    assert.equal(recreated.tree.size, 0);
    assert.equal(recreated.predecessor, 3);
  });
});
