/**
 * Faults during a burst of edits, each ending with every container tree equal to its source
 * and composync still running: a container killed and restarted by its restart policy, a
 * forced recreate, `docker restart`, the engine itself stopped and started (a throw-away engine
 * of scripts/fault-engine.sh, never the main one), a target on a full tmpfs, a local file that
 * vanishes before it is archived, and a local file that cannot be read.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { appendFile, chmod, readFile, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cliPath, repoRoot, sh, TestProject, waitFor, type CliProcess } from './helpers.js';
import {
  converge,
  LocalWorkload,
  Rng,
  seedFromEnv,
  syncLogIssues,
  type CompareTarget,
} from './soak-lib.js';

const run = promisify(execFile);

/** Apply bursts of random local operations until `stop()`; resolves the count applied. */
function burstsUntilStopped(workloads: LocalWorkload[], rng: Rng) {
  let stopped = false;
  let ops = 0;
  const done = (async () => {
    while (!stopped) {
      for (let i = rng.range(1, 15); i > 0; i--) {
        await rng.pick(workloads).step();
        ops++;
      }
      await new Promise((r) => setTimeout(r, rng.pick([0, 5, 20, 50])));
    }
    return ops;
  })();
  return {
    get ops() {
      return ops;
    },
    stop: async () => {
      stopped = true;
      return done;
    },
  };
}

const target = (p: TestProject, service: string, src: string, dir = '/t'): CompareTarget => ({
  label: service,
  localRoot: p.path(src),
  containerId: () => p.container(service),
  dir,
  env: { ...process.env, ...p.dockerEnv },
});

function assertEqual(diffs: Record<string, string[]>, seed: number) {
  for (const [label, d] of Object.entries(diffs))
    assert.deepEqual(d, [], `seed ${seed}: ${label} differs from its source`);
}

// The workload also writes paths these excludes keep out (see soakExcluded).
const LIFECYCLE = `x-sync:
  exclude: ['*.log', 'node_modules/']
services:
  rep:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    restart: always
    x-sync:
      - { source: ./src, target: /t, mode: one-way-replica, exclude: ['tmp/'] }
  two:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    restart: always
    x-sync:
      - { source: ./two, target: /t, mode: two-way-safe, exclude: ['tmp/'] }
`;

describe('container faults during a burst', { timeout: 600_000 }, () => {
  let p: TestProject;
  let w: CliProcess;
  const seed = seedFromEnv();
  const rng = new Rng(seed);
  let src: LocalWorkload;
  let two: LocalWorkload;

  before(async () => {
    p = await TestProject.create('faults', {
      'compose.yaml': LIFECYCLE,
      'src/a': 'a',
      'two/b': 'b',
    });
    src = new LocalWorkload(p.path('src'), rng);
    two = new LocalWorkload(p.path('two'), rng);
    for (let i = 0; i < 40; i++) await (i % 2 ? src : two).step();
    w = p.spawn(['up', '--watch', '--no-logs']);
    await w.waitForOutput(/watching \d+ rules/, 180_000);
  });

  after(async () => {
    await w?.stop();
    await p?.cleanup();
  });

  const targets = () => [target(p, 'rep', 'src'), target(p, 'two', 'two')];

  /** Run a burst, inject the fault in the middle of it, go on a little, then compare. */
  async function faultDuringBurst(t: { diagnostic(m: string): void }, fault: () => Promise<void>) {
    const b = burstsUntilStopped([src, two], rng);
    await waitFor(() => b.ops >= 30, { what: 'the burst to start' });
    await fault();
    const before = b.ops;
    await waitFor(() => b.ops >= before + 60, { what: 'the burst to go on after the fault' });
    const ops = await b.stop();
    const c = await converge(targets(), { timeoutMs: 60_000, watcher: w }).catch((err: Error) => {
      throw new Error(`${err.message}\n${w.output.slice(-3000)}`);
    });
    t.diagnostic(`seed ${seed}: ${ops} operations, converged in ${c.ms} ms`);
    if (Object.values(c.diffs).some((d) => d.length)) t.diagnostic(w.output.slice(-3000));
    assertEqual(c.diffs, seed);
    assert.equal(w.exitCode, null, 'composync exited');
  }

  // `docker kill` counts as a manual stop (engine 26 does not apply the restart policy after
  // it), so the crash is a SIGKILL of the container's PID 1 from the host, as the OOM killer
  // would send it.
  test('a container crashed and restarted by its restart policy', async (t) => {
    await faultDuringBurst(t, async () => {
      for (const s of ['rep', 'two']) {
        const pid = await run('docker', ['inspect', '-f', '{{.State.Pid}}', await p.container(s)]);
        process.kill(Number(pid.stdout.trim()), 'SIGKILL');
      }
    });
  });

  test('docker compose up --force-recreate', async (t) => {
    await faultDuringBurst(t, async () => {
      const r = await p.compose(['up', '-d', '--force-recreate']);
      assert.equal(r.code, 0, r.stderr);
    });
  });

  test('docker restart', async (t) => {
    await faultDuringBurst(t, async () => {
      for (const s of ['rep', 'two'])
        await run('docker', ['restart', '-t', '0', await p.container(s)]);
    });
  });

  test('no conflicts were invented by the faults', async (t) => {
    const { conflicts } = await syncLogIssues(p);
    if (conflicts.length) {
      // what the log says of those paths before: the failed write, the fault, the batch
      const log = await readFile(p.path('.composync/logs/sync.log'), 'utf8').catch(() => '');
      const paths = conflicts.map((c) => c.replace(/^conflict: (.*): [^:]*$/, '$1'));
      const dirs = paths.map((x) => x.split('/')[0]!);
      const related = log
        .split('\n')
        .filter((l) => /"event":"(start|problem)"/.test(l) || dirs.some((d) => l.includes(d)));
      t.diagnostic(related.slice(-60).join('\n'));
    }
    assert.deepEqual(conflicts, []);
  });
});

