/**
 * Drop-in `develop.watch`: a compose file written for `docker compose watch`, unchanged, driven
 * by `composync up --watch` against the real engine, for every action compose 2.26 accepts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CliProcess, TestProject } from './helpers.js';

const compose = `services:
  dw:
    build: ./ctx
    stop_signal: SIGKILL
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app/src
          ignore:
            - tmp/
        - path: ./conf
          action: sync+restart
          target: /app/conf
        - path: ./hooks
          action: sync+exec
          target: /app/hooks
          exec:
            command: ['sh', '-c', 'echo "$$GREETING" > /tmp/exec-out; pwd >> /tmp/exec-out; id -u >> /tmp/exec-out']
            user: '1000'
            working_dir: /app
            environment:
              GREETING: hello
        - path: ./ctx/baked.txt
          action: rebuild
        - path: ./restart-only.txt
          action: restart
`;

const dockerfile = `FROM composync/busybox
COPY baked.txt /baked.txt
RUN mkdir -p /app && chmod 777 /app /tmp
CMD ["sh", "-c", "echo start >> /tmp/starts; while :; do sleep 0.05; done"]
`;

describe('develop.watch drop-in', { timeout: 600_000 }, () => {
  let p: TestProject;
  let w: CliProcess;
  const starts = async () =>
    ((await p.readRemote('dw', '/tmp/starts')) ?? '').trim().split('\n').filter(Boolean).length;

  before(async () => {
    p = await TestProject.create('dwatch', {
      'compose.yaml': compose,
      'ctx/Dockerfile': dockerfile,
      'ctx/baked.txt': 'baked-1',
      'src/keep.txt': 'k',
      'conf/app.conf': 'c1',
      'hooks/h.sh': 'h1',
      'restart-only.txt': 'r1',
    });
    w = p.spawn(['up', '--watch', '--no-logs']);
    await w.waitForOutput(/watching \d+ rules/, 240_000);
  });

  after(async () => {
    await w?.stop();
    await p?.cleanup();
  });

  test('sync copies changes (not at start, as compose) and honours ignore', async () => {
    // compose watch does no initial sync without initial_sync: the file is not there yet
    assert.equal(await p.readRemote('dw', '/app/src/keep.txt'), null);
    await p.write('src/a.txt', 'A');
    await p.write('src/tmp/x.txt', 'ignored');
    await w.eventually('synced', async () => (await p.readRemote('dw', '/app/src/a.txt')) === 'A');
    await p.write('src/b.txt', 'B');
    await w.eventually(
      'synced b',
      async () => (await p.readRemote('dw', '/app/src/b.txt')) === 'B',
    );
    assert.equal(await p.readRemote('dw', '/app/src/tmp/x.txt'), null);
  });

  test('sync+restart copies then restarts', async () => {
    const before = await starts();
    await p.write('conf/app.conf', 'c2');
    await w.eventually('restarted', async () => (await starts()) === before + 1);
    assert.equal(await p.readRemote('dw', '/app/conf/app.conf'), 'c2');
  });

  test('sync+exec runs exec.command with user, working_dir and environment', async () => {
    await p.write('hooks/h.sh', 'h2');
    await w.eventually(
      'exec ran',
      async () => (await p.readRemote('dw', '/tmp/exec-out')) === 'hello\n/app\n1000\n',
    );
    assert.equal(await p.readRemote('dw', '/app/hooks/h.sh'), 'h2');
  });

  test('restart restarts without syncing', async () => {
    const before = await starts();
    await p.write('restart-only.txt', 'r2');
    await w.eventually('restarted', async () => (await starts()) === before + 1);
  });

  test('rebuild builds the image and recreates the container', async () => {
    await p.write('ctx/baked.txt', 'baked-2');
    await w.eventually(
      'rebuilt',
      async () => (await p.readRemote('dw', '/baked.txt').catch(() => null)) === 'baked-2',
      180_000,
    );
  });
});
