import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, planSync, rawPlan, restrictPlan, type Action } from './reconcile.js';
import { MODES, type InitialSync, type Mode } from './model.js';
import type { Entry, StateEntry, StateTree, Tree } from './tree.js';

const file = (hash: string, mtimeMs = 1000): Entry => ({
  kind: 'file',
  hash,
  size: hash.length,
  mtimeMs,
  mode: 0o644,
});
const dir = (): Entry => ({ kind: 'dir', size: 0, mtimeMs: 1000, mode: 0o755 });
const st = (e: Entry): StateEntry => ({
  kind: e.kind,
  hash: e.hash,
  lSize: e.size,
  lMtimeMs: e.mtimeMs,
  rSize: e.size,
  rMtime: 1,
});

const v0 = file('v0');
const v1 = file('v1');
const v2 = file('v2');

// [case, local, remote, base, expected per mode in MODES order:
//  one-way-safe, one-way-replica, one-way-reverse, one-way-replica-reverse, two-way-safe, two-way-resolved]
type Row = [string, Entry | undefined, Entry | undefined, Entry | undefined, Action[]];
const N = 'none';
const U = 'upload';
const D = 'download';
const DR = 'delete-remote';
const DL = 'delete-local';
const C = 'conflict';
const rows: Row[] = [
  ['unchanged on both sides', v0, v0, v0, [N, N, N, N, N, N]],
  ['modified locally', v1, v0, v0, [U, U, C, D, U, U]],
  ['modified in the container', v0, v1, v0, [C, U, D, D, D, D]],
  ['modified the same way on both sides', v1, v1, v0, [N, N, N, N, N, N]],
  ['modified differently on both sides', v1, v2, v0, [C, U, C, D, C, U]],
  ['deleted locally', undefined, v0, v0, [DR, DR, D, D, DR, DR]],
  ['deleted in the container', v0, undefined, v0, [U, U, DL, DL, DL, DL]],
  ['deleted on both sides', undefined, undefined, v0, [N, N, N, N, N, N]],
  ['deleted locally, modified in the container', undefined, v1, v0, [C, DR, D, D, D, DR]],
  ['modified locally, deleted in the container', v1, undefined, v0, [U, U, C, DL, U, U]],
  ['created locally', v1, undefined, undefined, [U, U, N, DL, U, U]],
  ['created in the container', undefined, v1, undefined, [N, DR, D, D, D, D]],
  ['created the same on both sides', v1, v1, undefined, [N, N, N, N, N, N]],
  ['created differently on both sides', v1, v2, undefined, [C, U, C, D, C, U]],
  ['directory created locally', dir(), undefined, undefined, [U, U, N, DL, U, U]],
  ['file replaced by a directory locally', dir(), v0, v0, [U, U, C, D, U, U]],
];

describe('decide: every mode, every combination of changes since the last sync', () => {
  for (const [name, l, r, b, expected] of rows) {
    MODES.forEach((mode, i) => {
      test(`${mode}: ${name} → ${expected[i]}`, () => {
        assert.equal(decide(l, r, b ? st(b) : undefined, mode), expected[i]);
      });
    });
  }
});

describe('decide: initial sync strategies for paths the state does not know', () => {
  const old = file('old', 1000);
  const neu = file('new', 2000);
  // [strategy, mode, local, remote, expected]
  const cases: [InitialSync, Mode, Entry | undefined, Entry | undefined, Action][] = [
    ['mirrorLocal', 'one-way-safe', v1, v2, U],
    ['mirrorLocal', 'one-way-safe', undefined, v2, DR],
    ['preferLocal', 'one-way-safe', v1, v2, U],
    ['preferLocal', 'one-way-safe', undefined, v2, N],
    ['preferLocal', 'two-way-safe', undefined, v2, D],
    ['preferLocal', 'two-way-safe', v1, undefined, U],
    ['preferRemote', 'two-way-safe', v1, v2, D],
    ['preferRemote', 'two-way-safe', v1, undefined, U],
    ['preferRemote', 'one-way-reverse', v1, undefined, N],
    ['preferRemote', 'one-way-reverse', undefined, v2, D],
    ['mirrorRemote', 'one-way-replica-reverse', v1, undefined, DL],
    ['mirrorRemote', 'two-way-safe', v1, v2, D],
    ['preferNewest', 'two-way-safe', old, neu, D],
    ['preferNewest', 'two-way-safe', neu, old, U],
    ['preferNewest', 'two-way-safe', undefined, old, D],
    ['keepAll', 'two-way-safe', v1, v2, C],
    ['keepAll', 'two-way-safe', v1, undefined, U],
    ['keepAll', 'two-way-safe', undefined, v2, D],
    ['preferLocal', 'one-way-safe', v1, v1, N],
  ];
  for (const [strategy, mode, l, r, expected] of cases) {
    test(`${strategy} in ${mode}: local ${l?.hash ?? '-'}, remote ${r?.hash ?? '-'} → ${expected}`, () => {
      assert.equal(decide(l, r, undefined, mode, strategy), expected);
    });
  }
  test('a known base uses the mode: one-way-safe keeps a container edit under preferLocal', () => {
    assert.equal(decide(v1, v2, st(v0), 'one-way-safe', 'preferLocal'), C);
  });
  test('mirrorLocal overwrites a container edit even with a known base', () => {
    assert.equal(decide(v1, v2, st(v0), 'one-way-safe', 'mirrorLocal'), U);
  });
});