describe('the engine stopped and started again', { timeout: 600_000 }, () => {
  const script = join(repoRoot, 'scripts', 'fault-engine.sh');
  let p: TestProject | undefined;
  let w: CliProcess | undefined;
  let host = '';
  const seed = seedFromEnv();
  const rng = new Rng(seed);

  before(async () => {
    const r = await sh('bash', [script, 'start'], { timeoutMs: 120_000 });
    const m = /DOCKER_HOST=(\S+)/.exec(r.stdout);
    if (r.code !== 0 || !m) throw new Error(`the fault engine did not start: ${r.stderr}`);
    host = m[1]!;
  });

  after(async () => {
    await w?.stop();
    if (p) {
      await p.compose(['down', '-v', '-t', '0']);
      await rm(p.dir, { recursive: true, force: true });
    }
    await sh('bash', [script, 'teardown'], { timeoutMs: 60_000 });
  });

  test('composync reconnects, re-syncs and keeps running', async (t) => {
    p = await TestProject.create(
      'engine',
      {
        'compose.yaml': `x-sync:
  exclude: ['*.log', 'node_modules/']
services:
  rep:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    restart: always
    x-sync:
      - { source: ./src, target: /t, mode: one-way-replica, exclude: ['tmp/'] }
`,
        'src/a': 'a',
      },
      { dockerEnv: { DOCKER_HOST: host } },
    );
    const src = new LocalWorkload(p.path('src'), rng);
    for (let i = 0; i < 30; i++) await src.step();
    w = p.spawn(['up', '--watch', '--no-logs']);
    await w.waitForOutput(/watching \d+ rules/, 180_000);
    const b = burstsUntilStopped([src], rng);
    await waitFor(() => b.ops >= 30, { what: 'the burst to start' });
    const stop = await sh('bash', [script, 'stop'], { timeoutMs: 60_000 });
    assert.equal(stop.code, 0, stop.stderr);
    // edits while the engine is away must arrive once it is back
    const during = b.ops;
    await waitFor(() => b.ops >= during + 40, { what: 'edits while the engine is down' });
    const start = await sh('bash', [script, 'start'], { timeoutMs: 120_000 });
    assert.equal(start.code, 0, start.stderr);
    const after = b.ops;
    await waitFor(() => b.ops >= after + 40, { what: 'the burst to go on' });
    const ops = await b.stop();
    const c = await converge([target(p, 'rep', 'src')], { timeoutMs: 90_000, watcher: w });
    t.diagnostic(`seed ${seed}: ${ops} operations, converged in ${c.ms} ms`);
    if (Object.values(c.diffs).some((d) => d.length)) t.diagnostic(w.output.slice(-4000));
    assertEqual(c.diffs, seed);
    assert.equal(w.exitCode, null, 'composync exited');
  });
});

