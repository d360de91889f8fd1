import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { parseListing, type Listed } from './list-tree.js';

describe('parseListing', () => {
  test('hands each entry over as it arrives, lines and characters split across chunks', async () => {
    const out = new PassThrough();
    const got: Listed[] = [];
    const done = parseListing(out, (e) => got.push(e));
    out.write('41ed 4096 1700000000 .\n81a4 5 1700000001 ./a.txt\n41ed 40');
    await new Promise((r) => setImmediate(r));
    // the first file is there before the listing ends (not gathered first)
    assert.deepEqual(
      got.map((e) => e.rel),
      ['a.txt'],
    );
    const name = Buffer.from('96 1700000002 ./dé\nа1ff 3 1700000003 ./dé/l\n');
    const cut = name.indexOf(Buffer.from('é')) + 1; // inside the two bytes of é
    out.write(name.subarray(0, cut));
    out.write(name.subarray(cut));
    out.end('1000 0 1700000004 ./fifo\n81a4 0 1700000005 ./last');
    assert.equal(await done, false); // 'а1ff' (Cyrillic а): not a listing line
    assert.deepEqual(
      got.map((e) => e.rel),
      ['a.txt', 'dé'],
    );
  });

  test('kinds, sizes, mtimes and permission bits; fifos are skipped', async () => {
    const out = new PassThrough();
    const got: Listed[] = [];
    const done = parseListing(out, (e) => got.push(e));
    out.end('41ed 4096 1 .\n41ed 4096 2 ./d\na1ff 3 3 ./d/l\n1000 0 4 ./p\n81a4 9 5 ./d/f\n');
    assert.equal(await done, true);
    assert.deepEqual(got, [
      { rel: 'd', kind: 'dir', size: 4096, mtime: 2, mode: 0o755 },
      { rel: 'd/l', kind: 'symlink', size: 3, mtime: 3, mode: 0o777 },
      { rel: 'd/f', kind: 'file', size: 9, mtime: 5, mode: 0o644 },
    ]);
  });
});
