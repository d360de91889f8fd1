import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SyncModel, SyncRule } from '../core/model.js';
import {
  mergeStatus,
  statusReport,
  type RuleState,
  type RuleStatus,
  type StatusFile,
} from './status.js';

const rule = (service: string, index: number): SyncRule => ({
  id: `${service}/${index}`,
  service,
  index,
  yamlPath: `services.${service}.x-sync.sync[${index}]`,
  origin: 'x-sync',
  root: `/p/${service}`,
  source: `./${service}`,
  kind: 'dir',
  target: `/app${index}`,
  mode: 'one-way-safe',
  initialSync: 'preferLocal',
  exclude: [],
  include: [],
  uploadExclude: [],
  downloadExclude: [],
  symlinks: 'preserve',
});

const model: SyncModel = {
  projectName: 'p',
  projectDir: '/p',
  composeFiles: ['/p/compose.yaml'],
  allServices: ['web', 'api', 'db'],
  services: ['web', 'api'].map((name) => ({
    name,
    rules: name === 'web' ? [rule('web', 0), rule('web', 1)] : [rule('api', 0)],
    rebuild: [],
    restart: [],
    exec: [],
    debounce: 5,
    maxWait: 250,
    deleteGuard: 0.5,
    buildable: false,
  })),
};

const entry = (
  id: string,
  container: string,
  state: RuleState,
  extra: Partial<RuleStatus> = {},
): RuleStatus => ({
  service: id.split('/')[0]!,
  rule: id,
  container,
  source: 'x',
  target: `/srv/${id}`,
  mode: 'one-way-safe',
  state,
  lastSync: null,
  files: 0,
  bytes: 0,
  conflicts: [],
  problems: [],
  ...extra,
});

const file = (rules: RuleStatus[], services?: string[]): StatusFile => ({
  project: 'p',
  pid: 42,
  watching: true,
  services,
  updatedAt: '2026-01-01T00:00:00.000Z',
  rules,
});

describe('statusReport', () => {
  test('no status file: every rule of the model, not watching, nothing moved', () => {
    const r = statusReport(model, null, false);
    assert.equal(r.live, false);
    assert.equal(r.watcherPid, null);
    assert.deepEqual(
      r.rules.map((x) => [x.service, x.rule, x.state, x.containers.length, x.files]),
      [
        ['web', 'web/0', 'not watching', 0, 0],
        ['web', 'web/1', 'not watching', 0, 0],
        ['api', 'api/0', 'not watching', 0, 0],
      ],
    );
    assert.equal(r.rules[0]!.target, '/app0', 'the target as written until a container is seen');
  });

  test('live: containers grouped per rule, counters summed, the most telling state wins', () => {
    const f = file(
      [
        entry('web/0', 'p-web-2', 'watching', {
          files: 2,
          bytes: 20,
          lastSync: '2026-01-01T00:00:02.000Z',
        }),
        entry('web/0', 'p-web-1', 'error', {
          files: 1,
          bytes: 5,
          lastSync: '2026-01-01T00:00:01.000Z',
          problems: [{ path: 'a.txt', message: 'no space left on device' }],
          conflicts: [{ path: 'b.txt', reason: 'changed in the container' }],
        }),
        entry('web/1', 'p-web-1', 'syncing'),
      ],
      ['web', 'api'],
    );
    const r = statusReport(model, f, true);
    assert.equal(r.live, true);
    assert.equal(r.watcherPid, 42);
    const [w0, w1, a0] = r.rules;
    assert.deepEqual(
      w0!.containers.map((c) => [c.name, c.state]),
      [
        ['p-web-1', 'error'],
        ['p-web-2', 'watching'],
      ],
    );
    assert.equal(w0!.state, 'error');
    assert.equal(w0!.files, 3);
    assert.equal(w0!.bytes, 25);
    assert.equal(w0!.lastSync, '2026-01-01T00:00:02.000Z');
    assert.equal(w0!.target, '/srv/web/0');
    assert.deepEqual(w0!.problems, [
      { container: 'p-web-1', path: 'a.txt', message: 'no space left on device' },
    ]);
    assert.deepEqual(w0!.conflicts, [
      { container: 'p-web-1', path: 'b.txt', reason: 'changed in the container' },
    ]);
    assert.equal(w1!.state, 'syncing');
    assert.equal(a0!.state, 'stopped', 'watched service without a running container');
  });

  test('a live watcher of other services leaves this one not watching', () => {
    const r = statusReport(model, file([entry('web/0', 'p-web-1', 'watching')], ['web']), true);
    assert.equal(r.rules.find((x) => x.rule === 'api/0')!.state, 'not watching');
  });

  test('last known: live states become not watching, errors stay, counters stay', () => {
    const f = file([
      entry('web/0', 'p-web-1', 'watching', { files: 4 }),
      entry('web/1', 'p-web-1', 'error'),
    ]);
    const r = statusReport(model, f, false);
    assert.equal(r.watcherPid, null);
    assert.equal(r.rules[0]!.state, 'not watching');
    assert.equal(r.rules[0]!.containers[0]!.state, 'not watching');
    assert.equal(r.rules[0]!.files, 4);
    assert.equal(r.rules[1]!.state, 'error');
  });

  test('a status file of another project is ignored', () => {
    const r = statusReport(
      model,
      { ...file([entry('web/0', 'x', 'watching')]), project: 'q' },
      false,
    );
    assert.equal(r.rules[0]!.containers.length, 0);
  });
});

describe('mergeStatus', () => {
  test('keeps entries it does not cover, as last known', () => {
    const own = file([entry('web/0', 'p-web-1', 'watching', { files: 9 })]);
    const old = file([
      entry('web/0', 'p-web-1', 'error', { files: 1 }),
      entry('api/0', 'p-api-1', 'watching'),
      entry('web/1', 'p-web-1', 'error'),
    ]);
    const merged = mergeStatus(own, old);
    assert.deepEqual(
      merged.rules.map((r) => [r.rule, r.container, r.state, r.files]),
      [
        ['web/0', 'p-web-1', 'watching', 9],
        ['api/0', 'p-api-1', 'not watching', 0],
        ['web/1', 'p-web-1', 'error', 0],
      ],
    );
  });

  test('nothing to merge from another project or no file', () => {
    const own = file([entry('web/0', 'p-web-1', 'watching')]);
    assert.equal(mergeStatus(own, null), own);
    assert.equal(mergeStatus(own, { ...own, project: 'q' }), own);
  });
});
