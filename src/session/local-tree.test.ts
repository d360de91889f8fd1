import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashBuffer } from '../core/hash.js';
import type { StateTree } from '../core/tree.js';
import { readLocalPaths, type LocalFilter } from './local-tree.js';

const all: LocalFilter = { excluded: () => false, canSkipDir: () => false, symlinks: 'preserve' };

test('a large changed file is left unhashed unless its recorded size is the same', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'composync-local-'));
  try {
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
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
