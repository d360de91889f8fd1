/**
 * createMatcher answers paths that lack the patterns' literal text without asking the library:
 * that shortcut must never change a verdict. Checked against the plain library on random
 * patterns and paths drawn from alphabets where they often meet.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import dockerignore from '@balena/dockerignore';
import { createMatcher, requiredLiterals } from './ignore.js';
import { BUILTIN_EXCLUDES } from './model.js';

const library = (patterns: string[]) => {
  const ig = dockerignore.default({ ignorecase: false }).add(patterns);
  return (p: string) => ig.ignores(p);
};

const segment = fc.constantFrom(
  'a',
  'b',
  'ab',
  'a.log',
  'axlog',
  'x~',
  '.git',
  'node_modules',
  'k.swp',
  '4913',
  'a$b',
  'a+b',
  'tmp',
);
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
  'a$b',
  'a+b',
  'tmp',
);
const pattern = fc
  .tuple(
    fc.constantFrom('', '!', '/', '!/', ' ', '#', './'),
    fc.array(patternPart, { minLength: 1, maxLength: 4 }),
    fc.constantFrom('', '/', ' ', '/**'),
  )
  .map(([pre, parts, post]) => pre + parts.join('/') + post);
const path = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => s.join('/'));

describe('createMatcher: the literal-text shortcut', () => {
  test('the same verdict as @balena/dockerignore for random patterns and paths', () => {
    fc.assert(
      fc.property(
        fc.array(pattern, { maxLength: 6 }),
        fc.array(path, { minLength: 1, maxLength: 30 }),
        (patterns, paths) => {
          let theirs: (p: string) => boolean;
          try {
            theirs = library(patterns);
            for (const p of paths) theirs(p);
          } catch {
            return; // a pattern the library cannot compile: nothing to compare
          }
          const ours = createMatcher(patterns);
          for (const p of paths)
            assert.equal(ours(p), theirs(p), `${p} ${JSON.stringify(patterns)}`);
        },
      ),
      {
        numRuns: Number(process.env.COMPOSYNC_PROPERTY_RUNS ?? 3000),
        // a fixed seed under CI, as the other random tests (docs/RELIABILITY.md)
        ...(process.env.CI ? { seed: 20261121 } : {}),
      },
    );
  });

  test('the built-in excludes and common ones are answered by their literal text', () => {
    const patterns = [...BUILTIN_EXCLUDES, 'node_modules/', '*.log', 'tmp/'];
    const needles = requiredLiterals(patterns);
    assert.ok(needles, 'every pattern has literal text');
    assert.ok(needles.includes('node_modules') && needles.includes('.log'));
    const ours = createMatcher(patterns);
    const theirs = library(patterns);
    for (const p of [
      'src/a.ts',
      'a.swp',
      'x/b~',
      '.git/config',
      'node_modules/x',
      'a.log',
      'd/a.log',
    ])
      assert.equal(ours(p), theirs(p), p);
  });

  test('a pattern without literal text sends every path to the library', () => {
    assert.equal(requiredLiterals(['*.log', '*']), null);
    assert.equal(requiredLiterals(['**/?']), null);
    assert.deepEqual(requiredLiterals(['!*', 'a*b']), ['a']);
    // found by the property above: the library excludes `a` for `!../../a` alone
    assert.equal(requiredLiterals(['!../../a']), null);
  });
});