const tree = (entries: Record<string, Entry>): Tree => new Map(Object.entries(entries));
const state = (entries: Record<string, Entry>): StateTree =>
  new Map(Object.entries(entries).map(([k, v]) => [k, st(v)]));

describe('planSync', () => {
  test('a locally deleted directory becomes one rm of the directory', () => {
    const remote = tree({ a: dir(), 'a/b': dir(), 'a/b/c': v0, 'a/d': v0, keep: v0 });
    const plan = planSync({
      local: tree({ keep: v0 }),
      remote,
      base: state({ a: dir(), 'a/b': dir(), 'a/b/c': v0, 'a/d': v0, keep: v0 }),
      mode: 'one-way-safe',
    });
    assert.deepEqual(plan.deleteRemote, ['a']);
    assert.deepEqual(plan.upload, []);
    assert.deepEqual(plan.agreed, []); // its record holds
  });

  test('agreed: the equal paths whose record is missing, old or unsure; not those it holds', () => {
    const plan = planSync({
      local: tree({ held: v0, touched: file('v0', 2000), unrecorded: v0, unsure: v0, d: dir() }),
      remote: tree({ held: v0, touched: v0, unrecorded: v0, unsure: v0, d: dir() }),
      base: state({ held: v0, touched: v0, unsure: v0, d: dir() }),
      mode: 'two-way-safe',
      unsure: new Set(['unsure']),
    });
    assert.deepEqual(plan.agreed.sort(), ['touched', 'unrecorded', 'unsure']);
    assert.deepEqual([plan.upload, plan.download, plan.conflicts], [[], [], []]);
  });

  test('paths only in the container or only in the state are planned when every local one agrees', () => {
    // the local pass sees every path of one tree but not the other's: both other passes run
    const plan = planSync({
      local: tree({ a: v0 }),
      remote: tree({ a: v0, extra: v1 }),
      base: state({ a: v0, old: v0 }),
      mode: 'two-way-safe',
    });
    assert.deepEqual(plan.download, ['extra']);
    assert.deepEqual(plan.gone, ['old']);
    const onlyBase = planSync({
      local: tree({ a: v0 }),
      remote: tree({ a: v0 }),
      base: state({ a: v0, old: v0 }),
      mode: 'two-way-safe',
    });
    assert.deepEqual(onlyBase.gone, ['old']);
  });

  test('one-way-safe keeps a directory holding a container-only file, deletes the rest', () => {
    const plan = planSync({
      local: tree({}),
      remote: tree({ a: dir(), 'a/synced': v0, 'a/theirs': v1 }),
      base: state({ a: dir(), 'a/synced': v0 }),
      mode: 'one-way-safe',
    });
    assert.deepEqual(plan.deleteRemote, ['a/synced']);
  });

  test('one-way-replica deletes container-only files', () => {
    const plan = planSync({
      local: tree({ a: v0 }),
      remote: tree({ a: v0, extra: v1, x: dir(), 'x/y': v1 }),
      base: state({ a: v0 }),
      mode: 'one-way-replica',
    });
    assert.deepEqual(plan.deleteRemote, ['extra', 'x']);
  });

  test('uploads come parents first; a kind change removes the old entry first', () => {
    const plan = planSync({
      local: tree({ n: dir(), 'n/f': v1, 'n/g': v2, k: dir() }),
      remote: tree({ k: v0 }),
      base: state({ k: v0 }),
      mode: 'one-way-safe',
    });
    assert.deepEqual(plan.upload, ['k', 'n', 'n/f', 'n/g']);
    assert.deepEqual(plan.deleteRemote, ['k']);
  });

  test('uploadExclude keeps paths out of uploads and container deletions', () => {
    const plan = planSync({
      local: tree({ 'a.secret': v1 }),
      remote: tree({ 'b.secret': v1 }),
      base: new Map(),
      mode: 'one-way-replica',
      noUp: (p) => p.endsWith('.secret'),
    });
    assert.deepEqual(plan.upload, []);
    assert.deepEqual(plan.deleteRemote, []);
  });

  test('conflicts are listed with a reason', () => {
    const plan = planSync({
      local: tree({ f: v1 }),
      remote: tree({ f: v2 }),
      base: state({ f: v0 }),
      mode: 'two-way-safe',
    });
    assert.deepEqual(plan.conflicts, [
      { path: 'f', reason: 'modified locally and modified in the container since the last sync' },
    ]);
  });

  test('a path whose write may have landed: the container copy counts as ours, local wins', () => {
    for (const mode of ['one-way-safe', 'two-way-safe', 'two-way-resolved'] as const) {
      // new: written (v1) but unconfirmed, then edited again (v2); known: synced v0, then the
      // same for v1; gone: its unconfirmed write never landed
      const input = {
        local: tree({ new: v2, known: v2, gone: v1 }),
        remote: tree({ new: v1, known: v1 }),
        base: state({ known: v0 }),
        mode,
      };
      const without = planSync(input);
      assert.deepEqual(
        without.conflicts.map((c) => c.path),
        mode === 'two-way-resolved' ? [] : ['known', 'new'],
        mode,
      );
      const plan = planSync({ ...input, unsure: new Set(['new', 'known', 'gone']) });
      assert.deepEqual(plan.conflicts, [], mode);
      assert.deepEqual(plan.upload, ['gone', 'known', 'new'], mode);
    }
  });
});

