import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { BUILTIN_EXCLUDES, MODES, type ServiceSync } from '../core/model.js';
import { normalize, type NormalizeContext } from './normalize.js';
import { describeModel } from './describe.js';

const PROJECT = '/proj';
const DIRS = new Set(['/proj', '/proj/web', '/proj/web/src', '/proj/web/config', '/proj/assets']);
const FILES = new Set(['/proj/web/package.json', '/proj/web/nginx.conf', '/proj/web/Dockerfile']);

const ctx: NormalizeContext = {
  projectDir: PROJECT,
  composeFiles: ['/proj/compose.yaml'],
  stat: (p) => (DIRS.has(p) ? 'dir' : FILES.has(p) ? 'file' : null),
};

/** Normalise a compose model written as YAML (as `docker compose config` prints it). */
function run(yaml: string) {
  return normalize(parse(yaml), ctx);
}

function service(yaml: string, name = 'web'): ServiceSync {
  const r = run(yaml);
  assert.deepEqual(r.problems, []);
  const s = r.model.services.find((x) => x.name === name);
  assert.ok(s, `service ${name} in the model`);
  return s;
}

const SPEC_EXAMPLE = `
name: demo
x-sync:
  exclude: ["node_modules/", "*.log"]
  debounce: 5
  maxWait: 250
  deleteGuard: 0.5
services:
  db:
    image: composync/busybox
  web:
    build:
      context: /proj/web
      dockerfile: Dockerfile
    x-sync:
      sync:
        - source: ./web/src
          target: /app/src
          mode: one-way
          exclude: ["**/*.test.ts"]
          include: ["**/*.ts"]
          uploadExclude: []
          downloadExclude: []
          initialSync: preferLocal
          owner: 1000
          group: 1000
          fileMode: "0644"
          dirMode: "0755"
          symlinks: preserve
      rebuild: ["./web/package.json", "./web/Dockerfile"]
      restart:
        - "./web/config/**"
        - paths: ["./web/nginx.conf"]
          signal: SIGHUP
      exec:
        - paths: ["./web/src/**/*.css"]
          command: ["npm", "run", "build:css"]
          user: node
          workdir: /app
          env: { FOO: bar }
`;

