import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRulePath } from './versions.js';
import { conflictCopyName } from '../session/rule-sync.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('isRulePath: what the diff view accepts before any read', () => {
  test('rule-relative paths as the state writes them', () => {
    for (const ok of ['a.txt', 'src/app.js', 'a b/c d', '.env', 'x..y', '...', 'dir/.hidden'])
      assert.equal(isRulePath(ok), true, ok);
  });
  test('nothing absolute, no . or .. segment, no empty segment, no NUL', () => {
    for (const bad of [
      '',
      '/etc/passwd',
      '../../etc/passwd',
      'a/../../etc/passwd',
      '..',
      '.',
      './a',
      'a/.',
      'a//b',
      'a/',
      'a\0b',
      'x'.repeat(5000),
    ])
      assert.equal(isRulePath(bad), false, JSON.stringify(bad));
  });
});

describe('conflictCopyName: where keep both saves the container version', () => {
  test('NAME.container-CONFLICT beside the file, then -2, -3 when taken', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'composync-copyname-'));
    dirs.push(dir);
    assert.equal(await conflictCopyName(dir, 'a.txt'), 'a.txt.container-CONFLICT');
    await writeFile(join(dir, 'a.txt.container-CONFLICT'), '');
    assert.equal(await conflictCopyName(dir, 'a.txt'), 'a.txt.container-CONFLICT-2');
    await writeFile(join(dir, 'a.txt.container-CONFLICT-2'), '');
    assert.equal(await conflictCopyName(dir, 'a.txt'), 'a.txt.container-CONFLICT-3');
  });
});
