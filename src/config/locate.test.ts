import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locateProblems } from './locate.js';
import { formatYamlPath, parseYamlPath } from './yaml-path.js';

describe('YAML paths', () => {
  const cases: [string, (string | number)[]][] = [
    ['x-sync.debounce', ['x-sync', 'debounce']],
    ['services.web.x-sync.sync[0].mode', ['services', 'web', 'x-sync', 'sync', 0, 'mode']],
    ['services.web.x-sync[2]', ['services', 'web', 'x-sync', 2]],
    ['services["my.api"].x-sync[0].exclude[1]', ['services', 'my.api', 'x-sync', 0, 'exclude', 1]],
    [
      'services.web.x-sync.exec[0].env["A B"]',
      ['services', 'web', 'x-sync', 'exec', 0, 'env', 'A B'],
    ],
  ];
  for (const [text, segments] of cases) {
    test(text, () => {
      assert.equal(formatYamlPath(segments), text);
      assert.deepEqual(parseYamlPath(text), segments);
    });
  }
});

describe('locateProblems', () => {
  test('names the file and line of the last definition of the section, with merge keys', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'composync-locate-'));
    try {
      await writeFile(
        join(dir, 'compose.yaml'),
        [
          'x-defaults: &rule',
          '  mode: fast',
          'services:',
          '  web:',
          '    image: x',
          '    x-sync:',
          '      sync:',
          '        - source: .',
          '          target: /a',
          '          mode: one-way',
          '  api:',
          '    x-sync:',
          '      - <<: *rule',
          '        source: .',
          '  db:',
          '    image: x',
          '',
        ].join('\n'),
      );
      await writeFile(
        join(dir, 'compose.override.yaml'),
        ['services:', '  web:', '    x-sync:', '      sync:', '        - mode: fast', ''].join(
          '\n',
        ),
      );
      const files = [join(dir, 'compose.yaml'), join(dir, 'compose.override.yaml')];
      const located = locateProblems(
        [
          { path: 'services.web.x-sync.sync[0].mode', message: 'm' },
          { path: 'services.web.x-sync.sync[0].target', message: 'the override replaced x-sync' },
          { path: 'services.api.x-sync[0].mode', message: 'via merge key' },
          { path: 'services.api.x-sync[0].target', message: 'missing key: deepest prefix' },
          { path: 'services.db.x-sync', message: 'only the service is there' },
          { path: 'services.nope.x-sync', message: 'not in any file' },
          { path: 'x-sync.debounce', file: 'given.yaml', message: 'kept' },
        ],
        files,
        dir,
      );
      assert.deepEqual(
        located.map((p) => p.file),
        [
          'compose.override.yaml:5',
          'compose.override.yaml:5',
          'compose.yaml:2',
          'compose.yaml:13',
          'compose.yaml:15',
          undefined,
          'given.yaml',
        ],
      );
      // Files outside the working directory are shown with their absolute path.
      const outside = locateProblems(
        [{ path: 'services.web.x-sync.sync[0].mode', message: 'm' }],
        files.slice(0, 1),
        join(dir, 'sub'),
      );
      assert.equal(outside[0]!.file, `${join(dir, 'compose.yaml')}:10`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('develop.watch entries: compose appends a later file`s, so entry i is found in the file that added it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'composync-locate-'));
    try {
      await writeFile(
        join(dir, 'compose.yaml'),
        [
          'services:',
          '  web:',
          '    develop:',
          '      watch:',
          '        - { path: ./a, action: sync, target: /a }',
          '        - path: ./b',
          '          action: sink',
          '',
        ].join('\n'),
      );
      await writeFile(
        join(dir, 'compose.override.yaml'),
        [
          'services:',
          '  web:',
          '    develop:',
          '      watch:',
          '        - path: ./c',
          '          action: sinc',
          '',
        ].join('\n'),
      );
      const files = [join(dir, 'compose.yaml'), join(dir, 'compose.override.yaml')];
      const located = locateProblems(
        [
          { path: 'services.web.develop.watch[1].action', message: 'in the base file' },
          { path: 'services.web.develop.watch[2].action', message: 'in the override' },
          { path: 'services.web.develop.watch[3].action', message: 'beyond: the last file' },
        ],
        files,
        dir,
      );
      assert.deepEqual(
        located.map((p) => p.file),
        ['compose.yaml:7', 'compose.override.yaml:6', 'compose.override.yaml:4'],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('unreadable files are skipped', () => {
    const p = [{ path: 'x-sync.debounce', message: 'm' }];
    assert.deepEqual(locateProblems(p, ['/nonexistent/compose.yaml'], '/'), p);
  });
});
