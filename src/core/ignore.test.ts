import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  createMatcher,
  matchesGlob,
  PathFilter,
  type Direction,
  type FilterRule,
} from './ignore.js';

function rule(over: Partial<FilterRule> = {}): FilterRule {
  return {
    kind: 'dir',
    exclude: [],
    include: [],
    uploadExclude: [],
    downloadExclude: [],
    ...over,
  };
}

describe('createMatcher', () => {
  const cases: Array<{ name: string; patterns: string[]; yes: string[]; no: string[] }> = [
    {
      name: 'directory pattern with trailing slash, anchored at the root',
      patterns: ['node_modules/'],
      yes: ['node_modules', 'node_modules/a', 'node_modules/a/b/c.js'],
      no: ['src/node_modules', 'src/node_modules/x', 'node_modules2', 'a'],
    },
    {
      name: '**/*.log at any depth',
      patterns: ['**/*.log'],
      yes: ['a.log', 'x/a.log', 'x/y/z.log', 'logs.log/inner'],
      no: ['a.log.txt', 'alog', 'x/log'],
    },
    {
      name: '*.log only at the root',
      patterns: ['*.log'],
      yes: ['a.log'],
      no: ['x/a.log'],
    },
    {
      name: '! re-includes after a broader pattern',
      patterns: ['*.log', '!keep.log'],
      yes: ['a.log', 'debug.log'],
      no: ['keep.log', 'src/a.log'],
    },
    {
      name: 're-include below an excluded directory',
      patterns: ['dist', '!dist/keep'],
      yes: ['dist', 'dist/a.js', 'dist/sub/b'],
      no: ['dist/keep', 'dist/keep/x'],
    },
    {
      name: 'later pattern wins over an earlier re-include',
      patterns: ['!keep.log', '*.log'],
      yes: ['keep.log', 'a.log'],
      no: [],
    },
    {
      name: '** in the middle',
      patterns: ['src/**/gen'],
      yes: ['src/gen', 'src/a/gen', 'src/a/b/gen/x.ts'],
      no: ['gen', 'lib/a/gen', 'src/general'],
    },
    {
      name: 'comments, blank lines and a leading slash or ./',
      patterns: ['# comment', '', '   ', '/build', './out'],
      yes: ['build', 'build/x', 'out/y'],
      no: ['# comment', 'src/build'],
    },
    {
      name: '? matches one character within a segment',
      patterns: ['file?.txt'],
      yes: ['file1.txt', 'fileA.txt'],
      no: ['file10.txt', 'file/.txt'],
    },
    {
      name: 'case-sensitive like Docker',
      patterns: ['README.md'],
      yes: ['README.md'],
      no: ['readme.md'],
    },
    {
      name: 'names with spaces and non-ASCII characters',
      patterns: ['my docs/', '**/résumé *.pdf', '日本語'],
      yes: ['my docs', 'my docs/a b.txt', 'x/résumé 2024.pdf', '日本語/ファイル'],
      no: ['my docs2', 'résumé.pdf', 'x/日本語'],
    },
    {
      name: 'no patterns match nothing',
      patterns: [],
      yes: [],
      no: ['a', 'a/b'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const m = createMatcher(c.patterns);
      for (const p of c.yes)
        assert.equal(m(p), true, `${JSON.stringify(c.patterns)} should match ${p}`);
      for (const p of c.no)
        assert.equal(m(p), false, `${JSON.stringify(c.patterns)} should not match ${p}`);
    });
  }

  test('the root (empty path) never matches', () => {
    assert.equal(createMatcher(['**', '*'])(''), false);
  });

  test('keeps answering the same after its cache is rebuilt', () => {
    const m = createMatcher(['**/*.tmp', '!keep.tmp']);
    for (let i = 0; i < 60_000; i++) assert.equal(m(`d/f${i}.tmp`), true);
    assert.equal(m('keep.tmp'), false);
    assert.equal(m('a.txt'), false);
  });
});

