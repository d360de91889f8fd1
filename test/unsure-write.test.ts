/**
 * A write that lands in the container although composync never learns it did (the container
 * dies mid-archive, the confirmation is lost): the next batch must take the container's copy
 * for composync's own write, not for an edit made in the container, so no conflict is invented
 * and the newer local version goes up. Against the real engine; only the lost confirmation is
 * staged (a channel that writes for real, then reports every entry as failed, or throws), since
 * the engine cannot be made to lose one on cue. Found by the faults test's crash during a burst.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { PathFilter } from '../src/core/ignore.js';
import type { SyncModel } from '../src/core/model.js';
import type { ContainerChannel } from '../src/core/ports.js';
import { loadModel } from '../src/config/index.js';
import { createEngine } from '../src/engine/index.js';
import { RuleSync } from '../src/session/rule-sync.js';
import { TestProject } from './helpers.js';

const compose = `services:
  app:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    x-sync:
      - { source: ./safe, target: /safe, mode: two-way-safe }
      - { source: ./one, target: /one, mode: one-way-safe }
`;

/** The real channel, except that writes land and then report failure (or throw). */
function losingConfirmations(channel: ContainerChannel, how: 'problems' | 'throw') {
  let lose = false;
  const wrapped: ContainerChannel = Object.create(channel) as ContainerChannel;
  wrapped.write = async (entries, opts) => {
    const res = await channel.write(entries, opts);
    if (!lose) return res;
    if (how === 'throw') throw new Error('the container died before it confirmed the write');
    return {
      ...res,
      written: 0,
      problems: entries.map((e) => ({ path: e.path, message: 'no confirmation' })),
      stats: new Map(),
    };
  };
  return {
    channel: wrapped,
    set lose(v: boolean) {
      lose = v;
    },
  };
}

describe('a write that landed without its confirmation', { timeout: 180_000 }, () => {
  let p: TestProject;
  let model: SyncModel;
  const engine = createEngine();

  before(async () => {
    p = await TestProject.create('unsure', {
      'compose.yaml': compose,
      'safe/keep.txt': 'keep',
      'one/keep.txt': 'keep',
    });
    const up = await p.compose(['up', '-d']);
    assert.equal(up.code, 0, up.stderr);
    ({ model } = await loadModel({
      files: [],
      projectName: p.name,
      profiles: [],
      envFiles: [],
      cwd: p.dir,
      env: process.env,
    }));
  });

  after(async () => {
    await p?.cleanup();
  });

  for (const [ruleIndex, target] of [
    [0, '/safe'],
    [1, '/one'],
  ] as const) {
    for (const how of ['problems', 'throw'] as const) {
      test(`rule ${target}, the write ${how === 'throw' ? 'throws' : 'reports failure'}: the next batch uploads, no conflict`, async () => {
        const [ref] = await engine.listContainers(p.name, ['app']);
        assert.ok(ref, 'the container runs');
        const real = await engine.attach(ref);
        const staged = losingConfirmations(real, how);
        const rule = model.services.find((s) => s.name === 'app')!.rules[ruleIndex]!;
        const open = async () => {
          const ignore = await readFile(`${rule.root}/.syncignore`, 'utf8').catch(() => null);
          const rs = new RuleSync(rule, staged.channel, model, new PathFilter(rule, ignore));
          await rs.open();
          return rs;
        };
        try {
          let rs = await open();
          await rs.initialSync();
          const name = `new-${how}.txt`;
          const sub = `dir-${how}/${name}`;
          await p.write(`${rule.source.replace(/^\.\//, '')}/${sub}`, 'v1');
          staged.lose = true;
          const lost = rs.applyBatch(new Set([`dir-${how}`, sub])).then(
            (r) => r.problems.length,
            () => -1,
          );
          assert.notEqual(await lost, 0, 'the write was reported lost');
          staged.lose = false;
          assert.equal(await p.readRemote('app', `${target}/${sub}`), 'v1', 'it did land');

          // a watcher restarted meanwhile reads the state from disk
          if (how === 'throw') rs = await open();
          await p.write(`${rule.source.replace(/^\.\//, '')}/${sub}`, 'v2, edited again');
          const rep = await rs.applyBatch(new Set([sub]));
          assert.deepEqual(rep.conflicts, []);
          assert.deepEqual(rep.problems, []);
          assert.equal(rep.uploaded, 1);
          assert.equal(await p.readRemote('app', `${target}/${sub}`), 'v2, edited again');

          // and the mark is gone: an edit in the container is an edit again
          await p.exec('app', ['sh', '-c', `echo theirs > ${target}/${sub}`]);
          await p.write(`${rule.source.replace(/^\.\//, '')}/${sub}`, 'v3');
          const after = await rs.applyBatch(new Set([sub]));
          assert.deepEqual(
            after.conflicts.map((c) => c.path),
            [sub],
          );
        } finally {
          await real.close();
        }
      });
    }
  }
});
