import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planSync } from './reconcile.js';
import { MODES, type Mode } from './model.js';
import { defaultInitialSync } from './modes.js';
import { checkSafety, GUARD_MIN_ENTRIES, withoutHeld, type RootFacts } from './safety.js';
import type { Entry, StateEntry, StateTree, Tree } from './tree.js';

const file = (hash: string): Entry => ({
  kind: 'file',
  hash,
  size: hash.length,
  mtimeMs: 1000,
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
const tree = (names: string[], v = 'v0'): Tree =>
  new Map(names.map((n) => (n.endsWith('/') ? [n.slice(0, -1), dir()] : [n, file(v)])));
const state = (t: Tree): StateTree => new Map([...t].map(([k, e]) => [k, st(e)]));
const names = (n: number, prefix = 'f') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

const ok: RootFacts = { kind: 'dir', empty: false };
const roots: Record<string, RootFacts> = {
  missing: { kind: 'missing', empty: true },
  emptied: { kind: 'dir', empty: true },
  'a file': { kind: 'file', empty: true },
};
const causeOf: Record<string, string> = {
  missing: 'root-missing',
  emptied: 'root-emptied',
  'a file': 'root-kind',
};

/** The plan and verdict of a whole-rule reconcile (initial sync) in `mode`. */
function judge(
  mode: Mode,
  local: Tree,
  remote: Tree,
  base: StateTree,
  facts: { localRoot?: RootFacts; remoteRoot?: RootFacts; recorded?: number; scan?: boolean },
) {
  const plan = planSync({ local, remote, base, mode, strategy: defaultInitialSync(mode) });
  const holds = checkSafety({
    plan,
    local,
    remote,
    base,
    recorded: facts.recorded ?? base.size,
    rootChecks: true,
    localRoot: facts.localRoot ?? ok,
    remoteRoot: facts.remoteRoot ?? ok,
    scan: facts.scan ?? true,
    deleteGuard: 0.5,
  });
  return { plan, holds, applied: withoutHeld(plan, holds) };
}

describe('root safety', () => {
  const synced = tree(['a/', 'a/x', 'b', 'c']);
  // which side each mode would delete on when the other side's root is lost
  const deletesRemote = new Set<Mode>([
    'one-way-safe',
    'one-way-replica',
    'two-way-safe',
    'two-way-resolved',
  ]);
  const deletesLocal = new Set<Mode>([
    'one-way-reverse',
    'one-way-replica-reverse',
    'two-way-safe',
    'two-way-resolved',
  ]);
  for (const mode of MODES)
    for (const [how, facts] of Object.entries(roots)) {
      test(`${mode}: a local root that is ${how} deletes nothing in the container`, () => {
        const r = judge(mode, new Map(), synced, state(synced), { localRoot: facts });
        assert.deepEqual(r.applied.deleteRemote, []);
        if (deletesRemote.has(mode)) {
          assert.ok(r.plan.deleteRemote.length > 0);
          assert.equal(r.holds.length, 1);
          assert.equal(r.holds[0]!.side, 'container');
          assert.equal(r.holds[0]!.cause, causeOf[how]);
          assert.equal(r.holds[0]!.count, 4);
        } else assert.deepEqual(r.holds, []);
      });
      test(`${mode}: a container root that is ${how} deletes nothing locally`, () => {
        const r = judge(mode, synced, new Map(), state(synced), { remoteRoot: facts });
        assert.deepEqual(r.applied.deleteLocal, []);
        if (deletesLocal.has(mode)) {
          assert.ok(r.plan.deleteLocal.length > 0);
          assert.equal(r.holds[0]!.side, 'local');
          assert.equal(r.holds[0]!.cause, causeOf[how]);
        } else assert.deepEqual(r.holds, []);
      });
    }

  test('in a watch batch an emptied root is the user’s doing, but for a two-way container target', () => {
    const synced2 = tree(['a', 'b']);
    const batch = (mode: Mode, facts: { localRoot?: RootFacts; remoteRoot?: RootFacts }) => {
      const local = facts.localRoot ? new Map() : synced2;
      const remote = facts.remoteRoot ? new Map() : synced2;
      const plan = planSync({ local, remote, base: state(synced2), mode });
      return checkSafety({
        plan,
        local,
        remote,
        base: state(synced2),
        recorded: 2,
        rootChecks: true,
        localRoot: facts.localRoot ?? ok,
        remoteRoot: facts.remoteRoot ?? ok,
        scan: false,
        twoWay: mode.startsWith('two-way'),
        deleteGuard: 0.5,
      }).map((h) => `${h.side}:${h.cause}`);
    };
    for (const mode of ['one-way-replica', 'one-way-safe', 'two-way-safe'] as Mode[]) {
      assert.deepEqual(batch(mode, { localRoot: roots.emptied }), [], mode);
      assert.deepEqual(batch(mode, { localRoot: roots.missing }), ['container:root-missing'], mode);
    }
    for (const mode of ['one-way-replica-reverse', 'one-way-reverse'] as Mode[])
      assert.deepEqual(batch(mode, { remoteRoot: roots.emptied }), [], mode);
    for (const mode of ['two-way-safe', 'two-way-resolved'] as Mode[])
      assert.deepEqual(batch(mode, { remoteRoot: roots.emptied }), ['local:root-emptied'], mode);
    assert.deepEqual(batch('one-way-replica-reverse', { remoteRoot: roots['a file'] }), [
      'local:root-kind',
    ]);
  });

  test('a recreated container (empty state, a predecessor with content) counts as recorded', () => {
    const local = tree(names(20));
    const r = judge('one-way-replica-reverse', local, new Map(), new Map(), {
      remoteRoot: roots.emptied,
      recorded: 20,
    });
    assert.equal(r.plan.deleteLocal.length, 20);
    assert.equal(r.holds[0]?.cause, 'root-emptied');
    assert.deepEqual(r.applied.deleteLocal, []);
  });

  test('nothing recorded ever: an empty side is not suspect (the share guard still applies)', () => {
    const local = tree(names(5));
    const r = judge('one-way-replica-reverse', local, new Map(), new Map(), {
      remoteRoot: roots.emptied,
      recorded: 0,
    });
    assert.deepEqual(r.holds, []);
  });

  test('a kind change is a replacement, not a deletion: it needs no root facts', () => {
    const local = tree(['a/', 'a/x']);
    const remote = tree(['a']);
    const base = state(remote);
    const plan = planSync({ local, remote, base, mode: 'one-way-replica' });
    assert.deepEqual(plan.deleteRemote, ['a']);
    const holds = checkSafety({
      plan,
      local,
      remote,
      base,
      recorded: 1,
      rootChecks: true,
      localRoot: roots.emptied,
      scan: false,
      deleteGuard: 0.5,
    });
    assert.deepEqual(holds, []);
  });

  test('file and glob rules have no root checks', () => {
    const remote = tree(['a', 'b']);
    const plan = planSync({
      local: new Map(),
      remote,
      base: state(remote),
      mode: 'one-way-replica',
    });
    const holds = checkSafety({
      plan,
      local: new Map(),
      remote,
      base: state(remote),
      recorded: 2,
      rootChecks: false,
      localRoot: roots.missing,
      scan: false,
      deleteGuard: 0.5,
    });
    assert.deepEqual(holds, []);
  });
});

describe('the share guard (scan-based plans only)', () => {
  test('a branch switch deleting 70% of a 100-file project goes through: the state knows them', () => {
    const before = tree(names(100));
    const after = tree([...names(30), ...names(40, 'new')]);
    for (const mode of ['one-way-replica', 'one-way-safe', 'two-way-safe'] as Mode[]) {
      const r = judge(mode, after, before, state(before), {});
      assert.equal(r.plan.deleteRemote.length, 70, mode);
      assert.deepEqual(r.holds, [], mode);
      assert.equal(r.applied.deleteRemote.length, 70, mode);
    }
  });

  test('container-only paths the state never knew, over the share: held; the known ones go', () => {
    const local = tree(names(10));
    const known = tree(names(15));
    const remote = tree([...names(15), ...names(40, 'image')]);
    const r = judge('one-way-replica', local, remote, state(known), {});
    assert.equal(r.plan.deleteRemote.length, 45);
    assert.equal(r.holds.length, 1);
    assert.equal(r.holds[0]!.cause, 'unexplained');
    assert.equal(r.holds[0]!.count, 40);
    assert.equal(r.holds[0]!.total, 55);
    // the 5 deletions the state explains are applied
    assert.deepEqual(r.applied.deleteRemote, names(15).slice(10).sort());
  });

  test('a directory holding one unknown entry is held whole; counted with what lies below', () => {
    const local = tree(['k']);
    const remote = tree(['k', 'd/', ...names(30, 'd/f')]);
    const base = state(tree(['k', 'd/', 'd/f0']));
    const r = judge('one-way-replica', local, remote, base, {});
    assert.deepEqual(r.plan.deleteRemote, ['d']);
    assert.equal(r.holds[0]?.count, 29);
    assert.deepEqual(r.applied.deleteRemote, []);
  });

  test(`below ${GUARD_MIN_ENTRIES} unknown entries, or at most the share: not held`, () => {
    const local = tree(names(2));
    const small = tree([...names(2), ...names(GUARD_MIN_ENTRIES - 1, 'x')]);
    assert.deepEqual(judge('one-way-replica', local, small, new Map(), {}).holds, []);
    const local2 = tree(names(30));
    const half = tree([...names(30), ...names(30, 'x')]);
    assert.deepEqual(judge('one-way-replica', local2, half, new Map(), {}).holds, []);
  });

  test('watch batches are never held by the share guard', () => {
    const local = tree(names(2));
    const remote = tree([...names(2), ...names(50, 'x')]);
    const r = judge('one-way-replica', local, remote, new Map(), { scan: false });
    assert.deepEqual(r.holds, []);
  });

  test('deletions of 20,000 entries are tallied in sorted keys, not a pass per path', () => {
    const side = tree(names(20_000).map((n, i) => `d${i % 100}/${n}`));
    const plan = planSync({
      local: new Map(),
      remote: side,
      base: new Map(),
      mode: 'one-way-replica',
    });
    const t0 = performance.now();
    const holds = checkSafety({
      plan,
      local: new Map(),
      remote: side,
      base: new Map(),
      recorded: 0,
      rootChecks: true,
      scan: true,
      deleteGuard: 0.5,
    });
    assert.equal(holds[0]?.count, 20_000);
    assert.ok(performance.now() - t0 < 2000, `${performance.now() - t0} ms`);
  });
});