describe('a target on a full filesystem', { timeout: 300_000 }, () => {
  let p: TestProject;
  let w: CliProcess;

  before(async () => {
    p = await TestProject.create('full', {
      'compose.yaml': `services:
  full:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    tmpfs: ['/t:size=256k']
    x-sync:
      - { source: ./src, target: /t, mode: one-way-replica }
`,
      'src/small.txt': 'small',
    });
    w = p.spawn(['up', '--watch', '--no-logs']);
    await w.waitForOutput(/watching \d+ rules/, 180_000);
  });

  after(async () => {
    await w?.stop();
    await p?.cleanup();
  });

  const equal = async () => {
    const c = await converge([target(p, 'full', 'src')], { timeoutMs: 20_000, watcher: w });
    assertEqual(c.diffs, 0);
  };

  test('the initial sync reached the tmpfs (not the directory below the mount)', async () => {
    assert.equal(await p.readRemote('full', '/t/small.txt'), 'small');
  });

  test('a file that does not fit is reported, the rest of the batch lands', async () => {
    await p.write('src/big.bin', Buffer.alloc(400 * 1024, 1));
    await p.write('src/next.txt', 'next');
    await w.eventually('a problem naming big.bin', async () =>
      (await syncLogIssues(p)).problems.some((m) => m.includes('big.bin')),
    );
    await w.eventually(
      'next.txt',
      async () => (await p.readRemote('full', '/t/next.txt')) === 'next',
    );
  });

  test('once space is freed the file arrives', async () => {
    await truncate(p.path('src/big.bin'), 100 * 1024);
    await equal();
  });

  test('a file that never fitted and is deleted leaves nothing behind', async () => {
    await p.write('src/huge.bin', Buffer.alloc(300 * 1024, 2));
    await w.eventually('a problem naming huge.bin', async () =>
      (await syncLogIssues(p)).problems.some((m) => m.includes('huge.bin')),
    );
    await rm(p.path('src/huge.bin'));
    await appendFile(p.path('src/next.txt'), '!');
    await equal();
    assert.equal(w.exitCode, null);
  });
});

describe('local files that vanish or are not regular files', { timeout: 300_000 }, () => {
  let p: TestProject;
  let w: CliProcess;

  before(async () => {
    p = await TestProject.create('vanish', {
      'compose.yaml': `services:
  s:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    x-sync:
      - { source: ./src, target: /t, mode: one-way-replica }
`,
      'src/a.txt': 'a',
    });
    w = p.spawn(['up', '--watch', '--no-logs']);
    await w.waitForOutput(/watching \d+ rules/, 180_000);
  });

  after(async () => {
    await w?.stop();
    await p?.cleanup();
  });

  test('files deleted while their batch is archived: skipped or reported, the rest synced', async () => {
    // many files created and deleted at once: some are gone between the scan and the archive
    const rng = new Rng(seedFromEnv());
    for (let round = 0; round < 20; round++) {
      const names = Array.from({ length: 30 }, (_, i) => `churn/r${round}-${i}`);
      for (const n of names) await p.write(`src/${n}`, Buffer.alloc(rng.range(1, 600_000), round));
      for (const n of names) if (rng.chance(0.7)) await rm(p.path(`src/${n}`));
    }
    await p.write('src/after.txt', 'after');
    const c = await converge([target(p, 's', 'src')], { timeoutMs: 30_000, watcher: w });
    assertEqual(c.diffs, 0);
  });

  test('a FIFO is skipped, the rest synced', async () => {
    const r = await sh('mkfifo', [p.path('src/pipe')]);
    assert.equal(r.code, 0, r.stderr);
    await p.write('src/ok.txt', 'ok');
    await waitFor(async () => (await p.readRemote('s', '/t/ok.txt')) === 'ok', {
      what: 'ok.txt next to a FIFO',
    });
    assert.equal(await p.exec('s', ['test', '-e', '/t/pipe']), null, 'a FIFO is never synced');
    assert.equal(w.exitCode, null);
  });
});

