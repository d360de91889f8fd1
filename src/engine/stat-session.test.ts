/**
 * The stat session over an injected exec stream: this machine's own `sh` and `stat` stand in
 * for the container's (the real engine is in test/engine.test and test/batch-remote-check).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { StatSession } from './stat-session.js';
import { localExecIO } from '../testing/local-exec.js';
import type { ExecIO } from './tar-session.js';

/** Run argv on this machine; `env` replaces PATH (to take stat away). */
function localIO(started: string[][], env?: NodeJS.ProcessEnv): ExecIO {
  return localExecIO({
    started,
    env,
    rewrite: (argv) => [argv[0] === 'sh' ? '/bin/sh' : argv[0]!, ...argv.slice(1)],
  });
}

describe('StatSession over an injected exec stream', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'composync-statsession-'));
    await mkdir(join(root, 'd'));
    await writeFile(join(root, 'd/a.txt'), 'hello');
    await writeFile(join(root, 'd/sp ace|bar.txt'), '');
    await symlink('a.txt', join(root, 'd/link'));
    const t = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    await utimes(join(root, 'd/a.txt'), t, t);
  });
  after(async () => rm(root, { recursive: true, force: true }));

  test('answers many requests on one process: kind, size, mtime, mode; missing is null', async () => {
    const started: string[][] = [];
    const s = await StatSession.open(localIO(started), 'local', { timeoutMs: 10_000 });
    try {
      const p = (rel: string) => join(root, rel);
      const st = await s.stat([
        p('d/a.txt'),
        p('d'),
        p('d/link'),
        p('d/sp ace|bar.txt'),
        p('d/none'),
        p('d/a.txt/below'),
      ]);
      assert.deepEqual(st.get(p('d/a.txt')), {
        kind: 'file',
        size: 5,
        mtime: Date.UTC(2026, 0, 2, 3, 4, 5) / 1000,
        mode: 0o644,
      });
      assert.equal(st.get(p('d'))?.kind, 'dir');
      assert.equal(st.get(p('d/link'))?.kind, 'symlink');
      assert.equal(st.get(p('d/sp ace|bar.txt'))?.size, 0);
      assert.equal(st.get(p('d/none')), null);
      assert.equal(st.get(p('d/a.txt/below')), null);
      for (let i = 0; i < 20; i++)
        assert.equal((await s.stat([p('d/a.txt')])).get(p('d/a.txt'))?.size, 5);
      // concurrent requests are answered in turn, each with its own paths
      const [x, y] = await Promise.all([s.stat([p('d')]), s.stat([p('d/a.txt')])]);
      assert.deepEqual([...x.keys()], [p('d')]);
      assert.equal(y.get(p('d/a.txt'))?.kind, 'file');
      assert.equal(started.length, 1, 'one process for every request');
    } finally {
      s.close();
    }
    await assert.rejects(s.stat([join(root, 'd')]), /stat session in local/);
  });

  test('an image without stat: the session does not open, so the caller falls back', async () => {
    const noStat = { PATH: join(root, 'no-bin') };
    await assert.rejects(
      StatSession.open(localIO([], noStat), 'local', { timeoutMs: 10_000 }),
      /stat session in local: the shell exited/,
    );
  });

  test('a request not answered in time kills the session', async () => {
    const io: ExecIO = {
      open: () => {
        // answers "ready", then never again (a paused container)
        const stdout = new Duplex({ read: () => undefined, write: (_c, _e, cb) => cb() });
        const conn = new Duplex({ read: () => undefined, write: (_c, _e, cb) => cb() });
        setImmediate(() => stdout.push('ready\n'));
        return Promise.resolve({ conn, stdout, stderr: new Duplex({ read: () => undefined }) });
      },
      run: () => Promise.resolve(),
    };
    const s = await StatSession.open(io, 'paused', { timeoutMs: 50 });
    await assert.rejects(s.stat(['/x']), /stat session in paused: no answer in 50 ms/);
    assert.equal(s.alive, false);
  });
});
