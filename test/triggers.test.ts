/**
 * Triggers and container lifecycle against the real engine: rebuild, restart, signal, exec,
 * and re-sync of containers that start, restart or are recreated.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CliProcess, TestProject } from './helpers.js';

const compose = `services:
  dep:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
  app:
    build: ./ctx
    depends_on: [dep]
    stop_signal: SIGKILL
    x-sync:
      sync:
        - source: ./src
          target: /app
        - source: ./conf
          target: /conf
      rebuild: ['./ctx/baked.txt']
      restart:
        - './conf/**'
        - paths: ['./conf/app.conf']
        - paths: ['./hup.conf']
          signal: SIGHUP
      exec:
        - paths: ['./src/**']
          command: 'printf "%s\\n" "$$COMPOSYNC_CHANGED_FILES" >> /tmp/changed; echo exec-ran'
        - paths: ['./src/fail.txt']
          command: ['sh', '-c', 'exit 3']
`;

// PID 1 records each start, the config it saw, and every SIGHUP it receives.
const dockerfile = `FROM composync/busybox
COPY baked.txt /baked.txt
CMD ["sh", "-c", "echo start >> /tmp/starts; cat /conf/app.conf > /tmp/seen 2>/dev/null; trap 'echo hup >> /tmp/hups' HUP; while :; do sleep 0.05; done"]
`;

describe('triggers and container lifecycle', { timeout: 600_000 }, () => {
  let p: TestProject;
  let w: CliProcess;

  const log = () => p.syncLog();

  before(async () => {
    p = await TestProject.create('trig', {
      'compose.yaml': compose,
      'ctx/Dockerfile': dockerfile,
      'ctx/baked.txt': 'baked-1',
      'src/index.js': 'one',
      'conf/app.conf': 'conf-1',
      'hup.conf': 'hup-1',
    });
    w = p.spawn(['up', '--watch', '--no-logs']);
    await w.waitForOutput(/watching \d+ rules/, 240_000);
  });

  after(async () => {
    await w?.stop();
    await p?.cleanup();
  });

  test('exec receives the changed files, runs after the sync, and its output is shown', async () => {
    await p.write('src/a.txt', 'A');
    await p.write('src/b.txt', 'B');
    await w.eventually('exec ran', async () => {
      const changed = await p.readRemote('app', '/tmp/changed');
      return changed !== null && changed.includes('/app/a.txt') && changed.includes('/app/b.txt');
    });
    // the two writes may land in one batch or in two (each exec appends what its batch wrote):
    // either way every changed file was named once, and nothing else
    const changed = (await p.readRemote('app', '/tmp/changed'))!.split('\n').filter(Boolean);
    assert.deepEqual(changed.sort(), ['/app/a.txt', '/app/b.txt']);
    await w.waitForOutput(/app-1 {2}\| exec-ran/);
  });

  test('a failing exec is reported and syncing goes on', async () => {
    await p.write('src/fail.txt', 'x');
    await w.eventually('failure reported', async () =>
      (await log()).some((r) => r.event === 'exec' && /exit code 3/.test(r.message)),
    );
    await p.write('src/after-fail.txt', 'still syncing');
    await w.eventually(
      'synced after',
      async () => (await p.readRemote('app', '/app/after-fail.txt')) === 'still syncing',
    );
  });

  test('restart picks up a config file, once for a file matching two restart rules', async () => {
    const restartsBefore = (await log()).filter((r) => r.event === 'restart').length;
    await p.write('conf/app.conf', 'conf-2');
    await w.eventually(
      'restarted with the new config',
      async () => (await p.readRemote('app', '/tmp/seen')) === 'conf-2',
    );
    const starts = (await p.readRemote('app', '/tmp/starts'))!.trim().split('\n');
    assert.equal(starts.length, 2, 'the initial start and exactly one restart');
    const restarts = (await log()).filter((r) => r.event === 'restart').length;
    assert.equal(restarts - restartsBefore, 1);
  });

  test('SIGHUP reaches PID 1 for a trigger path outside every sync source', async () => {
    await p.write('hup.conf', 'hup-2');
    await w.eventually(
      'hup marker',
      async () => (await p.readRemote('app', '/tmp/hups')) === 'hup\n',
    );
    assert.ok((await log()).some((r) => r.event === 'signal' && /SIGHUP/.test(r.message)));
  });

  test('an edit made while the container is stopped arrives after docker compose start', async () => {
    const stop = await p.compose(['stop', 'app']);
    assert.equal(stop.code, 0, stop.stderr);
    await p.write('src/while-stopped.txt', 'made while stopped');
    const start = await p.compose(['start', 'app']);
    assert.equal(start.code, 0, start.stderr);
    await w.eventually(
      'arrived',
      async () => (await p.readRemote('app', '/app/while-stopped.txt')) === 'made while stopped',
    );
  });

  test('a container recreated by docker compose up --force-recreate is re-synced', async () => {
    const before = await p.container('app');
    const r = await p.compose(['up', '-d', '--force-recreate', '--no-deps', 'app']);
    assert.equal(r.code, 0, r.stderr);
    await w.eventually('new container synced', async () => {
      const now = await p.container('app').catch(() => before);
      return now !== before && (await p.readRemote('app', '/app/index.js')) === 'one';
    });
  });

  test('a new replica from docker compose up --scale receives the files', async () => {
    const r = await p.compose([
      'up',
      '-d',
      '--no-recreate',
      '--no-deps',
      '--scale',
      'app=2',
      'app',
    ]);
    assert.equal(r.code, 0, r.stderr);
    await w.eventually(
      'replica 2 synced',
      async () => (await p.readRemote('app', '/app/index.js', 2).catch(() => null)) === 'one',
    );
    await p.write('src/both.txt', 'both');
    for (const i of [1, 2]) {
      await w.eventually(
        `replica ${i} got the edit`,
        async () => (await p.readRemote('app', '/app/both.txt', i)) === 'both',
      );
    }
    const down = await p.compose([
      'up',
      '-d',
      '--no-recreate',
      '--no-deps',
      '--scale',
      'app=1',
      'app',
    ]);
    assert.equal(down.code, 0, down.stderr);
  });

  test('a rebuild bakes the changed file into the image and leaves the dependency alone', async () => {
    const depBefore = await p.container('dep');
    const appBefore = await p.container('app');
    await p.write('ctx/baked.txt', 'baked-2');
    await w.eventually(
      'rebuilt',
      async () => (await p.readRemote('app', '/baked.txt').catch(() => null)) === 'baked-2',
      180_000,
    );
    assert.notEqual(await p.container('app'), appBefore, 'app was recreated');
    assert.equal(await p.container('dep'), depBefore, 'the dependency kept its container');
    // the new container got the initial sync
    await w.eventually(
      'synced into the new container',
      async () => (await p.readRemote('app', '/app/index.js')) === 'one',
    );
  });

  test('SIGTERM finishes the batch in flight and exits 0', async () => {
    await p.write('src/last.txt', 'last');
    const code = await w.stop('SIGTERM');
    assert.equal(code, 0, w.output);
    assert.match(w.output, /stopped; containers left running/);
  });
});
