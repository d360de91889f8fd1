import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MODES, type Mode } from './model.js';
import type { Entry, Tree } from './tree.js';
import { verifyTrees, type VerifyResult } from './verify.js';

const file = (hash: string, mtimeMs = 1000): Entry => ({
  kind: 'file',
  hash,
  size: hash.length,
  mtimeMs,
  mode: 0o644,
});
const dir = (): Entry => ({ kind: 'dir', size: 0, mtimeMs: 1000, mode: 0o755 });
const link = (to: string): Entry => ({ kind: 'symlink', link: to, size: 0, mtimeMs: 1, mode: 0 });
const tree = (o: Record<string, Entry>): Tree => new Map(Object.entries(o));

/** A short form of a result: `m:path`, `x:path`, `d:path(reason)`, and the verdict. */
const brief = (r: VerifyResult) => ({
  diffs: [
    ...r.missing.map((e) => `m:${e.path}${e.below ? `+${e.below}` : ''}`),
    ...r.extra.map((e) => `x:${e.path}${e.below ? `+${e.below}` : ''}`),
    ...r.different.map((e) => `d:${e.path}(${e.reason})`),
  ],
  drift: r.drift,
});

// one table row per case: local tree, container tree, then per mode the expected result
type Expect = { diffs: string[]; drift: boolean };
const clean: Expect = { diffs: [], drift: false };
const rows: [string, Tree, Tree, Partial<Record<Mode, Expect>> & { other?: Expect }][] = [
  [
    'equal trees, metadata ignored',
    tree({ a: file('1', 1), d: dir(), 'd/b': file('2'), l: link('a') }),
    tree({ a: file('1', 99_999), d: dir(), 'd/b': file('2'), l: link('a') }),
    { other: clean },
  ],
  [
    'a file changed in the container',
    tree({ a: file('1') }),
    tree({ a: file('X') }),
    { other: { diffs: ['d:a(content)'], drift: true } },
  ],
  [
    'a symlink pointing elsewhere',
    tree({ l: link('a') }),
    tree({ l: link('b') }),
    { other: { diffs: ['d:l(link)'], drift: true } },
  ],
  [
    'a file only locally',
    tree({ a: file('1'), n: file('2') }),
    tree({ a: file('1') }),
    {
      'one-way-reverse': { diffs: ['x:n'], drift: false },
      'one-way-replica-reverse': { diffs: ['x:n'], drift: true },
      other: { diffs: ['m:n'], drift: true },
    },
  ],
  [
    'a file only in the container',
    tree({ a: file('1') }),
    tree({ a: file('1'), o: file('3') }),
    {
      'one-way-safe': { diffs: ['x:o'], drift: false },
      'one-way-reverse': { diffs: ['m:o'], drift: true },
      'one-way-replica-reverse': { diffs: ['m:o'], drift: true },
      other: { diffs: ['x:o'], drift: true },
    },
  ],
  [
    'a directory missing in the container is listed once, with what is below it',
    tree({ d: dir(), 'd/a': file('1'), 'd/e': dir(), 'd/e/b': file('2'), 'd-x': file('3') }),
    tree({ 'd-x': file('3') }),
    {
      'one-way-reverse': { diffs: ['x:d+3'], drift: false },
      'one-way-replica-reverse': { diffs: ['x:d+3'], drift: true },
      other: { diffs: ['m:d+3'], drift: true },
    },
  ],
  [
    'a directory where the container has a file',
    tree({ p: dir(), 'p/a': file('1') }),
    tree({ p: file('1') }),
    {
      'one-way-reverse': { diffs: ['d:p(kind)'], drift: true },
      'one-way-replica-reverse': { diffs: ['d:p(kind)'], drift: true },
      other: { diffs: ['d:p(kind)'], drift: true },
    },
  ],
];

describe('verifyTrees', () => {
  for (const [name, local, remote, expected] of rows) {
    for (const mode of MODES) {
      const want = expected[mode] ?? expected.other!;
      test(`${name} (${mode})`, () => {
        assert.deepEqual(brief(verifyTrees({ local, remote, mode })), want);
      });
    }
  }

  test('paths excluded in the direction that carries them are ignored', () => {
    const local = tree({ a: file('1'), 'up-only': file('2') });
    const remote = tree({ a: file('1'), cache: dir(), 'cache/x': file('9') });
    const noUp = (rel: string) => rel === 'up-only' || rel === 'cache' || rel.startsWith('cache/');
    const r = verifyTrees({ local, remote, mode: 'one-way-replica', noUp });
    assert.deepEqual(brief(r), clean);
    assert.equal(r.compared, 1);
  });

  test('two-way: container-only paths excluded from download are not drift', () => {
    const r = verifyTrees({
      local: tree({}),
      remote: tree({ 'tmp.log': file('1') }),
      mode: 'two-way-safe',
      noDown: (rel) => rel.endsWith('.log'),
    });
    assert.deepEqual(brief(r), clean);
  });

  test('compared counts the union of both sides', () => {
    const r = verifyTrees({
      local: tree({ a: file('1'), b: file('2') }),
      remote: tree({ b: file('2'), c: file('3') }),
      mode: 'one-way-safe',
    });
    assert.equal(r.compared, 3);
    assert.equal(r.extraIsDrift, false);
  });
});