describe('normalize: valid configurations', () => {
  test('the full SPEC example', () => {
    const r = run(SPEC_EXAMPLE);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.warnings, []);
    const m = r.model;
    assert.equal(m.projectName, 'demo');
    assert.equal(m.projectDir, '/proj');
    assert.deepEqual(m.composeFiles, ['/proj/compose.yaml']);
    assert.deepEqual(m.allServices, ['db', 'web']);
    assert.deepEqual(
      m.services.map((s) => s.name),
      ['web'],
    );
    const web = m.services[0]!;
    assert.deepEqual(web, {
      name: 'web',
      rules: [
        {
          id: 'web/0',
          service: 'web',
          index: 0,
          yamlPath: 'services.web.x-sync.sync[0]',
          origin: 'x-sync',
          root: '/proj/web/src',
          source: './web/src',
          kind: 'dir',
          target: '/app/src',
          mode: 'one-way-safe',
          initialSync: 'preferLocal',
          exclude: ['**/node_modules/', '**/*.log', '**/*.test.ts', ...BUILTIN_EXCLUDES],
          include: ['**/*.ts'],
          uploadExclude: [],
          downloadExclude: [],
          owner: 1000,
          group: 1000,
          fileMode: 0o644,
          dirMode: 0o755,
          symlinks: 'preserve',
        },
      ],
      rebuild: ['web/package.json', 'web/Dockerfile'],
      restart: [
        { paths: ['web/config/**'], yamlPath: 'services.web.x-sync.restart[0]' },
        { paths: ['web/nginx.conf'], signal: 'SIGHUP', yamlPath: 'services.web.x-sync.restart[1]' },
      ],
      exec: [
        {
          paths: ['web/src/**/*.css'],
          command: ['npm', 'run', 'build:css'],
          user: 'node',
          workdir: '/app',
          env: { FOO: 'bar' },
          yamlPath: 'services.web.x-sync.exec[0]',
        },
      ],
      debounce: 5,
      maxWait: 250,
      deleteGuard: 0.5,
      buildable: true,
    });
    // `config --json` prints the model as is.
    assert.deepEqual(JSON.parse(JSON.stringify(m)), m);
  });

  test('a bare list is shorthand for { sync: [...] }, with defaults', () => {
    const web = service(`
services:
  web:
    image: composync/busybox
    x-sync:
      - source: ./web/src
        target: app
`);
    assert.equal(web.rules.length, 1);
    const rule = web.rules[0]!;
    assert.equal(rule.yamlPath, 'services.web.x-sync[0]');
    assert.equal(rule.target, 'app');
    assert.equal(rule.mode, 'one-way-safe');
    assert.equal(rule.initialSync, 'preferLocal');
    assert.equal(rule.symlinks, 'preserve');
    assert.deepEqual(rule.exclude, BUILTIN_EXCLUDES);
    assert.deepEqual([web.debounce, web.maxWait, web.deleteGuard], [5, 250, 0.5]);
    assert.equal(web.buildable, false);
    assert.equal(rule.fileMode, undefined);
    assert.equal(rule.owner, undefined);
  });

  test('timing and excludes: service, else top level, else built-in defaults', () => {
    const doc = `
x-sync:
  exclude: ["*.tmp"]
  debounce: 20
  maxWait: 400
services:
  a:
    x-sync:
      exclude: ["dist/"]
      debounce: 1
      deleteGuard: 0.9
      sync: [{ source: ./web, target: /a, exclude: ["./cache"] }]
  b:
    x-sync: [{ source: ./web, target: /b }]
`;
    const r = run(doc);
    assert.deepEqual(r.problems, []);
    const [a, b] = r.model.services;
    assert.deepEqual([a!.debounce, a!.maxWait, a!.deleteGuard], [1, 400, 0.9]);
    assert.deepEqual([b!.debounce, b!.maxWait, b!.deleteGuard], [20, 400, 0.5]);
    assert.deepEqual(a!.rules[0]!.exclude, ['**/*.tmp', '**/dist/', 'cache', ...BUILTIN_EXCLUDES]);
    assert.deepEqual(b!.rules[0]!.exclude, ['**/*.tmp', ...BUILTIN_EXCLUDES]);
  });

  test('shared exclude patterns match at any depth unless they contain a slash', () => {
    const web = service(`
x-sync:
  exclude: ["node_modules/", "*.log", "/build", "docs/*.md", "!keep.log", "./tmp", "**/x"]
services:
  web:
    x-sync: [{ source: ./web, target: /w, exclude: ["*.log", "/root-only"] }]
`);
    assert.deepEqual(web.rules[0]!.exclude.slice(0, 9), [
      '**/node_modules/',
      '**/*.log',
      'build',
      'docs/*.md',
      '!**/keep.log',
      '**/tmp',
      '**/x',
      '*.log',
      '/root-only',
    ]);
  });

  test('mode aliases and the default initial sync of every mode', () => {
    const expected: Record<string, [string, string]> = {
      'one-way': ['one-way-safe', 'preferLocal'],
      'two-way': ['two-way-safe', 'preferLocal'],
      'one-way-safe': ['one-way-safe', 'preferLocal'],
      'one-way-replica': ['one-way-replica', 'mirrorLocal'],
      'one-way-reverse': ['one-way-reverse', 'preferRemote'],
      'one-way-replica-reverse': ['one-way-replica-reverse', 'mirrorRemote'],
      'two-way-safe': ['two-way-safe', 'preferLocal'],
      'two-way-resolved': ['two-way-resolved', 'preferLocal'],
    };
    for (const [mode, [canonical, initial]] of Object.entries(expected)) {
      const rule = service(`
services:
  web:
    x-sync: [{ source: ./web, target: /w, mode: ${mode} }]
`).rules[0]!;
      assert.equal(rule.mode, canonical, mode);
      assert.equal(rule.initialSync, initial, mode);
    }
  });

  test('strategies allowed per direction', () => {
    const allowed: Record<string, string[]> = {
      'one-way-safe': ['mirrorLocal', 'preferLocal', 'disabled'],
      'one-way-replica': ['mirrorLocal', 'preferLocal', 'disabled'],
      'one-way-reverse': ['mirrorRemote', 'preferRemote', 'disabled'],
      'one-way-replica-reverse': ['mirrorRemote', 'preferRemote', 'disabled'],
      'two-way-safe': [
        'mirrorLocal',
        'preferLocal',
        'preferRemote',
        'preferNewest',
        'mirrorRemote',
        'keepAll',
        'disabled',
      ],
      'two-way-resolved': [
        'mirrorLocal',
        'preferLocal',
        'preferRemote',
        'preferNewest',
        'mirrorRemote',
        'keepAll',
        'disabled',
      ],
    };
    for (const mode of MODES) {
      for (const s of [
        'mirrorLocal',
        'preferLocal',
        'preferRemote',
        'preferNewest',
        'mirrorRemote',
        'keepAll',
        'disabled',
      ]) {
        const r = run(`
services:
  web:
    x-sync: [{ source: ./web, target: /w, mode: ${mode}, initialSync: ${s} }]
`);
        const ok = allowed[mode]!.includes(s);
        assert.equal(r.problems.length === 0, ok, `${mode} + ${s}`);
        if (!ok) assert.equal(r.problems[0]!.path, 'services.web.x-sync[0].initialSync');
      }
    }
  });

  test('signals, ids and permissions are normalised', () => {
    const web = service(`
services:
  web:
    x-sync:
      sync:
        - { source: ./web, target: /a, owner: "1000", group: www-data, fileMode: 420, dirMode: "755" }
        - { source: ./web, target: /b, owner: node, fileMode: "0o600" }
      restart:
        - { paths: [a], signal: HUP }
        - { paths: [b], signal: 10 }
        - { paths: [c], signal: sigterm }
        - { paths: [d], signal: "2" }
`);
    assert.deepEqual(
      web.restart.map((r) => r.signal),
      ['SIGHUP', 'SIGUSR1', 'SIGTERM', 'SIGINT'],
    );
    const [a, b] = web.rules;
    assert.deepEqual(
      [a!.owner, a!.group, a!.fileMode, a!.dirMode],
      [1000, 'www-data', 0o644, 0o755],
    );
    assert.deepEqual([b!.owner, b!.fileMode], ['node', 0o600]);
    assert.deepEqual(
      web.rules.map((r) => r.id),
      ['web/0', 'web/1'],
    );
  });

  test('exec: string commands, env lists and numeric users', () => {
    const web = service(`
services:
  web:
    x-sync:
      exec:
        - { paths: ["./web/**"], command: "make css", env: ["A=1", "B=x=y"], user: 1000 }
`);
    assert.deepEqual(web.exec[0], {
      paths: ['web/**'],
      command: 'make css',
      env: { A: '1', B: 'x=y' },
      user: '1000',
      yamlPath: 'services.web.x-sync.exec[0]',
    });
  });

  test('exec on: host runs in a local directory, the project directory by default', () => {
    const web = service(`
services:
  web:
    x-sync:
      exec:
        - { paths: ["./web/**"], command: [make, gen], on: host }
        - { paths: ["./web/**"], command: "make css", on: host, workdir: ./web }
        - { paths: ["./web/**"], command: "make css", on: container, workdir: /app }
`);
    assert.deepEqual(web.exec[0], {
      paths: ['web/**'],
      command: ['make', 'gen'],
      env: {},
      on: 'host',
      workdir: '/proj',
      yamlPath: 'services.web.x-sync.exec[0]',
    });
    assert.equal(web.exec[1]!.workdir, '/proj/web');
    assert.equal(web.exec[2]!.on, undefined);
    assert.equal(web.exec[2]!.workdir, '/app');
    assert.match(
      describeModel(
        run(`services:
  web:
    x-sync:
      exec:
        - { paths: [a], command: x, on: host }
`).model,
      ),
      /on the host/,
    );
  });

  test('a service with triggers only, and services without sync', () => {
    const r = run(`
services:
  db: { image: x }
  web:
    build: { context: /proj/web }
    x-sync: { rebuild: ["web/package.json"] }
`);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.model.allServices, ['db', 'web']);
    assert.deepEqual(
      r.model.services.map((s) => [s.name, s.rules.length, s.rebuild]),
      [['web', 0, ['web/package.json']]],
    );
  });

  test('trigger globs are relative to the project directory, posix, without ./', () => {
    const web = service(`
services:
  web:
    x-sync:
      rebuild: ["./web/package.json", "/proj/web/Dockerfile", "web//x", "./"]
`);
    assert.deepEqual(web.rebuild, ['web/package.json', 'web/Dockerfile', 'web/x', '**']);
  });
});

