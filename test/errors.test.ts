/**
 * Errors users can act on: each case prints what happened and what to do, exits with the
 * SPEC's code (1 the operation failed, 2 usage or configuration), and shows a stack trace only
 * with --debug.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { StatusReport } from '../src/session/status.js';
import { cliPath, composync, repoRoot, sh, TestProject, type RunResult } from './helpers.js';

const STACK = /\n\s+at /;

/** The common shape of an expected error: the exit code, the message, no stack trace. */
function expectError(r: RunResult, code: number, message: RegExp, hint?: RegExp): void {
  const all = r.stdout + r.stderr;
  assert.equal(r.code, code, all);
  assert.match(r.stderr, message);
  if (hint) assert.match(r.stderr, hint);
  assert.doesNotMatch(all, STACK, 'no stack trace without --debug');
  assert.doesNotMatch(all, /unexpected error|This is a bug/, 'an expected error');
}

const service = (name: string, extra = '') => `  ${name}:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
${extra}`;

describe('errors before any container is involved', { timeout: 300_000 }, () => {
  let p: TestProject;
  let empty: string;
  let fakeBin: string;

  before(async () => {
    p = await TestProject.create('err', {
      'compose.yaml': `services:
${service('web', '    x-sync:\n      - source: ./src\n        target: /app\n')}${service('db')}`,
      'src/a.txt': 'a',
    });
    empty = await mkdtemp(join(tmpdir(), 'composync-empty-'));
    fakeBin = await mkdtemp(join(tmpdir(), 'composync-fakebin-'));
    // a docker CLI without the compose plugin answers like this
    await writeFile(
      join(fakeBin, 'docker'),
      `#!/bin/sh\necho "docker: '$1' is not a docker command." >&2\necho "See 'docker --help'" >&2\nexit 1\n`,
    );
    await chmod(join(fakeBin, 'docker'), 0o755);
  });

  after(async () => {
    await p?.cleanup();
    await rm(empty, { recursive: true, force: true });
    await rm(fakeBin, { recursive: true, force: true });
  });

  test('engine unreachable: no socket', async () => {
    const r = await p.composync(['sync'], { env: { DOCKER_HOST: 'unix:///nonexistent.sock' } });
    expectError(
      r,
      1,
      /^composync: cannot reach the Docker engine at unix:\/\/\/nonexistent\.sock: the socket does not exist \(is the engine running\?\)$/m,
      /Start the Docker engine .* check DOCKER_HOST and the docker context/,
    );
  });

  test('--debug adds the stack trace', async () => {
    const r = await p.composync(['--debug', 'sync'], {
      env: { DOCKER_HOST: 'unix:///nonexistent.sock' },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach the Docker engine/);
    assert.match(r.stderr, STACK);
  });

  test('engine unreachable: a wrong DOCKER_HOST', async () => {
    const r = await p.composync(['verify'], { env: { DOCKER_HOST: 'tcp://127.0.0.1:1' } });
    expectError(
      r,
      1,
      /cannot reach the Docker engine at tcp:\/\/127\.0\.0\.1:1: connection refused/,
      /DOCKER_HOST/,
    );
  });

  test('engine socket: permission denied', async (t) => {
    if (process.getuid?.() !== 0 || (await sh('setpriv', ['--version'])).code !== 0)
      return t.skip('needs root and setpriv to run as an unprivileged user');
    await chmod(p.dir, 0o755); // the unprivileged user reads the compose file
    const r = await sh(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, cliPath, 'sync'],
      {
        cwd: p.dir,
        env: {
          ...process.env,
          HOME: p.dir,
          NO_COLOR: '1',
          COMPOSE_PROJECT_NAME: p.name,
          DOCKER_HOST: 'unix:///var/run/docker.sock',
        },
      },
    );
    expectError(
      r,
      1,
      /permission denied on the Docker engine socket unix:\/\/\/var\/run\/docker\.sock/,
      /`docker` group/,
    );
  });

  test('compose v2 missing', async () => {
    const PATH = [fakeBin, dirname(process.execPath), '/usr/bin', '/bin'].join(':');
    const r = await p.composync(['sync'], { env: { PATH } });
    expectError(
      r,
      1,
      /Docker Compose v2 is not installed: `docker compose` is not available/,
      /compose v2 plugin/,
    );
  });

  test('--version prints the package version; help shows no empty defaults', async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    const v = await composync(['--version'], { cwd: empty });
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout.trim(), pkg.version);
    const h = await composync(['--help'], { cwd: empty });
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout, /-f, --file <path> +compose file \(repeatable\)\n/);
    assert.doesNotMatch(h.stdout, /default: \[\]|default: false/);
  });

  test('no compose file', async () => {
    const r = await composync(['sync'], { cwd: empty });
    expectError(r, 2, /no configuration file provided/, /No compose file found: .* pass -f FILE/);
  });

  test('unknown service', async () => {
    const r = await p.composync(['sync', 'nosuch']);
    expectError(r, 2, /no such service: nosuch/, /Services of project \S+: db, web/);
  });

  test('a service without sync rules', async () => {
    const r = await p.composync(['verify', 'db']);
    expectError(r, 2, /service db has no sync rules/, /Services with sync rules: web/);
  });

  test('service defined but never started', async () => {
    const r = await p.composync(['sync', 'web']);
    expectError(
      r,
      1,
      /^composync: service web \(no container: never started, or removed\) has no running container, so there is nothing to sync into$/m,
      /Start it with `composync up web` \(or `docker compose start web`\)/,
    );
  });
});

