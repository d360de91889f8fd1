/**
 * The soak in CI: a seeded random workload of about 2,000 operations (COMPOSYNC_SOAK_OPS) while
 * `composync up --watch` runs; every container tree must equal its local tree by content hash at
 * every checkpoint. The seed is printed; COMPOSYNC_SOAK_SEED replays a run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestProject } from './helpers.js';
import { runSoak, seedFromEnv, SOAK_COMPOSE } from './soak-lib.js';

describe('soak: random bursts while watching', { timeout: 900_000 }, () => {
  let p: TestProject;
  before(async () => {
    p = await TestProject.create('soak', { 'compose.yaml': SOAK_COMPOSE });
  });
  after(async () => {
    await p?.cleanup();
  });

  test('every target equals its source by content hash, at every checkpoint', async (t) => {
    const seed = seedFromEnv();
    const ops = Number(process.env.COMPOSYNC_SOAK_OPS ?? 2000);
    t.diagnostic(`seed ${seed} (COMPOSYNC_SOAK_SEED=${seed} replays it), ${ops} operations`);
    const r = await runSoak(p, { seed, ops, log: (l) => t.diagnostic(l) });
    t.diagnostic(
      `seed ${r.seed}: ${r.ops} local and ${r.remoteOps} container-side operations in ` +
        `${r.bursts} bursts, ${r.differences} differences, ${r.conflicts.length} conflicts, ` +
        `${r.problems.length} problems, ${Math.round(r.durationMs / 1000)} s`,
    );
    assert.equal(r.differences, 0, `seed ${seed}: ${JSON.stringify(r.checkpoints, null, 1)}`);
    assert.deepEqual(r.conflicts, [], `seed ${seed}: conflicts`);
    assert.ok(r.survived, `seed ${seed}: composync exited during the soak`);
    assert.equal(r.stopExitCode, 0, `seed ${seed}: composync did not stop cleanly`);
  });
});

describe('soak: a small tree, large bursts, default configuration', { timeout: 900_000 }, () => {
  let p: TestProject;
  before(async () => {
    p = await TestProject.create('soak-small', { 'compose.yaml': SOAK_COMPOSE });
  });
  after(async () => {
    await p?.cleanup();
  });

  // A branch switch or an `rm -rf` in a project of 150 files deletes most of a directory in one
  // batch: the safety checks must let such bursts through (none of them empties a root).
  test('about 150 files, bursts of up to 200 operations: every target equals its source', async (t) => {
    const seed = seedFromEnv();
    t.diagnostic(`seed ${seed} (COMPOSYNC_SOAK_SEED=${seed} replays it), 1200 operations`);
    const r = await runSoak(p, {
      seed,
      ops: 1200,
      burstMax: 200,
      initialOps: 220,
      checkpointEvery: 300,
      log: (l) => t.diagnostic(l),
    });
    t.diagnostic(
      `seed ${r.seed}: ${r.ops} local operations in ${r.bursts} bursts ` +
        `(${JSON.stringify(r.opsByKind)}), ${r.differences} differences, ` +
        `${r.conflicts.length} conflicts, ${Math.round(r.durationMs / 1000)} s`,
    );
    assert.equal(r.differences, 0, `seed ${seed}: ${JSON.stringify(r.checkpoints, null, 1)}`);
    assert.deepEqual(r.conflicts, [], `seed ${seed}: conflicts`);
    assert.deepEqual(
      r.problems.filter((m) => /halted/.test(m)),
      [],
      `seed ${seed}: a burst halted a rule`,
    );
    assert.ok(r.survived, `seed ${seed}: composync exited during the soak`);
    assert.equal(r.stopExitCode, 0, `seed ${seed}: composync did not stop cleanly`);
  });
});
