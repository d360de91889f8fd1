import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { dockerignorePatterns, rebasePattern } from './rebase-patterns.js';

describe('rebasePattern', () => {
  const cases: [string, string, string[]][] = [
    // pattern (relative to the context), directory below the context, expected patterns
    ['node_modules', '', ['node_modules']],
    ['web/node_modules', 'web', ['node_modules']],
    ['/web/tmp/', 'web', ['tmp']],
    ['./web/*.log', 'web', ['*.log']],
    ['*/dist', 'web', ['dist']],
    ['api/dist', 'web', []],
    ['*.md', 'web', []],
    ['web', 'web/src', ['']],
    ['w?b', 'web', ['']],
    ['[uvw]eb/x', 'web', ['x']],
    ['[^w]eb/x', 'web', []],
    // Docker passes classes to its regular expression: `[!w]` is '!' or 'w'.
    ['[!w]eb/x', 'web', ['x']],
    // `**/node_modules` already matches at the new root (`**` matches zero segments).
    ['**/node_modules', 'web/src', ['**/node_modules']],
    ['**/src/*.map', 'web/src', ['**/src/*.map', '*.map']],
    ['**', 'web', ['**', '']],
    ['!web/keep.log', 'web', ['!keep.log']],
    ['!web', 'web', ['!']],
    ['a/../web/x', 'web', ['x']],
  ];
  for (const [pattern, below, expected] of cases) {
    test(`${pattern} below ${below || '(root)'}`, () => {
      assert.deepEqual(
        rebasePattern(pattern, below ? below.split('/') : []).sort(),
        [...expected].sort(),
      );
    });
  }
});

test('dockerignorePatterns skips blanks and comments (a comment starts the line)', () => {
  assert.deepEqual(
    dockerignorePatterns('\uFEFF# c\n\n node_modules \r\n!keep\n  # not a comment?\n'),
    ['node_modules', '!keep', '# not a comment?'],
  );
});
