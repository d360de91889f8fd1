import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirsWithEntries, parentsOf } from './tree.js';

test('parentsOf lists the directories above a path, top first', () => {
  assert.deepEqual(parentsOf('a/b/c'), ['a', 'a/b']);
  assert.deepEqual(parentsOf('a'), []);
});

test('dirsWithEntries: every directory with a key below it, the root included', () => {
  assert.deepEqual([...dirsWithEntries(['a/b/c', 'a/d', 'e'])].sort(), ['', 'a', 'a/b']);
  assert.deepEqual([...dirsWithEntries([])], []);
});
