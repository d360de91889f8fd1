import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fromContainerRel, resolveTarget, toContainerPath } from './paths.js';

describe('resolveTarget', () => {
  const cases: [string, string, string][] = [
    ['/app', '/srv', '/app'],
    ['app', '/srv', '/srv/app'],
    ['./app/', '/srv', '/srv/app'],
    ['app', '', '/app'],
    ['../etc', '/srv', '/etc'],
    ['/', '/srv', '/'],
  ];
  for (const [target, workdir, expected] of cases) {
    test(`${target} in ${workdir || '(no workdir)'} → ${expected}`, () =>
      assert.equal(resolveTarget(target, workdir), expected));
  }
});

describe('toContainerPath', () => {
  const dir = { kind: 'dir' as const };
  const file = { kind: 'file' as const, only: 'package.json' };
  const glob = { kind: 'glob' as const, rootFromProject: 'web/src', strip: 'web/' };
  const globNoStrip = { kind: 'glob' as const, rootFromProject: 'web/src' };
  const cases: [string, object, string, string, string | null][] = [
    ['dir rule', dir, '/app', 'a/b.txt', '/app/a/b.txt'],
    ['dir rule, root itself', dir, '/app', '', '/app'],
    ['dir rule, a name that looks like an escape stays inside', dir, '/app', '..x/y', '/app/..x/y'],
    ['dir rule, a real escape is refused', dir, '/app', '../etc/passwd', null],
    ['file rule', file, '/app/package.json', 'package.json', '/app/package.json'],
    ['file rule into a directory target', file, '/app/', 'package.json', '/app/package.json'],
    ['file rule, any other path is not the rule', file, '/app/package.json', 'x', null],
    ['glob rule with strip', glob, '/app', 'a.ts', '/app/src/a.ts'],
    ['glob rule without strip', globNoStrip, '/app', 'a.ts', '/app/web/src/a.ts'],
  ];
  for (const [name, rule, target, rel, expected] of cases) {
    test(name, () => assert.equal(toContainerPath(rule as never, target, rel), expected));
  }
});

describe('fromContainerRel', () => {
  test('glob rule with strip inverts toContainerPath', () => {
    const rule = { kind: 'glob' as const, rootFromProject: 'web/src', strip: 'web/' };
    assert.equal(fromContainerRel(rule, 'src/a.ts'), 'a.ts');
    assert.equal(fromContainerRel(rule, 'other/a.ts'), null);
  });
  test('dir rule is the identity', () => {
    assert.equal(fromContainerRel({ kind: 'dir' }, 'a/b'), 'a/b');
  });
});
