/**
 * The session loop with an in-memory engine, a watcher the test drives and a manual clock:
 * the order of rebuild, sync, restart and exec in a batch, a container starting while a batch
 * runs, a write that fails, and a burst held back while a batch runs. The real engine is in
 * test/; this is what it cannot stage at a chosen moment.
 */
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { normalize } from '../config/normalize.js';
import type { SyncModel } from '../core/model.js';
import { FakeEngine, FakeWatcher, ManualClock, type FakeContainer } from '../testing/fakes.js';
import { Session } from './session.js';
import type { LogRecord } from './sync-log.js';

/** Poll until `check` holds (a deadline, not a sleep). */
async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function model(dir: string, svc: Record<string, unknown>): SyncModel {
  const r = normalize(
    { name: 'p', services: { web: { image: 'x', 'x-sync': svc } } },
    {
      projectDir: dir,
      composeFiles: [join(dir, 'compose.yaml')],
      stat: (abs) => {
        const st = statSync(abs, { throwIfNoEntry: false });
        return st ? (st.isDirectory() ? 'dir' : 'file') : null;
      },
    },
  );
  assert.deepEqual(r.problems, []);
  return r.model;
}

describe('Session with a fake engine and clock', () => {
  let dir: string;
  let engine: FakeEngine;
  let web: FakeContainer;
  let clock: ManualClock;
  let watcher: FakeWatcher | undefined;
  let session: Session | undefined;
  let records: LogRecord[];
  const rebuilds: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'composync-session-'));
  });
  after(async () => rm(dir, { recursive: true, force: true, maxRetries: 5 }));

  beforeEach(async () => {
    await rm(join(dir, 'src'), { recursive: true, force: true });
    await rm(join(dir, '.composync'), { recursive: true, force: true });
    await mkdir(join(dir, 'src'), { recursive: true });
    await writeFile(join(dir, 'src/index.js'), 'one');
    engine = new FakeEngine();
    web = engine.add('p', 'web');
    clock = new ManualClock();
    records = [];
    rebuilds.length = 0;
  });

  /**
   * Start watching with the given x-sync of service web; `up`: as `up` starts, a reconcile
   * before compose's start and one after it, without watching the containers.
   */
  async function open(svc: Record<string, unknown>, o: { up?: boolean } = {}): Promise<Session> {
    session = new Session({
      model: model(dir, svc),
      engine,
      clock,
      reporter: (r) => records.push(r),
      createWatcher: (onChange) => (watcher = new FakeWatcher(onChange)),
      rebuild: (s) => {
        rebuilds.push(s);
        engine.log.push(`rebuild ${s}`);
        return Promise.resolve();
      },
    });
    await session.watchLocal();
    if (o.up) await session.syncBeforeStart();
    await session.start();
    if (!o.up) await session.watch();
    return session;
  }

  /** Edit local files and let the watcher report them; then let the quiet period pass. */
  async function edit(files: Record<string, string>, advance = 10): Promise<void> {
    for (const [rel, text] of Object.entries(files)) {
      await mkdir(join(dir, rel, '..'), { recursive: true });
      await writeFile(join(dir, rel), text);
      watcher!.change(join(dir, rel));
    }
    clock.advance(advance);
  }

  afterEach(async () => {
    await session?.stop();
    session = undefined;
  });

  test('a batch runs sync, then restart, then exec; changed container paths reach exec', async () => {
    await open({
      sync: [{ source: './src', target: '/app' }],
      restart: ['./src/**'],
      exec: [{ paths: ['./src/**'], command: ['reload'] }],
    });
    engine.log.length = 0;
    await edit({ 'src/index.js': 'two' });
    await until('exec', () => engine.log.some((l) => l.startsWith('exec')));
    assert.deepEqual(engine.log, [
      'write p-web-1 /app/index.js',
      'restart p-web-1',
      'exec p-web-1 reload [/app/index.js]',
    ]);
    assert.equal(web.text('/app/index.js'), 'two');
  });

  test('a second event for a file already sent moves nothing and runs no exec again', async () => {
    await open({
      sync: [{ source: './src', target: '/app' }],
      exec: [{ paths: ['./src/**'], command: ['reload'] }],
    });
    await writeFile(join(dir, 'hook.txt'), 'h');
    await edit({ 'src/index.js': 'two' });
    await until('the first exec', () => engine.log.some((l) => l.startsWith('exec')));
    engine.log.length = 0;
    // the editor's late event for the same save: the content is already in the container
    watcher!.change(join(dir, 'src/index.js'));
    clock.advance(10);
    await edit({ 'src/other.js': 'x' });
    await until('the next real change', () => engine.log.some((l) => l.startsWith('exec')));
    assert.deepEqual(engine.log, [
      'write p-web-1 /app/other.js',
      'exec p-web-1 reload [/app/other.js]',
    ]);
  });

  test('an edit of a synced file goes out on the leading edge; a new file waits for quiet', async () => {
    await open({ sync: [{ source: './src', target: '/app' }] });
    clock.advance(100);
    engine.log.length = 0;
    // 1 ms after the event, well inside the 5 ms quiet period
    await edit({ 'src/index.js': 'two' }, 1);
    await until('the leading write', () => web.text('/app/index.js') === 'two');
    assert.deepEqual(engine.log, ['write p-web-1 /app/index.js']);
    clock.advance(100);
    // a path no sync recorded is not sent before the quiet period: a burst gathers in one batch
    await edit({ 'src/new.js': 'n' }, 1);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    assert.equal(web.text('/app/new.js'), undefined);
    clock.advance(10);
    await until('the new file after quiet', () => web.text('/app/new.js') === 'n');
  });

  test('the container check of an edit starts at its first event; its batch uses it', async () => {
    await open({ sync: [{ source: './src', target: '/app' }] });
    clock.advance(100);
    web.stats.length = 0;
    await writeFile(join(dir, 'src/index.js'), 'two');
    watcher!.change(join(dir, 'src/index.js'));
    // the clock has not moved: the leading window is still open, yet the check is asked
    assert.deepEqual(web.stats, [['/app/index.js']]);
    clock.advance(1);
    await until('the write', () => web.text('/app/index.js') === 'two');
    assert.deepEqual(web.stats, [['/app/index.js']], 'asked once');
  });

  test('an edit that sets off a trigger waits for quiet, so one save fires it once', async () => {
    await writeFile(join(dir, 'src/other.js'), 'one');
    await open({ sync: [{ source: './src', target: '/app' }], restart: ['./src/**'] });
    clock.advance(100);
    engine.log.length = 0;
    // one save of two synced files, 2 ms apart: past the leading window, inside the quiet period
    await edit({ 'src/index.js': 'two' }, 2);
    await edit({ 'src/other.js': 'two' });
    await until('the restart', () => engine.log.includes('restart p-web-1'));
    await until('both files', () => web.text('/app/other.js') === 'two');
    assert.equal(
      engine.log.filter((l) => l === 'restart p-web-1').length,
      1,
      engine.log.join('\n'),
    );
  });

  test('a container reconciled before up, and left running by it, is not reconciled twice', async () => {
    // (between the two, `up` runs `docker compose up -d`: the running container stays)
    await open({ sync: [{ source: './src', target: '/app' }] }, { up: true });
    assert.deepEqual(web.scans, ['/app'], 'one reconcile of a one-way rule');
    assert.equal(web.text('/app/index.js'), 'one');
    await session!.stop();
    // a rule that moves files down looks again: the container side may have changed meanwhile
    web.scans.length = 0;
    await open({ sync: [{ source: './src', target: '/app', mode: 'two-way' }] }, { up: true });
    assert.deepEqual(web.scans, ['/app', '/app']);
  });

  test('a trigger path no rule syncs fires whatever the sync moved', async () => {
    await open({
      sync: [{ source: './src', target: '/app' }],
      restart: ['./hup.conf'],
    });
    engine.log.length = 0;
    await edit({ 'hup.conf': 'a' });
    await until('the restart', () => engine.log.includes('restart p-web-1'));
    assert.deepEqual(engine.log, ['restart p-web-1']);
  });

  test('a rebuild trigger rebuilds and syncs nothing in that batch', async () => {
    await open({ sync: [{ source: './src', target: '/app' }], rebuild: ['./src/package.json'] });
    engine.log.length = 0;
    await edit({ 'src/package.json': '{}', 'src/index.js': 'changed with it' });
    await until('rebuild', () => rebuilds.length === 1);
    assert.deepEqual(engine.log, ['rebuild web']);
    assert.equal(web.text('/app/index.js'), 'one');
  });

  test('a container that starts while a batch runs gets its initial sync after that batch', async () => {
    await open({ sync: [{ source: './src', target: '/app' }] });
    let release!: () => void;
    web.beforeWrite = () => new Promise<void>((r) => (release = r));
    engine.log.length = 0;
    await edit({ 'src/index.js': 'two' });
    await until('the batch write began', () => web.writes.length === 2);
    const second = engine.add('p', 'web', 2);
    engine.emit({
      kind: 'started',
      containerId: second.container.id,
      service: 'web',
      project: 'p',
    });
    // the start waits behind the batch in flight
    await new Promise((r) => setImmediate(r));
    assert.equal(second.writes.length, 0);
    release();
    await until('the new container synced', () => second.text('/app/index.js') === 'two');
    assert.deepEqual(engine.log, ['write p-web-1 /app/index.js', 'write p-web-2 /app/index.js']);
    assert.ok(records.some((r) => r.event === 'start' && r.container === 'p-web-2'));
  });

  test('a write that fails is a problem of its path; the rest lands and a later edit retries it', async () => {
    await open({ sync: [{ source: './src', target: '/app' }] });
    web.failing.add('/app/bad.txt');
    await edit({ 'src/bad.txt': 'x', 'src/good.txt': 'y' });
    await until('the problem', () => records.some((r) => r.event === 'problem'));
    const problem = records.find((r) => r.event === 'problem')!;
    assert.match(problem.message, /bad\.txt: no space left on device/);
    assert.equal(web.text('/app/good.txt'), 'y');
    assert.equal(web.text('/app/bad.txt'), undefined);
    web.failing.clear();
    await edit({ 'src/bad.txt': 'x again' });
    await until('the retry', () => web.text('/app/bad.txt') === 'x again');
  });

  test('a burst arriving while a batch runs is held and sent as one next batch', async () => {
    await open({ sync: [{ source: './src', target: '/app' }] });
    let release!: () => void;
    web.beforeWrite = () => new Promise<void>((r) => (release = r));
    await edit({ 'src/index.js': 'two' });
    await until('the first batch write', () => web.writes.length === 2);
    web.beforeWrite = () => undefined;
    for (let i = 0; i < 5; i++) await edit({ [`src/b${i}.txt`]: `${i}` }, 100);
    clock.advance(1000);
    // however long the quiet lasted, nothing more is sent while the first batch runs
    assert.equal(web.writes.length, 2);
    release();
    // the held batch is due at once when the first settles (its quiet period has passed)
    await until('the held burst', () => {
      clock.advance(1);
      return web.writes.length === 3;
    });
    assert.deepEqual(
      web.writes[2],
      [0, 1, 2, 3, 4].map((i) => `/app/b${i}.txt`),
    );
  });
});
