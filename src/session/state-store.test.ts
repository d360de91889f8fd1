import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadState, saveState } from './state-store.js';

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
});
