import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODES, type Mode } from './model.js';
import { defaultInitialSync } from './modes.js';
import { planSync } from './reconcile.js';
import { applyTransition, nextState, type MutableState, type Outcome } from './transition.js';
import type { Entry, StateEntry, Tree } from './tree.js';

const file = (hash: string, mtimeMs = 5000): Entry => ({
  kind: 'file',
  hash,
  size: hash.length,
  mtimeMs,
  mode: 0o644,
});
const dir = (): Entry => ({ kind: 'dir', size: 0, mtimeMs: 5000, mode: 0o755 });
const rec = (e: Entry): StateEntry => ({
  kind: e.kind,
  hash: e.hash,
  link: e.link,
  lSize: e.size,
  lMtimeMs: e.mtimeMs,
  rSize: e.size,
  rMtime: Math.floor(e.mtimeMs / 1000),
});
const tree = (o: Record<string, Entry>): Tree => new Map(Object.entries(o));
const none = (): Outcome => ({
  deletedRemote: [],
  uploaded: [],
  unsure: [],
  deletedLocal: [],
  downloaded: [],
});

/** Plan a whole-rule reconcile, pretend every action succeeded, and return the next state. */
function run(
  mode: Mode,
  local: Tree,
  remote: Tree,
  state: MutableState,
  tweak?: (o: Outcome) => void,
) {
  const plan = planSync({
    local,
    remote,
    base: state.tree,
    mode,
    strategy: defaultInitialSync(mode),
    unsure: state.unsure,
  });
  const o = none();
  o.deletedRemote = [...plan.deleteRemote];
  o.uploaded = plan.upload.map((rel) => ({ rel }));
  o.deletedLocal = [...plan.deleteLocal];
  o.downloaded = plan.download.map((rel) => ({
    rel,
    written: { ...remote.get(rel)!, mtimeMs: 7000 },
    from: remote.get(rel)!,
  }));
  tweak?.(o);
  const t = nextState(state, { plan, local, remote, covered: null }, o);
  const changed = applyTransition(state, t);
  return { plan, changed, state };
}

const fresh = (o: Record<string, Entry> = {}): MutableState => ({
  tree: new Map(Object.entries(o).map(([k, e]) => [k, rec(e)])),
  unsure: new Set(),
  conflicts: [],
});

