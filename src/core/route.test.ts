import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { routeLocal, ServiceBatch, type BatchEvent, type RoutedService } from './route.js';
import type { SyncRule } from './model.js';

const P = '/p';
const rule = (root: string, kind: SyncRule['kind'] = 'dir', only?: string) =>
  ({ root: `${P}/${root}`, kind, only }) as SyncRule;

const svc: RoutedService = {
  rules: [rule('web'), rule('web/static'), rule('conf', 'file', 'app.ini'), rule('assets', 'glob')],
  rebuild: ['./web/package.json'],
  restart: [{ paths: ['conf/**'] }],
  exec: [{ paths: ['web/**/*.css'], command: ['true'] }],
} as unknown as RoutedService;

// [path below the project, the events it makes]
const cases: [string, BatchEvent[]][] = [
  ['web/a.ts', [{ kind: 'path', rule: 0, rel: 'a.ts' }]],
  [
    'web/static/x.css',
    [
      { kind: 'trigger', path: 'web/static/x.css' },
      { kind: 'path', rule: 0, rel: 'static/x.css' },
      { kind: 'path', rule: 1, rel: 'x.css' },
    ],
  ],
  [
    'web/package.json',
    [
      { kind: 'trigger', path: 'web/package.json' },
      { kind: 'path', rule: 0, rel: 'package.json' },
    ],
  ],
  ['web', [{ kind: 'rescan', rule: 0 }]],
  [
    'web/.syncignore',
    [
      { kind: 'rescan', rule: 0 },
      { kind: 'path', rule: 0, rel: '.syncignore' },
    ],
  ],
  [
    'conf/app.ini',
    [
      { kind: 'trigger', path: 'conf/app.ini' },
      { kind: 'path', rule: 2, rel: 'app.ini' },
    ],
  ],
  ['conf/other.ini', [{ kind: 'trigger', path: 'conf/other.ini' }]],
  // a file rule's directory and a glob rule's base are not roots to rescan
  ['conf', []],
  ['assets', []],
  ['assets/img/a.png', [{ kind: 'path', rule: 3, rel: 'img/a.png' }]],
  ['webx/a.ts', []],
  ['..foo', []],
  ['web/..foo', [{ kind: 'path', rule: 0, rel: '..foo' }]],
  // names may hold any byte a file system allows: no marker is read into them
  ['web/\x01dir-looking', [{ kind: 'path', rule: 0, rel: '\x01dir-looking' }]],
  ['web/\x02file-looking', [{ kind: 'path', rule: 0, rel: '\x02file-looking' }]],
  ['web/t\0x', [{ kind: 'path', rule: 0, rel: 't\0x' }]],
];

describe('routeLocal', () => {
  for (const [path, events] of cases)
    test(JSON.stringify(path), () => assert.deepEqual(routeLocal(svc, P, `${P}/${path}`), events));
  test('outside the project: only the rules whose roots hold it', () => {
    const s = { ...svc, rules: [rule('../shared')] } as RoutedService;
    assert.deepEqual(routeLocal(s, P, '/shared/x'), [{ kind: 'path', rule: 0, rel: 'x' }]);
  });
});

describe('ServiceBatch', () => {
  test('gathers the events per rule and kind; container files are paths too', () => {
    const b = new ServiceBatch();
    const events: BatchEvent[] = [
      { kind: 'path', rule: 0, rel: 'a' },
      { kind: 'path', rule: 0, rel: 'a' },
      { kind: 'container-file', rule: 1, rel: 'f' },
      { kind: 'container-dir', rule: 1, rel: '' },
      { kind: 'rescan', rule: 2 },
      { kind: 'trigger', path: 'x/y' },
    ];
    for (const e of events) b.add(e);
    assert.equal(b.size, 6);
    assert.deepEqual([...b.paths.get(0)!], ['a']);
    assert.deepEqual([...b.paths.get(1)!], ['f']);
    assert.deepEqual([...b.containerFiles.get(1)!], ['f']);
    assert.deepEqual([...b.containerDirs.get(1)!], ['']);
    assert.deepEqual([...b.rescans], [2]);
    assert.deepEqual([...b.triggered], ['x/y']);
  });
});
