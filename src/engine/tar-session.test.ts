/**
 * The tar session over an injected exec stream: here the host's own GNU tar, extracting into a
 * temporary directory, stands in for the container's (the real engine is in test/engine.test).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareEntries } from './tar-entries.js';
import { TarSession, type ExecIO } from './tar-session.js';
import type { WriteEntry } from '../core/ports.js';
import { localExecIO } from '../testing/local-exec.js';

/** Run the session's argv on this machine, below `root` instead of the container's `/`. */
function localIO(root: string, started: string[][]): ExecIO {
  return localExecIO({
    started,
    rewrite: (argv) => {
      // never -P here: the members' names are absolute container paths
      const args = argv.slice(1).filter((a) => a !== '-P');
      args[args.indexOf('-C') + 1] = root;
      return [argv[0]!, ...args];
    },
  });
}

const file = (path: string, text: string): WriteEntry => ({
  path,
  kind: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtimeMs: Date.UTC(2026, 0, 2),
  content: Buffer.from(text),
});

describe('TarSession over an injected exec stream', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'composync-tarsession-'));
  });
  after(async () => rm(root, { recursive: true, force: true }));

  test('each write is confirmed by its marker, one session for many writes', async () => {
    const started: string[][] = [];
    const s = await TarSession.open(localIO(root, started), 'local', {
      flavour: 'gnu',
      shell: false,
      timeoutMs: 10_000,
    });
    try {
      for (let i = 0; i < 3; i++) {
        const { prepared } = prepareEntries([file(`/app/f${i}.txt`, `v${i}`)]);
        const r = await s.write(prepared);
        assert.deepEqual(r.problems, []);
        assert.deepEqual(
          r.confirmed.map((c) => c.path),
          [`/app/f${i}.txt`],
        );
        // confirmed means extracted: the file is there when the write resolves
        assert.equal(await readFile(join(root, `app/f${i}.txt`), 'utf8'), `v${i}`);
      }
      assert.equal(started.length, 1);
      assert.deepEqual(started[0]!.slice(0, 2), ['tar', '-x']);
    } finally {
      await s.close();
    }
  });

  test('a session whose process exits rejects the next write as died', async () => {
    const s = await TarSession.open(localIO(root, []), 'local', {
      flavour: 'gnu',
      shell: false,
      timeoutMs: 10_000,
    });
    await s.close();
    const { prepared } = prepareEntries([file('/app/late.txt', 'late')]);
    await assert.rejects(s.write(prepared), /tar session in local/);
    assert.equal(s.alive, false);
  });
});
