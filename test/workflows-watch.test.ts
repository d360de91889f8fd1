/**
 * The watcher in the background and compose's watch verbs, against the real engine:
 * `watch --detach` / `up --watch --detach` (one watcher per project, seen by `status` and
 * `logs sync -f`, stopped by `watch --stop` and `down`), and `watch` bringing the services up
 * first unless `--no-up`, pruning the image a rebuild replaced unless `--no-prune`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { TestProject, cliPath, docker, sh, waitFor } from './helpers.js';

const compose = `services:
  web:
    build: ./ctx
    stop_signal: SIGKILL
    x-sync:
      sync:
        - source: ./src
          target: /app
      rebuild: ['./ctx/Dockerfile']
`;

const dockerfile = (tag: string) => `FROM composync/busybox
RUN echo ${tag} > /baked
CMD ["sleep", "2147483647"]
`;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('a watcher in the background', { timeout: 600_000 }, () => {
  let p: TestProject;
  let pid = 0;

  before(async () => {
    p = await TestProject.create('wf-detach', {
      'compose.yaml': compose,
      'ctx/Dockerfile': dockerfile('one'),
      'src/index.html': 'one',
    });
  });
  after(async () => {
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    await p?.cleanup();
  });

  test('watch --detach from a shell that exits: the watcher goes on and syncs', async () => {
    // the shell starts composync and exits at once after it: the watcher must outlive both
    const r = await sh(
      'sh',
      ['-c', `'${process.execPath}' '${cliPath}' watch --detach; echo "shell done: $?"`],
      { cwd: p.dir, env: { ...process.env, NO_COLOR: '1', ...p.env() }, timeoutMs: 300_000 },
    );
    assert.match(r.stdout, /shell done: 0/, r.stdout + r.stderr);
    const m = /watching in the background \(pid (\d+)\)/.exec(r.stdout);
    assert.ok(m, r.stdout + r.stderr);
    pid = Number(m[1]);
    assert.ok(alive(pid), 'the watcher runs after its shell exited');
    // watch brought the stack up first, as docker compose watch does
    assert.equal((await p.exec('web', ['cat', '/baked']))?.trim(), 'one');

    await p.write('src/later.txt', 'made after the shell exited');
    await waitFor(async () => (await p.readRemote('web', '/app/later.txt')) !== null, {
      timeoutMs: 30_000,
      what: 'the edit in the container',
    });
    const log = await readFile(p.path('.composync/logs/watcher.log'), 'utf8');
    assert.match(log, /watching 1 rules/);
    assert.match(log, /web +↑ 1 file/, 'its lines go to .composync/logs/watcher.log');
  });

  test('status is live and logs sync -f follows the detached watcher', async () => {
    const st = await p.composync(['status', '--json']);
    assert.equal(st.code, 0, st.stderr);
    const report = JSON.parse(st.stdout) as { live: boolean; watcherPid: number };
    assert.equal(report.live, true);
    assert.equal(report.watcherPid, pid);

    const follow = p.spawn(['logs', 'sync', '-f']);
    try {
      const ups = () => (follow.stdout.match(/web +↑/g) ?? []).length;
      await waitFor(() => ups() > 0, { what: 'the log so far', detail: () => follow.output });
      const n = ups();
      await p.write('src/followed.txt', 'followed');
      await waitFor(() => ups() > n, {
        timeoutMs: 30_000,
        what: 'the new upload while following',
        detail: () => follow.output,
      });
    } finally {
      await follow.stop();
    }
  });

  test('a second watcher says which pid watches and exits 1', async () => {
    for (const args of [
      ['watch', '--detach'],
      ['watch', '--no-up'],
      ['up', '--watch'],
    ]) {
      const r = await p.composync(args, { timeoutMs: 120_000 });
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`already watched by composync \\(pid ${pid}\\)`));
    }
    assert.ok(alive(pid), 'the running watcher is left alone');
  });

  test('watch --stop stops it; up --watch --detach then down stops the next one', async () => {
    const r = await p.composync(['watch', '--stop']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`stopped the watcher of .* \\(pid ${pid}\\)`));
    assert.equal(alive(pid), false);
    const st = JSON.parse((await p.composync(['status', '--json'])).stdout) as { live: boolean };
    assert.equal(st.live, false);
    const again = await p.composync(['watch', '--stop']);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /no watcher runs/);

    const up = await p.composync(['up', '--watch', '--detach'], { timeoutMs: 300_000 });
    assert.equal(up.code, 0, up.stdout + up.stderr);
    pid = Number(/in the background \(pid (\d+)\)/.exec(up.stdout)?.[1]);
    assert.ok(pid && alive(pid));
    const down = await p.composync(['down'], { timeoutMs: 120_000 });
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, new RegExp(`stopped the running watcher \\(pid ${pid}\\)`));
    assert.equal(alive(pid), false);
  });

  test('--detach needs --watch on up', async () => {
    const r = await p.composync(['up', '--detach']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--detach needs --watch/);
  });
});

describe("compose's watch verb", { timeout: 600_000 }, () => {
  let p: TestProject;

  before(async () => {
    p = await TestProject.create('wf-verb', {
      'compose.yaml': compose,
      'ctx/Dockerfile': dockerfile('one'),
      'src/index.html': 'one',
    });
  });
  after(async () => p?.cleanup());

  const imageIds = async () =>
    (await p.compose(['images', '-q', 'web'])).stdout.split('\n').filter(Boolean);
  const imageExists = async (id: string) =>
    (await sh('docker', ['image', 'inspect', id])).code === 0;

  test('watch --no-up starts nothing', async () => {
    const w = p.spawn(['watch', '--no-up', '--no-logs']);
    try {
      await w.waitForOutput(/watching 1 rules/, 120_000);
      assert.match(w.output, /web has no running container/);
      assert.equal((await p.compose(['ps', '-aq'])).stdout.trim(), '', 'no container created');
    } finally {
      assert.equal(await w.stop(), 0);
    }
  });

  test('watch builds and starts first, then syncs; a rebuild prunes the image it replaced', async () => {
    const w = p.spawn(['watch', '--quiet', '--prune']);
    try {
      await w.waitForOutput(/watching 1 rules/, 240_000);
      assert.equal(await p.readRemote('web', '/app/index.html'), 'one');
      const [first] = await imageIds();
      assert.ok(first);
      await p.write('ctx/Dockerfile', dockerfile('two'));
      await waitFor(async () => (await p.exec('web', ['cat', '/baked']))?.trim() === 'two', {
        timeoutMs: 240_000,
        what: 'the rebuilt container',
        detail: () => w.output,
      });
      await waitFor(async () => !(await imageExists(first)), {
        timeoutMs: 60_000,
        what: 'the replaced image pruned',
      });
    } finally {
      assert.equal(await w.stop(), 0, 'Ctrl+C exits 0 as before');
    }
  });

  test('--no-prune keeps the replaced image', async () => {
    const w = p.spawn(['watch', '--no-prune', '--no-logs']);
    try {
      await w.waitForOutput(/watching 1 rules/, 240_000);
      const [first] = await imageIds();
      assert.ok(first);
      await p.write('ctx/Dockerfile', dockerfile('three'));
      await waitFor(async () => (await p.exec('web', ['cat', '/baked']))?.trim() === 'three', {
        timeoutMs: 240_000,
        what: 'the rebuilt container',
        detail: () => w.output,
      });
      await waitFor(() => /rebuilt web/.test(w.output), { timeoutMs: 60_000 });
      assert.ok(await imageExists(first), 'kept');
      await docker(['image', 'rm', first]).catch(() => undefined);
    } finally {
      await w.stop();
    }
  });
});