describe('normalize: sources', () => {
  const cases: {
    name: string;
    rule: string;
    expect: Record<string, unknown>;
    warning?: RegExp;
  }[] = [
    {
      name: 'directory',
      rule: '{ source: ./web/src, target: /app }',
      expect: { kind: 'dir', root: '/proj/web/src', only: undefined, glob: undefined },
    },
    {
      name: 'existing file: root is its parent, only its name',
      rule: '{ source: web/nginx.conf, target: /etc/nginx/nginx.conf }',
      expect: { kind: 'file', root: '/proj/web', only: 'nginx.conf' },
    },
    {
      name: 'glob: root is the static prefix',
      rule: '{ source: ./web/**/*.css, target: /srv }',
      expect: { kind: 'glob', root: '/proj/web', glob: '**/*.css', rootFromProject: 'web' },
    },
    {
      name: 'glob at the project root',
      rule: '{ source: "*.txt", target: /srv }',
      expect: { kind: 'glob', root: '/proj', glob: '*.txt', rootFromProject: '' },
    },
    {
      name: 'glob with braces and strip',
      rule: '{ source: "assets/{a,b}/*.png", target: /srv, strip: ./assets }',
      expect: {
        kind: 'glob',
        root: '/proj/assets',
        glob: '{a,b}/*.png',
        rootFromProject: 'assets',
        strip: 'assets/',
      },
    },
    {
      name: 'glob with a character class',
      rule: '{ source: "web/src/[ab]*.js", target: /srv, strip: web/ }',
      expect: { kind: 'glob', root: '/proj/web/src', glob: '[ab]*.js', strip: 'web/' },
    },
    {
      name: 'glob whose base does not exist yet',
      rule: '{ source: "gen/**/*.js", target: /srv }',
      expect: { kind: 'glob', root: '/proj/gen', glob: '**/*.js', rootFromProject: 'gen' },
      warning: /sync\[0\]\.source: gen does not exist yet/,
    },
    {
      name: 'missing source without glob characters: a directory to come',
      rule: '{ source: ./later, target: /srv }',
      expect: { kind: 'dir', root: '/proj/later' },
      warning: /sync\[0\]\.source: \.\/later does not exist yet/,
    },
    {
      name: 'strip on a directory source is ignored with a warning',
      rule: '{ source: ./web, target: /srv, strip: web/ }',
      expect: { kind: 'dir', strip: undefined },
      warning: /sync\[0\]\.strip: strip applies to glob sources only/,
    },
    {
      name: 'source outside the project directory',
      rule: '{ source: "../shared/*.js", target: /srv }',
      expect: { kind: 'glob', root: '/shared', rootFromProject: '../shared', glob: '*.js' },
      warning: /does not exist yet/,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = run(`services:\n  web:\n    x-sync:\n      sync:\n        - ${c.rule}\n`);
      assert.deepEqual(r.problems, []);
      const rule = r.model.services[0]!.rules[0]! as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(c.expect)) assert.deepEqual(rule[k], v, k);
      if (c.warning)
        assert.ok(
          r.warnings.some((w) => c.warning!.test(w)),
          r.warnings.join('\n'),
        );
      else assert.deepEqual(r.warnings, []);
    });
  }
});