describe('matchesGlob', () => {
  const cases: Array<{ patterns: string[]; rel: string; want: boolean }> = [
    { patterns: ['web/config/**'], rel: 'web/config/nginx/site.conf', want: true },
    { patterns: ['web/config/**'], rel: 'web/config.yaml', want: false },
    { patterns: ['web/nginx.conf'], rel: 'web/nginx.conf', want: true },
    { patterns: ['web/nginx.conf'], rel: 'web/nginx.conf.bak', want: false },
    { patterns: ['web/src/**/*.css'], rel: 'web/src/a/b/site.css', want: true },
    { patterns: ['web/src/**/*.css'], rel: 'web/src/site.css', want: true },
    { patterns: ['web/src/**/*.css'], rel: 'web/src/site.ts', want: false },
    { patterns: ['./web/package.json'], rel: 'web/package.json', want: true },
    { patterns: ['web/Dockerfile', 'web/package.json'], rel: 'web/package.json', want: true },
    { patterns: ['web/config'], rel: 'web/config/a', want: true },
    { patterns: [], rel: 'web/a', want: false },
  ];
  for (const c of cases) {
    test(`${JSON.stringify(c.patterns)} ${c.want ? 'matches' : 'does not match'} ${c.rel}`, () => {
      assert.equal(matchesGlob(c.patterns, c.rel), c.want);
    });
  }
});

type Expect = [rel: string, isDir: boolean, up: boolean, down: boolean];

