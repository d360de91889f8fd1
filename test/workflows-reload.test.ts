/**
 * Reload while watching, against the real engine: an edit to the compose file, an override or
 * the `.env` re-resolves the model; changed rules restart with an initial sync, removed rules
 * stop, new services with rules are attached; with `up --watch` a service whose compose
 * configuration changed is brought up again (synced before it starts); an invalid model is
 * reported with its YAML path and the previous one keeps running.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CliProcess, TestProject, waitFor } from './helpers.js';

const composeFile = (o: { greeting?: string; apiSync?: string } = {}) => `services:
  web:
    image: composync/busybox
    command: ['sh', '-c', 'cat /srv/two/index.html > /seen-at-start 2>/dev/null; echo "$$GREETING" > /greeting; exec sleep 2147483647']
    environment:
      GREETING: ${o.greeting ?? 'hello'}
    stop_signal: SIGKILL
    x-sync:
      - source: ./web
        target: \${WEB_TARGET}
  api:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
${o.apiSync ?? '    x-sync:\n      - source: ./api\n        target: /api\n'}`;

const override = `services:
  extra:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    x-sync:
      - source: ./extra
        target: /extra
`;

describe('reload when the compose model changes', { timeout: 900_000 }, () => {
  let p: TestProject;
  let w: CliProcess;

  const log = () => p.syncLog();
  const reloads = async () => (await log()).filter((r) => r.event === 'reload');
  const eventually = <T>(what: string, check: () => Promise<T>, timeoutMs = 60_000) =>
    waitFor(check, { what, timeoutMs, detail: () => w.output });
  /** Wait for the next reload event after `n` of them; returns it. */
  const nextReload = async (n: number) =>
    (await eventually('a reload event', async () => (await reloads())[n]))!;

  before(async () => {
    p = await TestProject.create('wf-reload', {
      'compose.yaml': composeFile(),
      '.env': 'WEB_TARGET=/srv/one\n',
      'web/index.html': 'web',
      'api/a.txt': 'a',
      'extra/file.txt': 'extra',
    });
    w = p.spawn(['up', '--watch', '--no-logs']);
    await w.waitForOutput(/watching 2 rules/, 240_000);
    assert.equal(await p.readRemote('web', '/srv/one/index.html'), 'web');
  });
  after(async () => {
    await w?.stop();
    await p?.cleanup();
  });

  test('an edit to .env restarts the rule it changes, with an initial sync', async () => {
    const n = (await reloads()).length;
    const api = await p.container('api');
    const web = await p.container('web');
    await p.write('.env', 'WEB_TARGET=/srv/two\n');
    const r = await nextReload(n);
    assert.match(r.message, /rule web\/0 changed/);
    await eventually(
      'synced to the new target',
      async () => (await p.readRemote('web', '/srv/two/index.html')) === 'web',
    );
    await p.write('web/new.txt', 'new');
    await eventually(
      'a later edit follows the new rule',
      async () => (await p.readRemote('web', '/srv/two/new.txt')) === 'new',
    );
    assert.equal(await p.container('web'), web, 'only x-sync changed: no container recreated');
    assert.equal(await p.container('api'), api);
  });

  test('a changed service configuration is brought up again, its files in before it starts', async () => {
    const n = (await reloads()).length;
    const web = await p.container('web');
    const api = await p.container('api');
    await p.write('compose.yaml', composeFile({ greeting: 'bonjour' }));
    await nextReload(n);
    const fresh = await eventually('web recreated', async () => {
      const id = await p.container('web').catch(() => web);
      return id !== web && (await p.readRemote('web', '/greeting')) === 'bonjour\n' ? id : '';
    });
    assert.ok(fresh);
    // its process saw the synced file at its very start
    assert.equal(await p.readRemote('web', '/seen-at-start'), 'web');
    assert.equal(await p.container('api'), api, 'an unchanged service is left alone');
    const recs = await log();
    assert.ok(recs.some((x) => /compose configuration of web changed/.test(x.message)));
    await p.write('web/after-recreate.txt', 'x');
    await eventually(
      'the new container is watched',
      async () => (await p.readRemote('web', '/srv/two/after-recreate.txt')) === 'x',
    );
  });

  test('an invalid model is reported with its YAML path; the previous one keeps running', async () => {
    const n = (await reloads()).length;
    const bad = composeFile({
      greeting: 'bonjour',
      apiSync: '    x-sync:\n      - source: ./api\n        target: /api\n        mode: fast\n',
    });
    await p.write('compose.yaml', bad);
    const r = await nextReload(n);
    assert.equal(r.level, 'error');
    assert.match(r.message, /services\.api\.x-sync\[0\]\.mode/);
    assert.match(r.message, /previous one keeps running/);
    await p.write('api/still.txt', 'still');
    await eventually(
      'still syncing with the previous model',
      async () => (await p.readRemote('api', '/api/still.txt')) === 'still',
    );
  });

  test('a removed rule stops', async () => {
    const n = (await reloads()).length;
    await p.write('compose.yaml', composeFile({ greeting: 'bonjour', apiSync: '' }));
    const r = await nextReload(n);
    assert.match(r.message, /rule api\/0 removed/);
    await p.write('api/ignored.txt', 'not synced');
    await p.write('web/marker.txt', 'm');
    await eventually(
      'a later web edit',
      async () => (await p.readRemote('web', '/srv/two/marker.txt')) === 'm',
    );
    assert.equal(await p.readRemote('api', '/api/ignored.txt'), null);
  });

  test('an override adding a service with rules: it is brought up and attached', async () => {
    const n = (await reloads()).length;
    await p.write('compose.override.yaml', override);
    const r = await nextReload(n);
    assert.match(r.message, /rule extra\/0 added/);
    await eventually(
      'the new service runs with its files',
      async () => (await p.readRemote('extra', '/extra/file.txt')) === 'extra',
      120_000,
    );
    await p.write('extra/more.txt', 'more');
    await eventually(
      'and is watched',
      async () => (await p.readRemote('extra', '/extra/more.txt')) === 'more',
    );
    const st = JSON.parse((await p.composync(['status', '--json'])).stdout) as {
      rules: { rule: string; state: string }[];
    };
    assert.ok(st.rules.some((x) => x.rule === 'extra/0' && x.state === 'watching'));
  });
});

