/**
 * The develop.watch fields newer than compose 2.26 (`initial_sync`, `include`), on the compose in
 * use: with 2.40, `composync up --watch` does the initial sync compose would and syncs only the
 * included files; with 2.26, whose `docker compose config` rejects the fields, composync stops
 * with compose's error and says which field needs a newer compose. Run on both in CI.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ComposeCli } from '../src/compose/cli.js';
import { CliProcess, TestProject } from './helpers.js';

const compose = `services:
  nw:
    image: composync/busybox
    command: ["sh", "-c", "mkdir -p /app; while :; do sleep 0.05; done"]
    stop_signal: SIGKILL
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app
          initial_sync: true
          include: ["*.js"]
`;

async function composeMinor(dir: string): Promise<number> {
  const v = await new ComposeCli({
    files: [],
    profiles: [],
    envFiles: [],
    cwd: dir,
    env: process.env,
  }).version();
  return Number(v.split('.')[1]);
}

describe('develop.watch fields newer than compose 2.26', { timeout: 600_000 }, () => {
  let p: TestProject;
  let w: CliProcess | undefined;
  let minor = 0;

  before(async () => {
    p = await TestProject.create('dwnew', {
      'compose.yaml': compose,
      'src/at-start.js': 'start',
      'src/at-start.txt': 'not included',
    });
    minor = await composeMinor(p.dir);
  });

  after(async () => {
    await w?.stop();
    await p?.cleanup();
  });

  test('initial_sync uploads at start and include limits the rule (2.40); 2.26 refuses them with a hint', async () => {
    if (minor < 40) {
      const r = await p.composync(['config']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /Additional property (include|initial_sync) is not allowed/);
      assert.match(r.stderr, /in develop\.watch is newer than this compose/);
      return;
    }
    w = p.spawn(['up', '--watch', '--no-logs']);
    await w.waitForOutput(/watching \d+ rules?/, 240_000);
    // initial_sync: the file was there before the watch started
    await w.eventually(
      'initial sync',
      async () => (await p.readRemote('nw', '/app/at-start.js')) === 'start',
      60_000,
    );
    assert.equal(await p.readRemote('nw', '/app/at-start.txt'), null);
    await p.write('src/later.txt', 'not included either');
    await p.write('src/later.js', 'later');
    await w.eventually(
      'later.js synced',
      async () => (await p.readRemote('nw', '/app/later.js')) === 'later',
      60_000,
    );
    assert.equal(await p.readRemote('nw', '/app/later.txt'), null);
  });
});