describe('nextState', () => {
  for (const mode of MODES) {
    test(`${mode}: after a full reconcile that succeeded, the state records what both sides hold`, () => {
      const local = tree({ a: file('l1'), d: dir(), 'd/x': file('same') });
      const remote = tree({ b: file('r1'), d: dir(), 'd/x': file('same') });
      const { state } = run(mode, local, remote, fresh({ d: dir(), 'd/x': file('same') }));
      // whatever moved, each recorded path now exists on both sides with that content
      for (const [rel, e] of state.tree) {
        const l = local.get(rel);
        const r = remote.get(rel);
        assert.ok(l || r, `${mode}: ${rel} recorded but on no side`);
        assert.equal(e.hash, (l ?? r)!.hash, `${mode}: ${rel}`);
      }
      assert.ok(state.tree.has('d/x'), mode);
    });
  }

  test('an upload records what the container got, not the hash of the scan', () => {
    const local = tree({ a: file('v1') });
    const { state } = run('one-way-replica', local, new Map(), fresh(), (o) => {
      o.uploaded = [{ rel: 'a', got: { hash: 'v1-changed-while-sent', size: 21, mtime: 9 } }];
    });
    assert.deepEqual(state.tree.get('a'), {
      kind: 'file',
      hash: 'v1-changed-while-sent',
      link: undefined,
      lSize: 2,
      lMtimeMs: 5000,
      rSize: 21,
      rMtime: 9,
    });
  });

  test('a failed upload is unsure, and a later confirmed write clears it', () => {
    const local = tree({ a: file('v1'), b: file('v2') });
    const s = fresh();
    run('one-way-safe', local, new Map(), s, (o) => {
      o.uploaded = [{ rel: 'b' }];
      o.unsure = ['a'];
    });
    assert.deepEqual([...s.unsure!], ['a']);
    assert.equal(s.tree.has('a'), false);
    assert.equal(s.tree.has('b'), true);
    run('one-way-safe', local, tree({ b: file('v2') }), s);
    assert.deepEqual([...s.unsure!], []);
    assert.equal(s.tree.get('a')?.hash, 'v1');
  });

  test('an aborted write records the deletions done and the unsure uploads only', () => {
    const s = fresh({ gone: file('g'), kept: file('k') });
    s.conflicts = [{ path: 'c', reason: 'modified on both sides' }];
    const local = tree({ kept: file('k'), n: file('new') });
    const remote = tree({ gone: file('g'), kept: file('k') });
    const plan = planSync({ local, remote, base: s.tree, mode: 'one-way-replica' });
    const t = nextState(
      s,
      { plan, local, remote, covered: null },
      {
        ...none(),
        deletedRemote: ['gone'],
        unsure: ['n'],
        aborted: true,
      },
    );
    assert.equal(applyTransition(s, t), true);
    assert.deepEqual([...s.tree.keys()], ['kept']);
    assert.deepEqual([...s.unsure!], ['n']);
    assert.deepEqual(s.conflicts, [{ path: 'c', reason: 'modified on both sides' }]);
  });

  test('an aborted write still records the uploads the container confirmed before it died', () => {
    const s = fresh({});
    const local = tree({ a: file('1'), b: file('2'), c: file('3') });
    const remote = tree({});
    const plan = planSync({ local, remote, base: s.tree, mode: 'one-way-safe' });
    const t = nextState(
      s,
      { plan, local, remote, covered: null },
      { ...none(), uploaded: [{ rel: 'a' }], unsure: ['b'], aborted: true },
    );
    applyTransition(s, t);
    assert.deepEqual([...s.tree.keys()], ['a']);
    assert.equal(s.tree.get('a')?.hash, '1');
    assert.deepEqual([...s.unsure!], ['b']);
  });

  test('deletions forget the path and everything recorded below it', () => {
    const s = fresh({ d: dir(), 'd/a': file('1'), 'd/e/f': file('2'), 'd-x': file('3') });
    const { plan } = run(
      'one-way-replica',
      tree({ 'd-x': file('3') }),
      tree({
        d: dir(),
        'd/a': file('1'),
        'd/e/f': file('2'),
        'd-x': file('3'),
      }),
      s,
    );
    assert.deepEqual(plan.deleteRemote, ['d']);
    assert.deepEqual([...s.tree.keys()], ['d-x']);
  });

  test('a directory replacing a recorded file forgets what was recorded at that path first', () => {
    const s = fresh({ k: file('was a file') });
    const local = tree({ k: dir(), 'k/in': file('x') });
    run('one-way-replica', local, tree({ k: file('was a file') }), s);
    assert.equal(s.tree.get('k')?.kind, 'dir');
    assert.equal(s.tree.get('k/in')?.hash, 'x');
  });

  test('downloads record the local entry as written and the container stat it came from', () => {
    const remote = tree({ r: file('down', 12_345) });
    const { state } = run('one-way-replica-reverse', new Map(), remote, fresh());
    assert.deepEqual(state.tree.get('r'), {
      kind: 'file',
      hash: 'down',
      link: undefined,
      lSize: 4,
      lMtimeMs: 7000,
      rSize: 4,
      rMtime: 12,
    });
  });

  test('conflicts: a full reconcile replaces them, a batch only those of its paths', () => {
    const s = fresh({ a: file('0'), b: file('0') });
    s.conflicts = [
      { path: 'a', reason: 'old' },
      { path: 'z', reason: 'elsewhere' },
    ];
    const local = tree({ a: file('1'), b: file('0') });
    const remote = tree({ a: file('2'), b: file('0') });
    const plan = planSync({ local, remote, base: s.tree, mode: 'two-way-safe' });
    const batch = nextState(s, { plan, local, remote, covered: new Set(['a']) }, none());
    assert.deepEqual(
      batch.conflicts.map((c) => c.path),
      ['z', 'a'],
    );
    const full = nextState(s, { plan, local, remote, covered: null }, none());
    assert.deepEqual(
      full.conflicts.map((c) => c.path),
      ['a'],
    );
  });

  test('a reconcile that changes nothing reports no change', () => {
    const same = { a: file('1'), d: dir() };
    const s = fresh(same);
    const { changed } = run('two-way-safe', tree(same), tree(same), s);
    assert.equal(changed, false);
  });

  test('paths gone on both sides are forgotten', () => {
    const s = fresh({ a: file('1') });
    s.unsure!.add('a');
    const { changed } = run('one-way-safe', new Map(), new Map(), s);
    assert.equal(changed, true);
    assert.equal(s.tree.size, 0);
    assert.equal(s.unsure!.size, 0);
  });

  test('every record set or removed is marked dirty (what the journal writes), nothing else', () => {
    const s = fresh({
      d: dir(),
      'd/a': file('1'),
      'd/b': file('2'),
      keep: file('k'),
      x: file('x'),
    });
    s.dirty = new Set();
    const local = tree({ keep: file('k'), x: file('y'), n: file('n') });
    const remote = tree({
      d: dir(),
      'd/a': file('1'),
      'd/b': file('2'),
      keep: file('k'),
      x: file('x'),
    });
    const { changed } = run('one-way-replica', local, remote, s);
    assert.equal(changed, true);
    assert.deepEqual([...s.dirty].sort(), ['d', 'd/a', 'd/b', 'n', 'x']);
  });
});
