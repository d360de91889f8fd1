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
