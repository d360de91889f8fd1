/**
 * A reconcile of a target composync synced before lists the container side with the image's
 * own find and stat and reads only what changed there, against the real engine: no archive of
 * the whole target, yet a file changed in the container is still found.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadState } from '../src/session/state-store.js';
import { TestProject } from './helpers.js';

const compose = `services:
  app:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    x-sync:
      - source: ./src
        target: /app
`;

describe('reconcile of a target synced before', { timeout: 300_000 }, () => {
  let p: TestProject;

  before(async () => {
    const files: Record<string, string> = { 'compose.yaml': compose };
    for (let i = 0; i < 200; i++) files[`src/d${i % 10}/f${i}.txt`] = `file ${i}`;
    p = await TestProject.create('scan-known', files);
    const up = await p.compose(['up', '-d']);
    assert.equal(up.code, 0, up.stderr);
    const first = await p.composync(['sync']);
    assert.equal(first.code, 0, first.stdout + first.stderr);
  });

  after(async () => {
    await p?.cleanup();
  });

  const stateFile = async () => {
    const dir = join(p.dir, '.composync', 'state');
    // the base file (a journal of later records may lie beside it)
    const name = (await readdir(dir)).find((n) => n.endsWith('.json'));
    return join(dir, name!);
  };

  test('nothing changed: a listing, no archive of the target, nothing sent', async () => {
    const file = await stateFile();
    const st = await stat(file);
    const r = await p.composync(['--debug', 'sync']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = r.stdout + r.stderr;
    // one listing, started before the state was loaded
    assert.match(out, /engine: list \/app \(find, stat, started early\)/);
    assert.doesNotMatch(out, /engine: list \/app \(find, stat\)/);
    assert.doesNotMatch(out, /engine: scan \/app in/);
    assert.match(out, /\b0 files uploaded/);
    // and the state file is left as it is (a write replaces it: another inode)
    const after = await stat(file);
    assert.equal(after.ino, st.ino);
    assert.equal(after.mtimeMs, st.mtimeMs);
  });

  test('the state lost: equal files of equal size are hashed on both sides and agree', async () => {
    await rm(join(p.dir, '.composync', 'state'), { recursive: true, force: true });
    const r = await p.composync(['sync']);
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 0, out);
    assert.match(out, /\b0 files uploaded/);
    assert.doesNotMatch(out, /conflict/);
    const state = await loadState(await stateFile(), { target: '/app' });
    assert.equal(state.tree.get('d3/f3.txt')?.hash !== undefined, true);
  });

  test('a file changed in the container is read and kept as a conflict', async () => {
    // same size, another mtime: only its content tells
    await p.exec('app', [
      'sh',
      '-c',
      'printf "FILE 7" > /app/d7/f7.txt && touch -d @1000000000 /app/d7/f7.txt',
    ]);
    const r = await p.composync(['--debug', 'sync']);
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 1, out);
    assert.match(out, /conflict: d7\/f7\.txt/);
    assert.match(out, /engine: read 1 paths? below \/app/);
    assert.equal(await p.readRemote('app', '/app/d7/f7.txt'), 'FILE 7');
    // a reconcile that found something new records it
    const state = await loadState(await stateFile(), { target: '/app' });
    assert.deepEqual(
      state.conflicts.map((c) => c.path),
      ['d7/f7.txt'],
    );
  });

  test('a container name with a newline (one forging a listing line) sends it to a scan', async () => {
    // the directory's name carries what a listing line of a forged file would look like
    await p.exec('app', [
      'sh',
      '-c',
      'd="/app/x\n81a4 1 1 ./forged.txt"; mkdir -p "$d" && echo inner > "$d/in.txt"',
    ]);
    const r = await p.composync(['--debug', 'pull', '--dry-run']);
    const out = r.stdout + r.stderr;
    assert.match(out, /engine: list \/app \(find, stat\)/);
    assert.match(out, /engine: scan \/app in/, 'the listing was refused, the archive read');
    // the real entries, under their real names; none named forged.txt at the top
    assert.match(out, /download {2}x\n81a4 1 1 \.\/forged\.txt\/in\.txt/);
    assert.doesNotMatch(out, /download {2}forged\.txt/, 'no forged entry');
    await p.exec('app', ['sh', '-c', 'rm -rf /app/x*']);
  });
});