describe('normalize: invalid configurations', () => {
  const svc = (xsync: string) => `services:\n  web:\n    image: x\n    x-sync:\n${xsync}`;
  const cases: { name: string; yaml: string; path: string; message: RegExp }[] = [
    {
      name: 'unknown top-level key',
      yaml: 'x-sync:\n  debounse: 5\nservices: {}\n',
      path: 'x-sync.debounse',
      message: /^unknown key "debounse"; expected one of: exclude, debounce, maxWait, deleteGuard$/,
    },
    {
      name: 'top level as a list',
      yaml: 'x-sync: [a]\nservices: {}\n',
      path: 'x-sync',
      message: /expected a mapping, got a list/,
    },
    {
      name: 'wrong type at top level',
      yaml: 'x-sync:\n  debounce: "5ms"\nservices: {}\n',
      path: 'x-sync.debounce',
      message: /^expected a number, got string "5ms"$/,
    },
    {
      name: 'fractional debounce',
      yaml: 'x-sync:\n  maxWait: 2.5\nservices: {}\n',
      path: 'x-sync.maxWait',
      message: /whole number/,
    },
    {
      name: 'deleteGuard out of range',
      yaml: 'x-sync:\n  deleteGuard: 2\nservices: {}\n',
      path: 'x-sync.deleteGuard',
      message: /greater than 0 and at most 1/,
    },
    {
      name: 'unknown service-level key',
      yaml: svc('      sync: []\n      rebuilt: [a]\n'),
      path: 'services.web.x-sync.rebuilt',
      message: /^unknown key "rebuilt"; expected one of: sync, rebuild, restart, exec, exclude/,
    },
    {
      name: 'service x-sync of the wrong type',
      yaml: svc('      5\n'),
      path: 'services.web.x-sync',
      message: /expected a list of sync rules or a mapping.*got number 5/,
    },
    {
      name: 'empty service x-sync',
      yaml: svc('\n'),
      path: 'services.web.x-sync',
      message: /expected a list of sync rules or a mapping.*an empty value/,
    },
    {
      name: 'unknown rule key',
      yaml: svc('      sync:\n        - { source: ., target: /a, targte: /b }\n'),
      path: 'services.web.x-sync.sync[0].targte',
      message: /^unknown key "targte"; expected one of: source, target, mode/,
    },
    {
      name: 'unknown key in the shorthand list',
      yaml: svc('      - { source: ., target: /a, bogus: 1 }\n'),
      path: 'services.web.x-sync[0].bogus',
      message: /unknown key "bogus"/,
    },
    {
      name: 'missing target',
      yaml: svc('      sync:\n        - { source: . }\n'),
      path: 'services.web.x-sync.sync[0].target',
      message: /^missing: expected a string$/,
    },
    {
      name: 'exclude of the wrong type',
      yaml: svc('      sync:\n        - { source: ., target: /a, exclude: "*.log" }\n'),
      path: 'services.web.x-sync.sync[0].exclude',
      message: /^expected a list, got string "\*\.log"$/,
    },
    {
      name: 'unknown mode',
      yaml: svc('      sync:\n        - { source: ., target: /a, mode: fast }\n'),
      path: 'services.web.x-sync.sync[0].mode',
      message:
        /^unknown mode "fast"; expected one of: one-way-safe, one-way-replica, one-way-reverse, one-way-replica-reverse, two-way-safe, two-way-resolved, one-way, two-way$/,
    },
    {
      name: 'unknown initial sync strategy',
      yaml: svc('      sync:\n        - { source: ., target: /a, initialSync: newest }\n'),
      path: 'services.web.x-sync.sync[0].initialSync',
      message: /^unknown initialSync strategy "newest"; expected one of: mirrorLocal/,
    },
    {
      name: 'a strategy writing locally in a one-way mode',
      yaml: svc(
        '      sync:\n        - { source: ., target: /a, mode: one-way-safe, initialSync: mirrorRemote }\n',
      ),
      path: 'services.web.x-sync.sync[0].initialSync',
      message:
        /"mirrorRemote" would change local files, which mode one-way-safe never does; expected one of: mirrorLocal, preferLocal, disabled/,
    },
    {
      name: 'a strategy writing to the container in a reverse mode',
      yaml: svc(
        '      sync:\n        - { source: ., target: /a, mode: one-way-reverse, initialSync: mirrorLocal }\n',
      ),
      path: 'services.web.x-sync.sync[0].initialSync',
      message: /would change the container, which mode one-way-reverse never does/,
    },
    {
      name: 'fileMode not octal',
      yaml: svc('      sync:\n        - { source: ., target: /a, fileMode: "0999" }\n'),
      path: 'services.web.x-sync.sync[0].fileMode',
      message: /^expected an octal permission string such as "0644", got "0999"$/,
    },
    {
      name: 'fileMode written as a decimal number',
      yaml: svc('      sync:\n        - { source: ., target: /a, fileMode: 644 }\n'),
      path: 'services.web.x-sync.sync[0].fileMode',
      message: /644 is not a permission mode: write it as an octal string/,
    },
    {
      name: 'dirMode of the wrong type',
      yaml: svc('      sync:\n        - { source: ., target: /a, dirMode: true }\n'),
      path: 'services.web.x-sync.sync[0].dirMode',
      message: /^expected a string or a number, got boolean true$/,
    },
    {
      name: 'negative owner',
      yaml: svc('      sync:\n        - { source: ., target: /a, owner: -1 }\n'),
      path: 'services.web.x-sync.sync[0].owner',
      message: /non-negative/,
    },
    {
      name: 'unknown symlinks value',
      yaml: svc('      sync:\n        - { source: ., target: /a, symlinks: follow }\n'),
      path: 'services.web.x-sync.sync[0].symlinks',
      message: /^unknown symlinks value "follow"; expected one of: preserve, ignore$/,
    },
    {
      name: 'unknown signal name',
      yaml: svc('      restart:\n        - { paths: [a], signal: SIGFOO }\n'),
      path: 'services.web.x-sync.restart[0].signal',
      message: /^unknown signal "SIGFOO"; expected a Linux signal name or number/,
    },
    {
      name: 'signal number out of range',
      yaml: svc('      restart:\n        - { paths: [a], signal: 99 }\n'),
      path: 'services.web.x-sync.restart[0].signal',
      message: /unknown signal 99/,
    },
    {
      name: 'unknown key in a restart entry',
      yaml: svc('      restart:\n        - { paths: [a], sig: HUP }\n'),
      path: 'services.web.x-sync.restart[0].sig',
      message: /^unknown key "sig"; expected one of: paths, signal$/,
    },
    {
      name: 'restart entry of the wrong type',
      yaml: svc('      restart:\n        - 5\n'),
      path: 'services.web.x-sync.restart[0]',
      message: /^expected a string or a mapping, got number 5$/,
    },
    {
      name: 'restart paths not a list',
      yaml: svc('      restart:\n        - { paths: a }\n'),
      path: 'services.web.x-sync.restart[0].paths',
      message: /^expected a list, got string "a"$/,
    },
    {
      name: 'exec without command',
      yaml: svc('      exec:\n        - { paths: [a] }\n'),
      path: 'services.web.x-sync.exec[0].command',
      message: /^missing: expected a list or a string$/,
    },
    {
      name: 'exec command with a non-string argument',
      yaml: svc('      exec:\n        - { paths: [a], command: [echo, 1] }\n'),
      path: 'services.web.x-sync.exec[0].command[1]',
      message: /^expected a string, got number 1$/,
    },
    {
      name: 'exec env list entry without =',
      yaml: svc('      exec:\n        - { paths: [a], command: x, env: [FOO] }\n'),
      path: 'services.web.x-sync.exec[0].env[0]',
      message: /expected KEY=VALUE/,
    },
    {
      name: 'unknown key in an exec entry',
      yaml: svc('      exec:\n        - { paths: [a], command: x, cwd: /app }\n'),
      path: 'services.web.x-sync.exec[0].cwd',
      message: /^unknown key "cwd"; expected one of: paths, command, on, user, workdir, env$/,
    },
    {
      name: 'exec on: host with a user',
      yaml: svc('      exec:\n        - { paths: [a], command: x, on: host, user: node }\n'),
      path: 'services.web.x-sync.exec[0].user',
      message: /a command with on: host runs as you/,
    },
    {
      name: 'exec on: neither host nor container',
      yaml: svc('      exec:\n        - { paths: [a], command: x, on: laptop }\n'),
      path: 'services.web.x-sync.exec[0].on',
      message: /container|host/,
    },
    {
      name: 'develop.watch: unknown action',
      yaml: 'services:\n  api:\n    develop:\n      watch:\n        - { path: /proj/web, action: copy, target: /a }\n',
      path: 'services.api.develop.watch[0].action',
      message: /^unknown action "copy"; expected one of: sync, rebuild/,
    },
    {
      name: 'develop.watch: sync without target',
      yaml: 'services:\n  api:\n    develop:\n      watch:\n        - { path: /proj/web, action: sync }\n',
      path: 'services.api.develop.watch[0].target',
      message: /action sync needs a target/,
    },
    {
      name: 'a dotted service name is quoted in the path',
      yaml: 'services:\n  my.api:\n    x-sync: [{ source: ., target: /a, mode: fast }]\n',
      path: 'services["my.api"].x-sync[0].mode',
      message: /unknown mode "fast"/,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = run(c.yaml);
      assert.equal(r.problems.length, 1, JSON.stringify(r.problems));
      assert.equal(r.problems[0]!.path, c.path);
      assert.match(r.problems[0]!.message, c.message);
    });
  }

  test('every problem is collected, none stops the others', () => {
    const r = run(`
x-sync: { debounce: -1 }
services:
  a:
    x-sync:
      sync:
        - { source: ., target: /a, mode: fast, fileMode: "x" }
        - { source: ., target: /b, mode: one-way-reverse, initialSync: keepAll }
      restart: [{ paths: [x], signal: NOPE }]
  b:
    x-sync: [{ source: ., target: /b, extra: 1 }]
  c:
    x-sync: [{ source: ., target: /c }]
`);
    assert.deepEqual(r.problems.map((p) => p.path).sort(), [
      'services.a.x-sync.restart[0].signal',
      'services.a.x-sync.sync[0].fileMode',
      'services.a.x-sync.sync[0].mode',
      'services.a.x-sync.sync[1].initialSync',
      'services.b.x-sync[0].extra',
      'x-sync.debounce',
    ]);
    assert.deepEqual(
      r.model.services.map((s) => s.name),
      ['c'],
    );
  });

  test('a non-mapping document is a problem, not an exception', () => {
    assert.equal(
      normalize('oops', ctx).problems[0]!.message,
      'expected a compose model (a mapping)',
    );
    assert.deepEqual(normalize(null, ctx).model.services, []);
  });
});