describe('PathFilter.excluded', () => {
  const cases: Array<{
    name: string;
    rule: Partial<FilterRule>;
    syncignore?: string;
    expect: Expect[];
  }> = [
    {
      name: 'builtins at any depth',
      rule: {},
      expect: [
        ['.git', true, true, true],
        ['.git/config', false, true, true],
        ['sub/.git', true, true, true],
        ['sub/.git/HEAD', false, true, true],
        ['.composync', true, true, true],
        ['a/.composync/state.json', false, true, true],
        ['a.swp', false, true, true],
        ['x/.main.ts.swp', false, true, true],
        ['4913', false, true, true],
        ['deep/dir/4913', false, true, true],
        ['x___jb_tmp___', false, true, true],
        ['src/main.ts___jb_old___', false, true, true],
        ['.#foo', false, true, true],
        ['src/.#main.ts', false, true, true],
        ['foo~', false, true, true],
        ['src/main.ts~', false, true, true],
        ['src/main.ts', false, false, false],
        ['.gitignore', false, false, false],
        ['49130', false, false, false],
        ['', true, false, false],
      ],
    },
    {
      name: 'rule excludes: node_modules at the root, **/*.log, !keep.log',
      rule: { exclude: ['node_modules/', '**/*.log', '!keep.log'] },
      expect: [
        ['node_modules', true, true, true],
        ['node_modules/x/index.js', false, true, true],
        ['packages/a/node_modules', true, false, false],
        ['a.log', false, true, true],
        ['logs/b.log', false, true, true],
        ['keep.log', false, false, false],
        ['logs/keep.log', false, true, true],
        ['src/app.ts', false, false, false],
      ],
    },
    {
      name: '.syncignore adds excludes and re-includes with !',
      rule: { exclude: ['*.tmp'] },
      syncignore: '# generated\ndist/\n!dist/public\r\n\n!important.tmp\n',
      expect: [
        ['dist', true, true, true],
        ['dist/app.js', false, true, true],
        ['dist/public', true, false, false],
        ['dist/public/index.html', false, false, false],
        ['a.tmp', false, true, true],
        ['important.tmp', false, false, false],
        ['.syncignore', false, false, false],
      ],
    },
    {
      name: '.syncignore cannot re-include builtins',
      rule: {},
      syncignore: '!.git\n!**/*.swp',
      expect: [
        ['.git', true, true, true],
        ['.git/config', false, true, true],
        ['a.swp', false, true, true],
      ],
    },
    {
      name: 'include keeps directories and matching files only',
      rule: { include: ['**/*.ts'] },
      expect: [
        ['src', true, false, false],
        ['src/deep/dir', true, false, false],
        ['src/app.ts', false, false, false],
        ['main.ts', false, false, false],
        ['src/app.js', false, true, true],
        ['README.md', false, true, true],
      ],
    },
    {
      name: 'include combined with exclude',
      rule: { include: ['src'], exclude: ['src/gen'] },
      expect: [
        ['src/a.ts', false, false, false],
        ['src/gen/b.ts', false, true, true],
        ['src/gen', true, true, true],
        ['docs/a.md', false, true, true],
      ],
    },
    {
      name: 'uploadExclude vs downloadExclude',
      rule: { uploadExclude: ['secrets/'], downloadExclude: ['**/*.pyc', 'cache'] },
      expect: [
        ['secrets', true, true, false],
        ['secrets/key', false, true, false],
        ['a/b.pyc', false, false, true],
        ['cache/x', false, false, true],
        ['app.py', false, false, false],
      ],
    },
    {
      name: 'file source: only its file belongs',
      rule: { kind: 'file', only: 'package.json' },
      expect: [
        ['package.json', false, false, false],
        ['package-lock.json', false, true, true],
        ['src', true, true, true],
        ['src/package.json', false, true, true],
      ],
    },
    {
      name: 'glob source: only matching paths (and directories that may hold them)',
      rule: { kind: 'glob', glob: 'src/**/*.css' },
      expect: [
        ['src/a.css', false, false, false],
        ['src/x/y/b.css', false, false, false],
        ['src/a.ts', false, true, true],
        ['src', true, false, false],
        ['src/x', true, false, false],
        ['lib', true, true, true],
        ['lib/a.css', false, true, true],
      ],
    },
    {
      name: 'glob source with a directory-level pattern',
      rule: { kind: 'glob', glob: 'conf/*' },
      expect: [
        ['conf', true, false, false],
        ['conf/a.yaml', false, false, false],
        ['conf/sub', true, false, false],
        ['conf/sub/b.yaml', false, false, false],
        ['other', true, true, true],
      ],
    },
    {
      name: 'names with spaces and non-ASCII characters',
      rule: { exclude: ['My Documents', '**/*.résumé', 'données/brouillon*'] },
      expect: [
        ['My Documents', true, true, true],
        ['My Documents/a file.txt', false, true, true],
        ['x/cv.résumé', false, true, true],
        ['données/brouillon 1.txt', false, true, true],
        ['données/final.txt', false, false, false],
        ['日本語/ファイル.txt', false, false, false],
      ],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const f = new PathFilter(rule(c.rule), c.syncignore ?? null);
      for (const [rel, isDir, up, down] of c.expect) {
        const dirs: Array<[Direction, boolean]> = [
          ['up', up],
          ['down', down],
        ];
        for (const [d, want] of dirs)
          assert.equal(f.excluded(rel, isDir, d), want, `${rel} (${isDir ? 'dir' : 'file'}, ${d})`);
        assert.equal(f.excludedBoth(rel, isDir), up && down, `${rel} (both directions)`);
      }
    });
  }

  test('setSyncignore applies at once and null removes it', () => {
    const f = new PathFilter(rule({ exclude: ['*.log'] }));
    assert.equal(f.excluded('tmp/a', false, 'up'), false);
    f.setSyncignore('tmp\n!a.log');
    assert.equal(f.excluded('tmp/a', false, 'up'), true);
    assert.equal(f.excluded('a.log', false, 'up'), false);
    assert.equal(f.canSkipDir('tmp'), true);
    f.setSyncignore(null);
    assert.equal(f.excluded('tmp/a', false, 'up'), false);
    assert.equal(f.excluded('a.log', false, 'up'), true);
    assert.equal(f.canSkipDir('tmp'), false);
  });
});

