import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SyncRule } from '../core/model.js';
import { emptyPlan } from '../core/reconcile.js';
import type { Entry, Tree } from '../core/tree.js';
import { FakeContainer } from '../testing/fakes.js';
import { PlanApplier, UPLOAD_SLICE } from './apply-plan.js';
import type { RemoteView } from './remote-view.js';

const rule = { kind: 'dir', root: '/nonexistent-source' } as unknown as SyncRule;
const dir = (): Entry => ({ kind: 'dir', size: 0, mtimeMs: 1000, mode: 0o755 });

/** A plan uploading `n` directories (no file content to read), in the planner's order. */
function uploads(n: number): { rels: string[]; local: Tree } {
  const rels = Array.from({ length: n }, (_, i) => `d${String(i).padStart(6, '0')}`);
  return { rels, local: new Map(rels.map((r) => [r, dir()])) };
}

function applier(c: FakeContainer) {
  return new PlanApplier(rule, c, '/app', {} as RemoteView, () => ({ uid: 0, gid: 0 }));
}

test('a large upload goes in slices, in the plan order, and every path is confirmed', async () => {
  const c = new FakeContainer({ id: 'c1', name: 'web-1', service: 'web' } as never, []);
  const { rels, local } = uploads(UPLOAD_SLICE * 2 + 3);
  const done = await applier(c).apply({ ...emptyPlan(), upload: rels }, local, new Map());
  assert.equal(done.error, undefined);
  assert.deepEqual(
    c.writes.map((w) => w.length),
    [UPLOAD_SLICE, UPLOAD_SLICE, 3],
  );
  assert.deepEqual(
    c.writes.flat(),
    rels.map((r) => `/app/${r}`),
  );
  assert.deepEqual(
    done.outcome.uploaded.map((u) => u.rel),
    rels,
  );
});

test('a slice that dies leaves the slices before it confirmed and its own paths unsure', async () => {
  const c = new FakeContainer({ id: 'c1', name: 'web-1', service: 'web' } as never, []);
  let calls = 0;
  c.beforeWrite = () => {
    if (++calls === 2) throw new Error('the container went away');
  };
  const { rels, local } = uploads(UPLOAD_SLICE * 2 + 3);
  const done = await applier(c).apply({ ...emptyPlan(), upload: rels }, local, new Map());
  assert.match(String(done.error), /went away/);
  assert.equal(done.outcome.aborted, true);
  assert.deepEqual(
    done.outcome.uploaded.map((u) => u.rel),
    rels.slice(0, UPLOAD_SLICE),
  );
  assert.deepEqual(done.outcome.unsure, rels.slice(UPLOAD_SLICE, UPLOAD_SLICE * 2));
  assert.equal(c.writes.length, 2); // nothing after the write that died
});
