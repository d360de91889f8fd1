import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { INITIAL_SYNCS, MODES } from '../core/model.js';
import { normalizeSignal, parseFileMode, xSyncJsonSchema } from './schema.js';

type Json = Record<string, unknown>;

describe('xSyncJsonSchema', () => {
  const schema = xSyncJsonSchema() as Json;
  const defs = schema.$defs as Record<string, Json>;

  test('is a compose-file overlay: top-level defaults and every service x-sync', () => {
    const props = schema.properties as Record<string, Json>;
    assert.deepEqual(props['x-sync'], { $ref: '#/$defs/TopXSync' });
    const service = (props.services!.additionalProperties as Json).properties as Record<
      string,
      Json
    >;
    assert.deepEqual(service['x-sync'], { $ref: '#/$defs/ServiceXSync' });
    assert.deepEqual(Object.keys((defs.TopXSync!.properties as Json) ?? {}), [
      'exclude',
      'debounce',
      'maxWait',
      'deleteGuard',
    ]);
    assert.equal(defs.TopXSync!.additionalProperties, false);
  });

  test('service x-sync: the mapping form or the bare list', () => {
    assert.deepEqual(defs.ServiceXSync!.anyOf, [
      { $ref: '#/$defs/SyncList' },
      { $ref: '#/$defs/ServiceXSyncObject' },
    ]);
    assert.deepEqual(Object.keys(defs.ServiceXSyncObject!.properties as Json), [
      'sync',
      'rebuild',
      'restart',
      'exec',
      'exclude',
      'debounce',
      'maxWait',
      'deleteGuard',
    ]);
  });

  test('every rule field of SPEC §3, described, with modes and strategies enumerated', () => {
    const rule = defs.SyncRule!;
    const props = rule.properties as Record<string, Json>;
    assert.deepEqual(Object.keys(props), [
      'source',
      'target',
      'mode',
      'exclude',
      'include',
      'uploadExclude',
      'downloadExclude',
      'strip',
      'initialSync',
      'owner',
      'group',
      'fileMode',
      'dirMode',
      'symlinks',
    ]);
    assert.deepEqual(rule.required, ['source', 'target']);
    assert.equal(rule.additionalProperties, false);
    for (const [k, v] of Object.entries(props))
      assert.ok(typeof v.description === 'string' && v.description.length > 10, k);
    assert.deepEqual(props.mode!.enum, [...MODES, 'one-way', 'two-way']);
    assert.deepEqual(props.initialSync!.enum, [...INITIAL_SYNCS]);
  });

  test('is plain JSON', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(schema)), schema);
  });
});

describe('signals and permissions', () => {
  const signals: [string | number, string | null][] = [
    ['SIGHUP', 'SIGHUP'],
    ['HUP', 'SIGHUP'],
    ['hup', 'SIGHUP'],
    ['1', 'SIGHUP'],
    [1, 'SIGHUP'],
    ['SIGUSR2', 'SIGUSR2'],
    [15, 'SIGTERM'],
    ['SIGFOO', null],
    [0, null],
    [64, null],
    ['', null],
  ];
  for (const [input, expected] of signals) {
    test(`signal ${JSON.stringify(input)}`, () => assert.equal(normalizeSignal(input), expected));
  }

  test('permission modes', () => {
    assert.equal(parseFileMode('0644'), 0o644);
    assert.equal(parseFileMode('755'), 0o755);
    assert.equal(parseFileMode('0o600'), 0o600);
    assert.equal(parseFileMode('4755'), 0o4755);
    assert.equal(parseFileMode(420), 0o644);
  });
});