describe('reload under watch --no-up', { timeout: 600_000 }, () => {
  let p: TestProject;
  let w: CliProcess;

  before(async () => {
    p = await TestProject.create('wf-reload-noup', {
      'compose.yaml': composeFile(),
      'dev.env': 'WEB_TARGET=/srv/one\n',
      'web/index.html': 'web',
      'api/a.txt': 'a',
    });
    const up = await p.composync(['--env-file', 'dev.env', 'up'], { timeoutMs: 240_000 });
    assert.equal(up.code, 0, up.stderr);
    w = p.spawn(['--env-file', 'dev.env', 'watch', '--no-up', '--no-logs']);
    await w.waitForOutput(/watching 2 rules/, 120_000);
  });
  after(async () => {
    await w?.stop();
    await p?.cleanup();
  });

  test('rules reload, but nothing is brought up again', async () => {
    const web = await p.container('web');
    await p.write(
      'compose.yaml',
      composeFile({
        greeting: 'bonjour',
        apiSync: '    x-sync:\n      - source: ./api\n        target: /api2\n',
      }),
    );
    await waitFor(async () => (await p.readRemote('api', '/api2/a.txt')) === 'a', {
      timeoutMs: 60_000,
      what: 'the changed rule synced',
      detail: () => w.output,
    });
    assert.equal(await p.container('web'), web, 'watch --no-up recreates nothing');
    assert.equal(await p.readRemote('web', '/greeting'), 'hello\n');
  });

  test('an edit to the --env-file re-resolves the model', async () => {
    await p.write('dev.env', 'WEB_TARGET=/srv/three\n');
    await waitFor(async () => (await p.readRemote('web', '/srv/three/index.html')) === 'web', {
      timeoutMs: 60_000,
      what: 'the rule at its new target',
      detail: () => w.output,
    });
  });
});