describe('a large file that changes while it is streamed', { timeout: 300_000 }, () => {
  let p: TestProject;
  let w: CliProcess;

  before(async () => {
    p = await TestProject.create('torn', {
      'compose.yaml': `services:
  s:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    x-sync:
      - { source: ./src, target: /t, mode: two-way-safe }
`,
      'src/a.txt': 'a',
    });
    w = p.spawn(['up', '--watch', '--no-logs']);
    await w.waitForOutput(/watching \d+ rules/, 180_000);
  });

  after(async () => {
    await w?.stop();
    await p?.cleanup();
  });

  test('no torn copy is left in the container, no conflict is invented', async () => {
    // appends land while composync streams the file: its entry is cut to the header's size
    await p.write('src/big.bin', Buffer.alloc(4 * 1024 * 1024, 7));
    for (let i = 0; i < 300; i++) {
      await appendFile(p.path('src/big.bin'), Buffer.alloc(64 * 1024, i & 0xff));
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    const c = await converge([target(p, 's', 'src')], { timeoutMs: 60_000, watcher: w });
    assertEqual(c.diffs, 0);
    assert.deepEqual((await syncLogIssues(p)).conflicts, []);
  });
});

/** composync run as an unprivileged user (root reads every file whatever its mode). */
class UnprivilegedWatcher {
  readonly child: ChildProcess;
  output = '';
  exitCode: number | null = null;
  private readonly exited: Promise<number>;

  constructor(p: TestProject, dockerGid: number) {
    this.child = spawn(
      'setpriv',
      [
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        `--groups=${dockerGid}`,
        process.execPath,
        cliPath,
        'watch',
        '--no-logs',
      ],
      { cwd: p.dir, env: { ...process.env, ...p.env(), HOME: p.dir, NO_COLOR: '1' } },
    );
    this.child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((r) =>
      this.child.on('close', (code) => r((this.exitCode = code ?? -1))),
    );
  }

  async stop(): Promise<number> {
    if (this.exitCode !== null) return this.exitCode;
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

const NOBODY = 65534;

describe('a local file that cannot be read', { timeout: 300_000 }, () => {
  let p: TestProject;
  let w: UnprivilegedWatcher | undefined;
  let dockerGid: number | undefined;

  before(async () => {
    const g = await sh('getent', ['group', 'docker']);
    const gid = Number(g.stdout.split(':')[2]);
    if (g.code === 0 && Number.isInteger(gid)) dockerGid = gid;
    p = await TestProject.create('unreadable', {
      'compose.yaml': `services:
  s:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    x-sync:
      - { source: ./src, target: /t, mode: one-way-replica }
`,
      'src/ok.txt': 'ok',
      'src/secret.txt': 'never readable',
    });
    await chmod(p.path('src/secret.txt'), 0);
    await sh('chown', ['-R', `${NOBODY}:${NOBODY}`, p.dir]);
    await chmod(p.dir, 0o755);
    const up = await p.compose(['up', '-d']);
    assert.equal(up.code, 0, up.stderr);
  });

  after(async () => {
    await w?.stop();
    await p?.cleanup();
  });

  test('reported with its path; the rest synced; composync keeps running', async (t) => {
    if (dockerGid === undefined || process.getuid?.() !== 0) {
      t.skip('needs root and a docker group to run composync as an unprivileged user');
      return;
    }
    w = new UnprivilegedWatcher(p, dockerGid);
    const watcher = w;
    const eventually = (what: string, check: () => Promise<boolean> | boolean) =>
      waitFor(check, { what, timeoutMs: 30_000, detail: () => watcher.output });
    await eventually('watching', () => /watching \d+ rules/.test(watcher.output));
    const problem = async (name: string) =>
      (await syncLogIssues(p)).problems.some(
        (m) => m.includes(name) && /permission denied/i.test(m),
      );
    await eventually('a problem naming secret.txt', () => problem('secret.txt'));
    assert.equal(await p.readRemote('s', '/t/ok.txt'), 'ok');
    assert.equal(await p.exec('s', ['test', '-e', '/t/secret.txt']), null);

    // while watching: a file whose permissions are taken away after it was written
    await p.write('src/locked.txt', 'locked');
    await chmod(p.path('src/locked.txt'), 0);
    await p.write('src/ok2.txt', 'ok2');
    await eventually('ok2.txt', async () => (await p.readRemote('s', '/t/ok2.txt')) === 'ok2');
    await eventually('a problem naming locked.txt', () => problem('locked.txt'));
    assert.equal(watcher.exitCode, null, 'composync exited');
    assert.equal(await watcher.stop(), 0);
  });
});
