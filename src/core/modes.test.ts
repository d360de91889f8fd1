import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { INITIAL_SYNCS, MODES, type InitialSync, type Mode } from './model.js';
import { MODE_SPECS } from './modes.js';

// One column per mode in MODES order:
//  one-way-safe, one-way-replica, one-way-reverse, one-way-replica-reverse, two-way-safe, two-way-resolved
const table: [string, (m: Mode) => unknown, unknown[]][] = [
  ['direction', (m) => MODE_SPECS[m].direction, ['up', 'up', 'down', 'down', 'both', 'both']],
  ['mirrors', (m) => MODE_SPECS[m].mirrors, [false, true, false, true, true, true]],
  [
    'default initial sync',
    (m) => MODE_SPECS[m].defaultInitialSync,
    ['preferLocal', 'mirrorLocal', 'preferRemote', 'mirrorRemote', 'preferLocal', 'preferLocal'],
  ],
  [
    'container side from the state',
    (m) => MODE_SPECS[m].remoteFromState,
    [false, true, false, false, false, false],
  ],
];

describe('the mode table', () => {
  test('every mode has an entry and a column', () => {
    assert.deepEqual(Object.keys(MODE_SPECS).sort(), [...MODES].sort());
    for (const [, , col] of table) assert.equal(col.length, MODES.length);
  });
  for (const [what, get, col] of table) test(what, () => assert.deepEqual(MODES.map(get), col));

  test('the default strategy is allowed, and every allowed one writes only the mode’s way', () => {
    const writesUp: InitialSync[] = ['mirrorLocal', 'preferLocal'];
    const writesDown: InitialSync[] = ['mirrorRemote', 'preferRemote'];
    for (const m of MODES) {
      const s = MODE_SPECS[m];
      assert.ok(s.initialSyncs.includes(s.defaultInitialSync), m);
      for (const k of s.initialSyncs) assert.ok(INITIAL_SYNCS.includes(k), `${m}: ${k}`);
      if (s.direction === 'up') assert.ok(!s.initialSyncs.some((k) => writesDown.includes(k)), m);
      if (s.direction === 'down') assert.ok(!s.initialSyncs.some((k) => writesUp.includes(k)), m);
      if (s.direction === 'both') assert.deepEqual(s.initialSyncs, INITIAL_SYNCS, m);
    }
  });

  test('a mode never decides against its direction', () => {
    const bools = [false, true];
    for (const m of MODES) {
      const s = MODE_SPECS[m];
      for (const local of bools)
        for (const remote of bools)
          for (const base of bools)
            for (const localChanged of bools)
              for (const remoteChanged of bools) {
                const a = s.decide({ local, remote, base, localChanged, remoteChanged });
                if (s.direction === 'up') assert.ok(a !== 'download' && a !== 'delete-local', m);
                if (s.direction === 'down') assert.ok(a !== 'upload' && a !== 'delete-remote', m);
              }
    }
  });
});
