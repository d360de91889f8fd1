/**
 * The configuration layer against the real `docker compose config`: file lookup, overrides,
 * profiles, env files, escapes, and problems pointed at the compose file. The ComposeCli adapter
 * is exercised too, including one short up / ps / logs / down round trip.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComposeCli, composeGlobalArgs } from '../src/compose/cli.js';
import { loadModel } from '../src/config/index.js';
import type { ProjectOptions } from '../src/core/model.js';
import { ComposeError, ConfigError, EXIT_USAGE } from '../src/errors.js';
import { TestProject, waitFor } from './helpers.js';

/** Options as the CLI builds them, for a project directory, without inherited COMPOSE_* vars. */
function options(p: TestProject, o: Partial<ProjectOptions> = {}): ProjectOptions {
  const env: NodeJS.ProcessEnv = { ...process.env, COMPOSE_PROJECT_NAME: p.name };
  delete env.COMPOSE_FILE;
  delete env.COMPOSE_PROFILES;
  delete env.COMPOSE_PATH_SEPARATOR;
  return { files: [], profiles: [], envFiles: [], cwd: p.dir, ...o, env: { ...env, ...o.env } };
}

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

describe('loadModel through docker compose config', () => {
  let p: TestProject;

  before(async () => {
    p = await TestProject.create('config', {
      'web/src/index.js': 'console.log(1)\n',
      'compose.yaml': `
x-sync:
  exclude: ["*.log"]
services:
  web:
    image: composync/busybox
    build: ./web
    x-sync:
      sync:
        - source: ./web/src
          target: \${WEB_TARGET:-/app/src}
          mode: one-way
      exec:
        - paths: ["./web/src/**"]
          command: echo "$$COMPOSYNC_CHANGED_FILES" > /tmp/changed
  db:
    image: composync/busybox
  debug:
    image: composync/busybox
    profiles: [dbg]
    x-sync: [{ source: ./web, target: /dbg }]
`,
      'override.yaml': `
services:
  web:
    x-sync:
      sync:
        - source: ./web/src
          target: /srv/src
          mode: two-way
  db:
    x-sync:
      restart: ["./db/**"]
`,
      'vars.env': 'WEB_TARGET=/from/env-file\n',
      'alt/other.yaml': `
services:
  solo:
    image: composync/busybox
    x-sync: [{ source: ./data, target: /data }]
`,
    });
  });
  after(() => p.cleanup());

  test('the default compose.yaml: model, project name and directory, escapes', async () => {
    const { model, warnings } = await loadModel(options(p));
    assert.equal(model.projectName, p.name);
    assert.equal(model.projectDir, p.dir);
    assert.deepEqual(model.composeFiles, [p.path('compose.yaml')]);
    assert.deepEqual(model.allServices.sort(), ['db', 'web']);
    assert.deepEqual(
      model.services.map((s) => s.name),
      ['web'],
    );
    const web = model.services[0]!;
    assert.equal(web.buildable, true);
    assert.equal(web.rules[0]!.root, p.path('web/src'));
    assert.equal(web.rules[0]!.target, '/app/src');
    assert.equal(web.rules[0]!.mode, 'one-way-safe');
    assert.equal(web.rules[0]!.exclude[0], '**/*.log');
    // compose prints `$$` escaped; composync unescapes it like compose does for its own fields.
    assert.equal(web.exec[0]!.command, 'echo "$COMPOSYNC_CHANGED_FILES" > /tmp/changed');
    assert.deepEqual(web.exec[0]!.paths, ['web/src/**']);
    assert.deepEqual(warnings, []);
  });

  test('-f with two files: the override replaces x-sync, services keep merging', async () => {
    const { model } = await loadModel(options(p, { files: ['compose.yaml', 'override.yaml'] }));
    assert.deepEqual(model.composeFiles, [p.path('compose.yaml'), p.path('override.yaml')]);
    const web = model.services.find((s) => s.name === 'web')!;
    // composync's rule on every compose version: the later file's x-sync replaces the earlier
    // one as a whole (2.26 did so itself; 2.40 would append the rule and keep the exec).
    assert.deepEqual(
      web.rules.map((r) => [r.target, r.mode]),
      [['/srv/src', 'two-way-safe']],
    );
    assert.deepEqual(web.exec, []);
    assert.equal(web.buildable, true);
    const db = model.services.find((s) => s.name === 'db')!;
    assert.deepEqual(db.restart[0]!.paths, ['db/**']);
  });

  test('x-sync from several files: the last file replaces it, top level and per service, list or mapping; develop.watch lists append (compose`s own merge)', async () => {
    const m = await TestProject.create('config-merge', {
      'compose.yaml': `
x-sync:
  exclude: ["*.log"]
  owner: "1000"
services:
  list:
    image: composync/busybox
    x-sync: [{ source: ./a, target: /a }, { source: ./b, target: /b }]
  map:
    image: composync/busybox
    x-sync:
      sync: [{ source: ./a, target: "\${MAP_TARGET:-/a}", mode: one-way }]
      restart: ["./a/**"]
  mixed:
    image: composync/busybox
    x-sync: { sync: [{ source: ./a, target: /a }], exec: [{ paths: [a], command: "true" }] }
  kept:
    image: composync/busybox
    x-sync: [{ source: ./k, target: /k }]
  watched:
    image: composync/busybox
    develop:
      watch:
        - { action: sync, path: ./a, target: /a }
`,
      'compose.override.yaml': `
x-sync:
  exclude: ["*.tmp"]
services:
  list:
    x-sync: [{ source: ./c, target: /c }]
  map:
    x-sync:
      sync: [{ source: ./a, target: "\${OVER_TARGET:-/srv}", mode: two-way }]
  mixed:
    x-sync: !override [{ source: ./m, target: /m }]
  kept:
    environment: { K: "1" }
  watched:
    develop:
      watch:
        - { action: restart, path: ./b }
`,
    });
    try {
      const env = { OVER_TARGET: '/from-env' };
      const { model } = await loadModel(options(m, { env }));
      const svc = (n: string) => model.services.find((s) => s.name === n)!;
      const targets = (n: string) => svc(n).rules.map((r) => r.target);
      assert.deepEqual(targets('list'), ['/c']);
      assert.deepEqual(targets('map'), ['/from-env']);
      assert.equal(svc('map').rules[0]!.mode, 'two-way-safe');
      assert.deepEqual(svc('map').restart, []);
      assert.deepEqual(targets('mixed'), ['/m']);
      assert.deepEqual(svc('mixed').exec, []);
      // a file that does not set x-sync leaves it as it was
      assert.deepEqual(targets('kept'), ['/k']);
      // the top-level x-sync: the override's excludes only, and no owner
      const rule = svc('list').rules[0]!;
      assert.ok(rule.exclude.includes('**/*.tmp'), rule.exclude.join(' '));
      assert.ok(!rule.exclude.includes('**/*.log'), rule.exclude.join(' '));
      assert.equal(rule.owner, undefined);
      // develop.watch is compose's own field, merged by compose: both entries, on both versions
      const watched = svc('watched');
      assert.deepEqual(
        watched.rules.map((r) => r.target),
        ['/a'],
      );
      assert.deepEqual(
        watched.restart.map((r) => r.paths),
        [['b', 'b/**']],
      );
    } finally {
      await m.cleanup();
    }
  });

  test('x-sync as a list in one file and a mapping in another, without !override: 2.26 takes the later one, 2.40 refuses and composync says what to write', async () => {
    const m = await TestProject.create('config-mixed', {
      'compose.yaml': `
services:
  web:
    image: composync/busybox
    x-sync: { sync: [{ source: ./a, target: /a }] }
`,
      'compose.override.yaml': `
services:
  web:
    x-sync: [{ source: ./b, target: /b }]
`,
    });
    try {
      const version = await new ComposeCli(options(m)).version();
      const [, minor] = version.split('.').map(Number);
      if (minor! >= 40) {
        // compose 2.40 refuses to merge the two forms: composync says what to write instead
        await assert.rejects(loadModel(options(m)), (err: unknown) => {
          assert.ok(err instanceof ComposeError);
          assert.match(err.message, /cannot override services\.web\.x-sync/);
          assert.match(err.hint ?? '', /same form in both files, or write `x-sync: !override`/);
          return true;
        });
      } else {
        // compose 2.26 replaces the value itself
        const { model } = await loadModel(options(m));
        assert.deepEqual(
          model.services[0]!.rules.map((x) => x.target),
          ['/b'],
        );
      }
    } finally {
      await m.cleanup();
    }
  });

  test('--profile adds the profile`s services; COMPOSE_PROFILES works too', async () => {
    const withFlag = await loadModel(options(p, { profiles: ['dbg'] }));
    assert.ok(withFlag.model.allServices.includes('debug'));
    assert.deepEqual(
      withFlag.model.services.find((s) => s.name === 'debug')!.rules[0]!.root,
      p.dir + '/web',
    );
    const withEnv = await loadModel(options(p, { env: { COMPOSE_PROFILES: 'dbg' } }));
    assert.ok(withEnv.model.services.some((s) => s.name === 'debug'));
  });

  test('--env-file values are interpolated inside x-sync', async () => {
    const { model } = await loadModel(options(p, { envFiles: ['vars.env'] }));
    assert.equal(model.services[0]!.rules[0]!.target, '/from/env-file');
  });

  test('COMPOSE_FILE selects the files and the project directory', async () => {
    const { model, warnings } = await loadModel(
      options(p, { env: { COMPOSE_FILE: 'alt/other.yaml' } }),
    );
    assert.deepEqual(model.composeFiles, [p.path('alt/other.yaml')]);
    assert.equal(model.projectDir, p.path('alt'));
    const solo = model.services[0]!;
    assert.equal(solo.name, 'solo');
    assert.equal(solo.rules[0]!.root, p.path('alt/data'));
    assert.ok(
      warnings.some((w) => /services\.solo\.x-sync\[0\]\.source: .*does not exist yet/.test(w)),
    );
  });

  test('an invalid x-sync is a ConfigError naming the file, line and YAML path', async () => {
    const bad = await TestProject.create('config-bad', {
      'compose.yaml': `
services:
  web:
    image: composync/busybox
    x-sync:
      sync:
        - source: .
          target: /app
          mode: fast
      restart:
        - paths: [a]
          signal: SIGNOPE
`,
      'compose.override.yaml': `
services:
  api:
    image: composync/busybox
    x-sync: [{ source: ., target: /api, initialSync: mirrorRemote }]
`,
    });
    try {
      const err = await configError(loadModel(options(bad)));
      assert.equal(err.exitCode, EXIT_USAGE);
      assert.deepEqual(
        err.problems.map((x) => [x.file, x.path]).sort(),
        [
          ['compose.override.yaml:5', 'services.api.x-sync[0].initialSync'],
          ['compose.yaml:12', 'services.web.x-sync.restart[0].signal'],
          ['compose.yaml:9', 'services.web.x-sync.sync[0].mode'],
        ].sort(),
      );
      assert.match(
        err.message,
        /compose\.yaml:9: services\.web\.x-sync\.sync\[0\]\.mode: unknown mode "fast"; expected one of: one-way-safe/,
      );
    } finally {
      await bad.cleanup();
    }
  });

  test('a compose file compose itself rejects is a ComposeError with exit code 2', async () => {
    const broken = await TestProject.create('config-broken', {
      'compose.yaml': 'services:\n  web:\n    image: [oops\n',
    });
    try {
      await assert.rejects(loadModel(options(broken)), (err: unknown) => {
        assert.ok(err instanceof ComposeError);
        assert.equal(err.exitCode, EXIT_USAGE);
        assert.match(err.message, /^docker compose config failed: /);
        assert.match(err.hint ?? '', /Fix the compose file/);
        return true;
      });
    } finally {
      await broken.cleanup();
    }
  });

  test('no compose file at all', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'composync-empty-'));
    try {
      const env = { ...process.env };
      delete env.COMPOSE_FILE;
      const cli = new ComposeCli({ files: [], profiles: [], envFiles: [], cwd: dir, env });
      await assert.rejects(cli.configYaml(), (err: unknown) => {
        assert.ok(err instanceof ComposeError);
        assert.match(err.hint ?? '', /No compose file found/);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('ComposeCli', () => {
  test('maps project options to compose global flags', () => {
    assert.deepEqual(
      composeGlobalArgs({
        files: ['a.yaml', 'b.yaml'],
        projectName: 'p',
        projectDirectory: 'dir',
        profiles: ['x', 'y'],
        envFiles: ['e1', 'e2'],
        cwd: '/',
        env: {},
      }),
      [
        ...['-f', 'a.yaml', '-f', 'b.yaml', '-p', 'p', '--project-directory', 'dir'],
        ...['--profile', 'x', '--profile', 'y', '--env-file', 'e1', '--env-file', 'e2'],
      ],
    );
  });

  test('version', async () => {
    const v = await new ComposeCli({
      files: [],
      profiles: [],
      envFiles: [],
      cwd: '.',
      env: process.env,
    }).version();
    assert.match(v, /^2\.\d+\.\d+/);
    // the compatibility pass (.ci/run) says which compose it set up, so it cannot silently
    // run on the default one
    const expected = process.env.COMPOSYNC_EXPECT_COMPOSE;
    if (expected) assert.ok(v.startsWith(`${expected}.`), `compose ${v}, expected ${expected}`);
  });

  test('docker missing, or the compose plugin missing: an install hint', async () => {
    const base: ProjectOptions = {
      files: [],
      profiles: [],
      envFiles: [],
      cwd: '.',
      env: process.env,
    };
    await assert.rejects(
      new ComposeCli(base, 'composync-no-such-docker').version(),
      (err: unknown) => {
        assert.ok(err instanceof ComposeError);
        assert.match(err.message, /docker was not found/);
        assert.match(err.hint ?? '', /compose v2 plugin.*npm run setup/);
        return true;
      },
    );
    const dir = await mkdtemp(join(tmpdir(), 'composync-fakedocker-'));
    try {
      const fake = join(dir, 'docker');
      await writeFile(
        fake,
        '#!/bin/sh\necho "docker: \'compose\' is not a docker command." >&2\nexit 1\n',
      );
      await chmod(fake, 0o755);
      await assert.rejects(new ComposeCli(base, fake).configYaml(), (err: unknown) => {
        assert.ok(err instanceof ComposeError);
        assert.match(err.message, /Docker Compose v2 is not installed/);
        assert.match(err.hint ?? '', /npm run setup/);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('up, ps, logs, down', async () => {
    const p = await TestProject.create('compose-cli', {
      'compose.yaml': `
services:
  app:
    image: composync/busybox
    command: ["sh", "-c", "echo hello-from-app; exec sleep 300"]
    stop_grace_period: 0s
`,
    });
    const cli = new ComposeCli(options(p));
    try {
      await cli.up([], { wait: true });
      const ps = await cli.ps();
      assert.deepEqual(
        ps.map((c) => [c.service, c.state]),
        [['app', 'running']],
      );
      assert.equal(ps[0]!.name, `${p.name}-app-1`);

      const lines: string[] = [];
      const logs = cli.logs(['app'], { follow: true, noColor: true, onLine: (l) => lines.push(l) });
      await waitFor(() => lines.some((l) => /^app-1\s+\| hello-from-app$/.test(l)), {
        what: 'the prefixed log line',
        detail: () => lines.join('\n'),
      });
      await logs.stop();
      assert.equal(typeof (await logs.done), 'number');

      await cli.down({ volumes: true });
      assert.deepEqual(await cli.ps(), []);
    } finally {
      await p.cleanup();
    }
  });
});
