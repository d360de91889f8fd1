import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashBuffer } from '../core/hash.js';
import type { StateEntry, StateTree } from '../core/tree.js';
import { readLocalPaths, scanLocal, type LocalFilter } from './local-tree.js';

const all: LocalFilter = { excluded: () => false, canSkipDir: () => false, symlinks: 'preserve' };

/** Run `fn` in a new temporary directory, removed afterwards. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'composync-local-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a large changed file is left unhashed unless its recorded size is the same', () =>
  inTempDir(async (dir) => {
    const big = Buffer.alloc(3000, 7);
    await writeFile(join(dir, 'grown.bin'), big);
    await writeFile(join(dir, 'same-size.bin'), big);
    await writeFile(join(dir, 'small.txt'), 'small');
    const mtimeMs = (await stat(join(dir, 'same-size.bin'))).mtimeMs;
    const base: StateTree = new Map([
      ['grown.bin', { kind: 'file', hash: 'old', lSize: 10, lMtimeMs: 1, rSize: 10, rMtime: 0 }],
      [
        'same-size.bin',
        { kind: 'file', hash: 'old', lSize: 3000, lMtimeMs: mtimeMs - 1, rSize: 3000, rMtime: 0 },
      ],
    ]);
    const changed = ['grown.bin', 'same-size.bin', 'small.txt', 'new.bin'];
    await writeFile(join(dir, 'new.bin'), big);
    const r = await readLocalPaths(dir, all, base, changed, { deferHashOver: 1000 });
    assert.equal(r.tree.get('grown.bin')?.hash, undefined, 'size changed: sent unhashed');
    assert.equal(r.tree.get('new.bin')?.hash, undefined, 'new: sent unhashed');
    assert.equal(r.tree.get('same-size.bin')?.hash, hashBuffer(big), 'same size: hashed');
    assert.equal(r.tree.get('small.txt')?.hash, hashBuffer(Buffer.from('small')));
    const plain = await readLocalPaths(dir, all, base, changed);
    assert.equal(plain.tree.get('grown.bin')?.hash, hashBuffer(big), 'by default every file');
  }));

test('deferHashNew: a file the state does not know is left unhashed, a known one is hashed', () =>
  inTempDir(async (dir) => {
    await writeFile(join(dir, 'new.txt'), 'new');
    await writeFile(join(dir, 'known.txt'), 'known, edited');
    const base: StateTree = new Map([
      ['known.txt', { kind: 'file', hash: 'old', lSize: 5, lMtimeMs: 1, rSize: 5, rMtime: 0 }],
    ]);
    const r = await readLocalPaths(dir, all, base, ['new.txt', 'known.txt'], {
      deferHashNew: true,
    });
    assert.equal(r.tree.get('new.txt')?.hash, undefined);
    assert.equal(r.tree.get('known.txt')?.hash, hashBuffer(Buffer.from('known, edited')));
  }));

test('a deleted directory covers what the state had below it; a new one covers only itself', () =>
  inTempDir(async (dir) => {
    await mkdir(join(dir, 'fresh'));
    await writeFile(join(dir, 'fresh/f.txt'), 'f');
    const e: StateEntry = { kind: 'file', hash: 'h', lSize: 1, lMtimeMs: 1, rSize: 1, rMtime: 0 };
    const d: StateEntry = { kind: 'dir', lSize: 0, lMtimeMs: 1, rSize: 0, rMtime: 0 };
    const base: StateTree = new Map([
      ['gone', d],
      ['gone/a', e],
      ['gone/sub', d],
      ['gone/sub/b', e],
      ['gone-not', e],
      ['other', e],
    ]);
    const r = await readLocalPaths(dir, all, base, ['gone', 'fresh']);
    assert.deepEqual([...r.covered].sort(), [
      'fresh',
      'fresh/f.txt',
      'gone',
      'gone/a',
      'gone/sub',
      'gone/sub/b',
    ]);
  }));

test('scanLocal with deferHashNew: only files the state knows are hashed', () =>
  inTempDir(async (dir) => {
    await writeFile(join(dir, 'new.txt'), 'new');
    await writeFile(join(dir, 'known.txt'), 'known, edited');
    const base: StateTree = new Map([
      ['known.txt', { kind: 'file', hash: 'old', lSize: 5, lMtimeMs: 1, rSize: 5, rMtime: 0 }],
    ]);
    const r = await scanLocal(dir, all, base, { deferHashNew: true });
    assert.equal(r.tree.get('new.txt')?.hash, undefined);
    assert.equal(r.tree.get('known.txt')?.hash, hashBuffer(Buffer.from('known, edited')));
    const plain = await scanLocal(dir, all, base);
    assert.equal(plain.tree.get('new.txt')?.hash, hashBuffer(Buffer.from('new')), 'by default');
  }));