describe('push and pull plans', () => {
  test('restrictPlan keeps only the allowed directions', () => {
    const plan = planSync({
      local: tree({ up: v1, same: v0 }),
      remote: tree({ down: v2, same: v0 }),
      base: state({ same: v0 }),
      mode: 'two-way-safe',
    });
    assert.deepEqual(restrictPlan(plan, { up: true, down: false }).download, []);
    assert.deepEqual(restrictPlan(plan, { up: true, down: false }).upload, ['up']);
    assert.deepEqual(restrictPlan(plan, { up: false, down: true }).download, ['down']);
    assert.deepEqual(restrictPlan(plan, { up: false, down: true }).upload, []);
  });

  test('rawPlan overwrites every differing entry and deletes nothing', () => {
    const plan = rawPlan(
      tree({ a: v1, b: v0, k: dir() }),
      tree({ a: v2, b: v0, c: v2, k: v0 }),
      'up',
    );
    assert.deepEqual(plan.upload, ['a', 'k']);
    assert.deepEqual(plan.deleteRemote, ['k']);
    assert.deepEqual(plan.agreed, ['b']);
  });

  test('whatever order the trees hold their paths in, actions come parents first', () => {
    // children inserted before their parents, the container's paths before the local ones
    const local = new Map<string, Entry>([
      ['z/b/f', v1],
      ['z/b', dir()],
      ['z', dir()],
      ['a', v1],
    ]);
    const remote = new Map<string, Entry>([
      ['y/x/g', v0],
      ['y/x', dir()],
      ['y', dir()],
      ['a', v0],
    ]);
    const base = new Map<string, StateEntry>([
      ['y/x/g', st(v0)],
      ['y/x', st(dir())],
      ['y', st(dir())],
      ['a', st(v0)],
      ['gone', st(v0)],
    ]);
    const plan = planSync({ local, remote, base, mode: 'one-way-replica' });
    assert.deepEqual(plan.upload, ['a', 'z', 'z/b', 'z/b/f']);
    assert.deepEqual(plan.deleteRemote, ['y']); // collapsed to the topmost directory
    assert.deepEqual(plan.gone, ['gone']);
  });
});