describe('normalize: $$ escapes', () => {
  test('every x-sync string has $$ turned into $', () => {
    const web = service(`
x-sync:
  exclude: ["$$tmp"]
services:
  web:
    x-sync:
      sync:
        - { source: "./web", target: "/app/$$x/$$$$" }
      exec:
        - paths: ["web/**"]
          command: echo $$COMPOSYNC_CHANGED_FILES
        - paths: ["web/**"]
          command: ["sh", "-c", "echo $$COMPOSYNC_CHANGED_FILES"]
          env: { A: "$$HOME" }
`);
    assert.equal(web.rules[0]!.target, '/app/$x/$$');
    assert.equal(web.rules[0]!.exclude[0], '**/$tmp');
    assert.equal(web.exec[0]!.command, 'echo $COMPOSYNC_CHANGED_FILES');
    assert.deepEqual(web.exec[1]!.command, ['sh', '-c', 'echo $COMPOSYNC_CHANGED_FILES']);
    assert.deepEqual(web.exec[1]!.env, { A: '$HOME' });
  });
});

describe('normalize: develop.watch (drop-in)', () => {
  const watch = (entries: string) =>
    run(`
x-sync: { exclude: ["*.log"], debounce: 9 }
services:
  api:
    build: { context: /proj/web }
    develop:
      watch:
${entries}`);

  test('sync: a one-way-safe rule, ignore relative to path, no initial sync', () => {
    const r = watch(
      '        - { path: /proj/web, action: sync, target: /app, ignore: [node_modules/], include: ["*.js"] }\n',
    );
    assert.deepEqual(r.problems, []);
    const api = r.model.services[0]!;
    assert.equal(api.debounce, 9);
    assert.deepEqual(api.rules[0], {
      id: 'api/0',
      service: 'api',
      index: 0,
      yamlPath: 'services.api.develop.watch[0]',
      origin: 'develop.watch',
      root: '/proj/web',
      source: '/proj/web',
      kind: 'dir',
      target: '/app',
      mode: 'one-way-safe',
      initialSync: 'disabled',
      exclude: ['**/*.log', 'node_modules/', ...BUILTIN_EXCLUDES],
      include: ['*.js'],
      uploadExclude: [],
      downloadExclude: [],
      symlinks: 'preserve',
    });
    assert.deepEqual([api.rebuild, api.restart, api.exec], [[], [], []]);
  });

  test('initial_sync: true uploads what differs (preferLocal)', () => {
    const r = watch('        - { path: ./web, action: sync, target: /app, initial_sync: true }\n');
    assert.equal(r.model.services[0]!.rules[0]!.initialSync, 'preferLocal');
    assert.equal(r.model.services[0]!.rules[0]!.root, '/proj/web');
  });

  test('a file path becomes a file rule', () => {
    const r = watch(
      '        - { path: /proj/web/nginx.conf, action: sync+restart, target: /etc/nginx/nginx.conf }\n',
    );
    const api = r.model.services[0]!;
    assert.deepEqual(
      [api.rules[0]!.kind, api.rules[0]!.root, api.rules[0]!.only],
      ['file', '/proj/web', 'nginx.conf'],
    );
    assert.deepEqual(api.restart, [
      { paths: ['web/nginx.conf'], yamlPath: 'services.api.develop.watch[0]' },
    ]);
  });

  const actions: {
    action: string;
    extra?: string;
    rules: number;
    rebuild: string[];
    restart: string[][];
    exec: unknown[];
  }[] = [
    { action: 'sync', rules: 1, rebuild: [], restart: [], exec: [] },
    {
      action: 'sync+restart',
      rules: 1,
      rebuild: [],
      restart: [['web/src', 'web/src/**', '!web/src/tmp']],
      exec: [],
    },
    {
      action: 'sync+exec',
      extra:
        ', exec: { command: [npm, run, build], user: node, working_dir: /app, environment: { A: "1", B: null } }',
      rules: 1,
      rebuild: [],
      restart: [],
      exec: [
        {
          paths: ['web/src', 'web/src/**', '!web/src/tmp'],
          command: ['npm', 'run', 'build'],
          env: { A: '1' },
          user: 'node',
          workdir: '/app',
          yamlPath: 'services.api.develop.watch[0]',
        },
      ],
    },
    {
      action: 'rebuild',
      rules: 0,
      rebuild: ['web/src', 'web/src/**', '!web/src/tmp'],
      restart: [],
      exec: [],
    },
    {
      action: 'restart',
      rules: 0,
      rebuild: [],
      restart: [['web/src', 'web/src/**', '!web/src/tmp']],
      exec: [],
    },
  ];
  for (const a of actions) {
    test(`action ${a.action}`, () => {
      const r = watch(
        `        - { path: /proj/web/src, action: ${a.action}, target: /app, ignore: [tmp]${a.extra ?? ''} }\n`,
      );
      assert.deepEqual(r.problems, []);
      const api = r.model.services[0]!;
      assert.equal(api.rules.length, a.rules);
      assert.deepEqual(api.rebuild, a.rebuild);
      assert.deepEqual(
        api.restart.map((x) => x.paths),
        a.restart,
      );
      assert.deepEqual(api.exec, a.exec);
      assert.equal(api.buildable, true);
    });
  }

  test('x-sync wins over develop.watch, with a warning', () => {
    const r = run(`
services:
  api:
    x-sync: [{ source: ./web, target: /x }]
    develop: { watch: [{ path: ./web, action: rebuild }] }
`);
    assert.deepEqual(r.problems, []);
    assert.equal(r.model.services[0]!.rules[0]!.origin, 'x-sync');
    assert.deepEqual(r.model.services[0]!.rebuild, []);
    assert.match(r.warnings[0]!, /has both x-sync and develop.watch; develop.watch is ignored/);
  });

  test('the build context .dockerignore applies, rebased onto each path', () => {
    const files: Record<string, string> = {
      '/proj/web/.dockerignore': 'node_modules\n*.md\nsrc/gen\n!src/gen/keep.ts\n',
      '/proj/web/Dockerfile.dev.dockerignore': 'src/\n',
    };
    const withFiles = { ...ctx, readText: (p: string) => files[p] ?? null };
    const doc = (dockerfile: string) =>
      parse(`
services:
  api:
    build: { context: /proj/web, dockerfile: ${dockerfile} }
    develop:
      watch:
        - { path: /proj/web/src, action: sync+restart, target: /app/src, ignore: [tmp] }
        - { path: /proj/web/package.json, action: rebuild }
`);
    const r = normalize(doc('Dockerfile'), withFiles);
    assert.deepEqual(r.problems, []);
    const api = r.model.services[0]!;
    assert.deepEqual(api.rules[0]!.exclude, ['gen', '!gen/keep.ts', 'tmp', ...BUILTIN_EXCLUDES]);
    assert.deepEqual(api.restart[0]!.paths, [
      'web/src',
      'web/src/**',
      '!web/src/gen',
      '!web/src/tmp',
    ]);
    assert.deepEqual(api.rebuild, ['web/package.json']);

    // `<Dockerfile>.dockerignore` wins; a path it excludes entirely syncs nothing, as in compose.
    const dev = normalize(doc('Dockerfile.dev'), withFiles);
    assert.deepEqual(dev.model.services[0]!.rules[0]!.exclude.slice(0, 1), ['**']);
    assert.deepEqual(dev.model.services[0]!.restart[0]!.paths.slice(2, 3), ['!web/src']);
    assert.match(
      dev.warnings[0]!,
      /watch\[0\]\.path: .* is excluded by .*Dockerfile\.dev\.dockerignore/,
    );
  });

  test('$$ in develop.watch strings', () => {
    const r = watch(
      '        - { path: /proj/web, action: sync+exec, target: /app, exec: { command: [sh, -c, "echo $$X"] } }\n',
    );
    assert.deepEqual(r.model.services[0]!.exec[0]!.command, ['sh', '-c', 'echo $X']);
  });
});

describe('describeModel', () => {
  test('lists sources, targets, modes, excludes and triggers', () => {
    const text = describeModel(run(SPEC_EXAMPLE).model);
    for (const expected of [
      'project demo',
      'service web (buildable, debounce 5 ms, maxWait 250 ms, deleteGuard 50%)',
      '  web/0: /proj/web/src -> /app/src  [dir]',
      '    mode one-way-safe, initial sync preferLocal',
      '    exclude: **/node_modules/ **/*.log **/*.test.ts',
      '    include: **/*.ts',
      '    owner 1000, group 1000, fileMode 0644, dirMode 0755',
      '  rebuild when: web/package.json web/Dockerfile',
      '  restart when: web/config/**',
      '  signal SIGHUP to PID 1 when: web/nginx.conf',
      '  exec ["npm","run","build:css"] (user node, workdir /app, env FOO) when: web/src/**/*.css',
      'services without sync: db',
    ]) {
      assert.ok(text.includes(expected), `missing ${JSON.stringify(expected)} in:\n${text}`);
    }
  });
});