describe('errors inside containers', { timeout: 300_000 }, () => {
  let p: TestProject;

  before(async () => {
    const rule = (src: string, target: string) =>
      `    x-sync:\n      - source: ./${src}\n        target: ${target}\n`;
    p = await TestProject.create('errc', {
      'compose.yaml': `services:
${service('stopped', rule('src', '/app'))}${service('ro', `    volumes: ['./ro-host:/ro:ro']\n${rule('src', '/ro')}`)}${service('rofs', `    read_only: true\n${rule('src', '/data')}`)}${service('full', `    volumes: ['small:/t']\n${rule('big', '/t')}`)}
# A 64 kB tmpfs as a named volume. (A service-level \`tmpfs:\` mount would not do: the engine's
# archive endpoint does not see those mounts at all, it reads and writes beneath them.)
volumes:
  small:
    driver_opts: { type: tmpfs, device: tmpfs, o: size=64k }
`,
      'src/a.txt': 'a',
      'ro-host/.keep': '',
      'big/big.bin': 'x'.repeat(200_000),
    });
    const up = await p.compose(['up', '-d']);
    assert.equal(up.code, 0, up.stderr);
    const stop = await p.compose(['stop', 'stopped']);
    assert.equal(stop.code, 0, stop.stderr);
  });

  after(async () => p?.cleanup());

  test('service not running: its container is stopped', async () => {
    const r = await p.composync(['sync', 'stopped']);
    expectError(
      r,
      1,
      /service stopped \(container \S+-stopped-1 is exited\) has no running container/,
      /composync up stopped/,
    );
  });

  test('permission denied inside the container: a read-only mount', async () => {
    const r = await p.composync(['sync', 'ro']);
    expectError(
      r,
      1,
      /^ro {8}! a\.txt: .*read-only file system: the target \/ro\/a\.txt is on a read-only mount\. Mount it read-write \(drop `:ro` or `read_only: true` for it in the compose file\)/m,
    );
    assert.match(r.stdout, /1 rule synced, 0 files uploaded .*, 1 problem/);
  });

  test('permission denied inside the container: a read-only root filesystem', async () => {
    const r = await p.composync(['sync', 'rofs']);
    expectError(r, 1, /root filesystem is read-only \(`read_only: true`\)\. Mount a volume/);
  });

  test('disk full inside the container', async () => {
    const r = await p.composync(['sync', 'full']);
    expectError(
      r,
      1,
      /^full {6}! big\.bin: .*no space left on device: the container's filesystem holding \/t\/big\.bin is full\. Free space there/m,
    );
    const st = await p.composync(['status', '--json']);
    const rule = (JSON.parse(st.stdout) as StatusReport).rules.find((x) => x.rule === 'full/0')!;
    assert.equal(rule.state, 'error', 'the last known status keeps the problem');
    assert.match(rule.problems[0]!.message, /is full/);
    const v = await p.composync(['verify', 'full']);
    assert.equal(v.code, 1, 'what did not fit is drift');
  });
});
