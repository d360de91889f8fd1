import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
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

    state.tree.set('c', fileEntry(3));
    saveStateSoon(path, meta, state);
    state.tree.delete('a');
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
});
