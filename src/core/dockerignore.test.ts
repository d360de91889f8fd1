import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import dockerignore from '@balena/dockerignore';
import { DockerIgnore } from './dockerignore.js';
import { BUILTIN_EXCLUDES } from './model.js';

// the library, as composync used it before (the reference for every verdict)
const library = (patterns: string[]) => dockerignore.default({ ignorecase: false }).add(patterns);

// path segments and pattern pieces drawn from a small alphabet, so that patterns and paths meet
const segment = fc.constantFrom('a', 'b', 'ab', 'a.log', 'x~', '.git', 'node_modules', 'k.swp');
const patternPart = fc.constantFrom(
  'a',
  'b',
  '*',
  '**',
  '?',
  'a*',
  '*.log',
  '*b',
  '.git',
  'node_modules',
  'a?',
  '[ab]',
  '\\*',
  '..',
  '.',
);
const pattern = fc
  .tuple(
    fc.constantFrom('', '!', '/', '!/', ' ', '#'),
    fc.array(patternPart, { minLength: 1, maxLength: 4 }),
    fc.constantFrom('', '/', ' '),
  )
  .map(([pre, parts, post]) => pre + parts.join('/') + post);
const path = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => s.join('/'));

describe('DockerIgnore', () => {
  test('the same verdict as @balena/dockerignore for random patterns and paths', () => {
    fc.assert(
      fc.property(
        fc.array(pattern, { maxLength: 6 }),
        fc.array(path, { minLength: 1, maxLength: 30 }),
        (patterns, paths) => {
          const ours = new DockerIgnore(patterns);
          const theirs = library(patterns);
          // several paths per instance: the parent verdicts cached for one serve the next
          for (const p of paths)
            assert.equal(ours.ignores(p), theirs.ignores(p), `${p} ${patterns}`);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('the built-in excludes, over a walk of siblings and nested directories', () => {
    const ours = new DockerIgnore(BUILTIN_EXCLUDES);
    const theirs = library([...BUILTIN_EXCLUDES]);
    const names = ['f.txt', 'a.swp', 'b~', '.#c', '4913', 'x___jb_tmp___', '.git', '.composync'];
    for (const d1 of ['', 'src/', '.git/', 'a/b~/', 'm/.composync/']) {
      for (const d2 of ['', 'lib/', '4913/']) {
        for (const n of names) {
          const p = d1 + d2 + n;
          assert.equal(ours.ignores(p), theirs.ignores(p), p);
        }
      }
    }
  });

  test("names of Object.prototype's members are matched like any other name", () => {
    // the library memoizes in a plain object, so it never ignores `constructor` or `toString`
    const ours = new DockerIgnore(['*', '**/toString']);
    for (const p of ['constructor', 'toString', 'a/toString', 'hasOwnProperty'])
      assert.equal(ours.ignores(p), true, p);
  });

  test('an invalid pattern throws on the first lookup, not when the list is compiled', () => {
    const ours = new DockerIgnore(['a(']);
    assert.throws(() => ours.ignores('a'), SyntaxError);
  });
});