describe('PathFilter.canSkipDir', () => {
  const cases: Array<{
    name: string;
    rule: Partial<FilterRule>;
    syncignore?: string;
    skip: string[];
    keep: string[];
  }> = [
    {
      name: 'builtins',
      rule: {},
      skip: ['.git', 'sub/.git', '.composync'],
      keep: ['', 'src', '.github'],
    },
    {
      name: 'excluded directories',
      rule: { exclude: ['node_modules/', '**/__pycache__', 'build'] },
      skip: ['node_modules', 'node_modules/a', 'x/y/__pycache__', 'build'],
      keep: ['src', 'src/node_modules', 'builder'],
    },
    {
      name: 'a re-include below the directory keeps it',
      rule: { exclude: ['dist', '!dist/public/index.html'] },
      skip: ['dist/private', 'dist/other/deep'],
      keep: ['dist', 'dist/public'],
    },
    {
      name: 'a wildcard re-include keeps every excluded directory it might reach',
      rule: { exclude: ['vendor', 'tmp', '!**/*.keep'] },
      skip: [],
      keep: ['vendor', 'tmp'],
    },
    {
      name: 're-include of a sibling does not keep the directory',
      rule: { exclude: ['*.log', 'node_modules', '!keep.log'] },
      skip: ['node_modules'],
      keep: [],
    },
    {
      name: '.syncignore with a re-include',
      rule: { exclude: [] },
      syncignore: 'cache/\n!cache/manifest.json\nlogs',
      skip: ['logs'],
      keep: ['cache'],
    },
    {
      name: 'a .syncignore re-include of a rule exclude',
      rule: { exclude: ['node_modules'] },
      syncignore: '!node_modules/@scope',
      skip: ['node_modules/other'],
      keep: ['node_modules', 'node_modules/@scope'],
    },
    {
      name: 'one direction only is not enough',
      rule: { uploadExclude: ['secrets'], downloadExclude: ['cache'] },
      skip: [],
      keep: ['secrets', 'cache'],
    },
    {
      name: 'both directions',
      rule: { uploadExclude: ['tmp', 'up-only'], downloadExclude: ['tmp', '!tmp/x/keep'] },
      skip: ['tmp/y'],
      keep: ['tmp', 'tmp/x', 'up-only'],
    },
    {
      name: 'include: directories no include pattern can reach',
      rule: { include: ['src/**/*.ts', 'package.json'] },
      skip: ['docs', 'node_modules', 'lib'],
      keep: ['src', 'src/a/b'],
    },
    {
      name: 'include with a leading ** reaches everywhere',
      rule: { include: ['**/*.ts'] },
      skip: [],
      keep: ['docs', 'src'],
    },
    {
      name: 'file source: every directory',
      rule: { kind: 'file', only: 'package.json' },
      skip: ['src', 'node_modules'],
      keep: [''],
    },
    {
      name: 'glob source: directories outside the glob',
      rule: { kind: 'glob', glob: 'web/src/**/*.css' },
      skip: ['api', 'web/test', 'node_modules'],
      keep: ['web', 'web/src', 'web/src/a/b'],
    },
    {
      name: 'patterns with regexp characters are treated as reaching anywhere',
      rule: { exclude: ['out', '!out/[ab]*', '!x+(y)'] },
      skip: [],
      keep: ['out'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const f = new PathFilter(rule(c.rule), c.syncignore ?? null);
      for (const d of c.skip) assert.equal(f.canSkipDir(d), true, `should skip ${d}`);
      for (const d of c.keep) assert.equal(f.canSkipDir(d), false, `should keep ${d}`);
    });
  }

  test('never skips a directory that holds a path excluded() keeps', () => {
    // Cross-check the conservative pruning against excluded() on a small generated tree.
    const rules: Array<[Partial<FilterRule>, string | null]> = [
      [{ exclude: ['a', '!a/b/c.txt', '**/d'] }, null],
      [{ exclude: ['*'] }, '!b\n!a/b'],
      [{ include: ['a/*/c.txt'], exclude: ['b'] }, null],
      [{ kind: 'glob', glob: 'b/**/c.txt' }, 'a'],
      [{ uploadExclude: ['a'], downloadExclude: ['a', '!a/d/c.txt'] }, null],
    ];
    const names = ['a', 'b', 'd'];
    const dirs: string[] = [];
    for (const x of names) for (const y of names) dirs.push(x, `${x}/${y}`, `${x}/${y}/d`);
    for (const [r, si] of rules) {
      const f = new PathFilter(rule(r), si);
      for (const dir of dirs) {
        if (!f.canSkipDir(dir)) continue;
        for (const file of [`${dir}/c.txt`, `${dir}/b/c.txt`, `${dir}/d/c.txt`]) {
          for (const d of ['up', 'down'] as const)
            assert.equal(f.excluded(file, false, d), true, `${JSON.stringify(r)}: ${file} ${d}`);
        }
      }
    }
  });
});
