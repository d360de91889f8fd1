/**
 * Observability against the real engine, during a real `up --watch`: the plain-line output,
 * `status --json` (live, then last known), `logs sync` (JSON lines with the SPEC §5 fields,
 * --since, -f across a rotation), `logs SERVICE` through compose, `verify` (clean, changed in
 * the container, extras per mode), and the terminal task list under `script`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOG_EVENTS, type LogRecord } from '../src/session/sync-log.js';
import type { StatusReport } from '../src/session/status.js';
import type { VerifyReport } from '../src/cli/cmd-verify.js';
import { CliProcess, cliPath, docker, repoRoot, sh, TestProject, waitFor } from './helpers.js';

const compose = `services:
  web:
    image: composync/busybox
    command: ['sh', '-c', 'echo hello-from-web; exec sleep 2147483647']
    stop_signal: SIGKILL
    x-sync:
      - source: ./web
        target: /app
        exclude: ['*.tmp']
  api:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    x-sync:
      - source: ./api
        target: /api
        mode: one-way-replica
  db:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
`;

/** The sync log's rotation size in this test: small, so a few dozen batches rotate it. */
const LOG_MAX = 4000;

const ESC = String.fromCharCode(27);
/** An ANSI foreground colour (cursor movement and erasing are not colour). */
const COLOUR = new RegExp(`${ESC}\\[3\\dm`);

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('observability of a running watcher', { timeout: 600_000 }, () => {
  let p: TestProject;
  let w: CliProcess;

  const json = async <T>(args: string[]): Promise<{ code: number; value: T; raw: string }> => {
    const r = await p.composync(args);
    assert.equal(r.stderr, '', `no stderr from ${args.join(' ')}`);
    return { code: r.code, value: JSON.parse(r.stdout) as T, raw: r.stdout };
  };
  const status = async () => (await json<StatusReport>(['status', '--json'])).value;
  const ruleOf = (s: StatusReport, id: string) => s.rules.find((r) => r.rule === id)!;
  const logRecords = async (args: string[] = []) => {
    const r = await p.composync(['logs', 'sync', '--json', ...args]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LogRecord);
  };
  const inContainer = async (service: string, path: string) =>
    (await p.readRemote(service, path)) !== null;

  before(async () => {
    p = await TestProject.create('obs', {
      'compose.yaml': compose,
      'web/index.html': 'hello',
      'web/x.txt': 'x-1',
      'web/skip.tmp': 'excluded',
      'api/a.txt': 'a',
    });
    w = p.spawn(['up', '--watch'], { COMPOSYNC_SYNC_LOG_MAX_BYTES: String(LOG_MAX) });
    await w.waitForOutput(/watching 2 rules/, 180_000);
  });

  after(async () => {
    await w?.stop();
    await p?.cleanup();
  });

  test('without a terminal: plain lines, one per batch, service logs interleaved', async () => {
    await w.waitForOutput(/^web-1 {2}\| hello-from-web$/m);
    await p.write('web/batch.txt', 'abc');
    await w.waitForOutput(/^web {7}↑ 1 file 3 B \d+ ms$/m);
    assert.match(w.stdout, /^composync: starting cst-obs-/m);
    assert.match(
      w.stdout,
      /^composync: initial sync done: 2 rules in 2 containers, 3 files uploaded \(\d+ B\), 0 deleted$/m,
    );
    assert.ok(!w.output.includes(ESC), 'no escape codes without a terminal');
  });

  test('status --json while watching: live, every rule with the SPEC fields', async () => {
    const s = await status();
    assert.equal(s.project, p.name);
    assert.equal(s.live, true);
    assert.equal(s.watcherPid, w.child.pid);
    assert.deepEqual(s.rules.map((r) => [r.service, r.rule, r.mode, r.state]).sort(), [
      ['api', 'api/0', 'one-way-replica', 'watching'],
      ['web', 'web/0', 'one-way-safe', 'watching'],
    ]);
    for (const r of s.rules) {
      assert.deepEqual(
        r.containers.map((c) => c.name),
        [`${p.name}-${r.service}-1`],
      );
      assert.match(r.lastSync!, ISO);
      assert.equal(typeof r.files, 'number');
      assert.equal(typeof r.bytes, 'number');
      assert.deepEqual(r.conflicts, []);
      assert.deepEqual(r.problems, []);
    }
    assert.equal(ruleOf(s, 'web/0').target, '/app');
    assert.equal(ruleOf(s, 'web/0').source, './web');
  });

  test('the status file is kept current: every batch shows up in status', async () => {
    const before = ruleOf(await status(), 'api/0');
    await p.write('api/b.txt', 'bbbb');
    const after = (await waitFor(
      async () => {
        const r = ruleOf(await status(), 'api/0');
        return r.files > before.files ? r : null;
      },
      { what: 'status after a batch', timeoutMs: 10_000 },
    ))!;
    assert.equal(after.files, before.files + 1);
    assert.equal(after.bytes, before.bytes + 4);
    assert.ok(after.lastSync! > before.lastSync!, 'last sync moved on');
  });

  test('logs sync --json: JSON lines with the SPEC §5 fields', async () => {
    const recs = await logRecords();
    assert.ok(recs.length >= 3, JSON.stringify(recs));
    for (const r of recs) {
      assert.match(r.ts, ISO);
      assert.ok(['info', 'warn', 'error'].includes(r.level), r.level);
      assert.ok((LOG_EVENTS as readonly string[]).includes(r.event), r.event);
      assert.equal(typeof r.message, 'string');
    }
    const syncs = recs.filter((r) => r.event === 'sync');
    for (const r of syncs) {
      assert.ok(r.service === 'web' || r.service === 'api');
      assert.equal(r.container, `${p.name}-${r.service}-1`);
      assert.equal(r.rule, `${r.service}/0`);
      for (const k of ['files', 'bytes', 'ms'] as const) assert.equal(typeof r[k], 'number', k);
    }
    assert.ok(syncs.some((r) => r.service === 'web' && r.files === 1 && r.bytes === 3));
    const human = await p.composync(['logs', 'sync', 'api']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^\S+Z {2}api {9}↑ 1 file 4 B \d+ ms$/m);
    assert.doesNotMatch(human.stdout, / web /, 'only the service asked for');
  });

  test('verify: a clean tree exits 0', async () => {
    const r = await p.composync(['verify']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^web\/0 \.\/web → \S+-web-1:\/app \(one-way-safe\): in sync/m);
    assert.match(r.stdout, /no drift in 2 rules and containers/);
  });

  test('verify: a file changed inside the container is drift (exit 1)', async () => {
    await p.exec('web', ['sh', '-c', 'printf x-container > /app/x.txt']);
    const r = await p.composync(['verify']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^ {2}different {2}x\.txt \(content\)$/m);
    const j = await json<VerifyReport>(['verify', '--json', 'web']);
    assert.equal(j.code, 1);
    assert.equal(j.value.drift, true);
    const [web] = j.value.results;
    assert.equal(web!.rule, 'web/0');
    assert.deepEqual(web!.different, [{ path: 'x.txt', kind: 'file', reason: 'content' }]);
    assert.deepEqual(web!.missing, []);
    // the excluded local file is neither missing nor compared
    assert.ok(!JSON.stringify(web).includes('skip.tmp'));
    await p.exec('web', ['sh', '-c', 'printf x-1 > /app/x.txt']);
    assert.equal((await p.composync(['verify', 'web'])).code, 0);
  });

  test('verify: container-only files are drift for a replica, kept for one-way-safe', async () => {
    await p.exec('web', ['sh', '-c', 'echo theirs > /app/theirs.txt']);
    await p.exec('api', ['sh', '-c', 'echo theirs > /api/theirs.txt']);
    const j = await json<VerifyReport>(['verify', '--json']);
    assert.equal(j.code, 1);
    const byRule = new Map(j.value.results.map((x) => [x.rule, x]));
    assert.deepEqual(byRule.get('web/0')!.extra, [{ path: 'theirs.txt', kind: 'file' }]);
    assert.equal(byRule.get('web/0')!.drift, false);
    assert.equal(byRule.get('web/0')!.extraIsDrift, false);
    assert.deepEqual(byRule.get('api/0')!.extra, [{ path: 'theirs.txt', kind: 'file' }]);
    assert.equal(byRule.get('api/0')!.drift, true);
    const web = await p.composync(['verify', 'web']);
    assert.equal(web.code, 0, web.stdout);
    assert.match(web.stdout, /extra {6}theirs\.txt \(only in the container; one-way-safe keeps/);
    await p.exec('api', ['rm', '/api/theirs.txt']);
    assert.equal((await p.composync(['verify', 'api'])).code, 0);
  });

  test('logs sync -f follows new events across a rotation of the log', async () => {
    const follower = p.spawn(['logs', 'sync', '-f', '--json']);
    const t0 = new Date().toISOString();
    const n = 30;
    try {
      for (let i = 0; i < n; i++) {
        await p.write(`api/rot-${i}.txt`, 'r');
        await waitFor(() => inContainer('api', `/api/rot-${i}.txt`), { what: `rot-${i}` });
      }
      const uploaded = () =>
        follower.stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as LogRecord)
          .filter((r) => r.ts >= t0 && r.event === 'sync' && r.service === 'api')
          .reduce((s, r) => s + (r.files ?? 0), 0);
      // at least one upload per file: a write can also be seen half-way (created empty, then
      // filled), which is a second, legitimate upload of the same file
      await waitFor(() => uploaded() >= n, {
        what: `${n} uploads followed`,
        detail: () => follower.output,
      });
      const lines = follower.stdout.split('\n').filter(Boolean);
      assert.equal(new Set(lines).size, lines.length, 'no line twice');
    } finally {
      await follower.stop();
    }
    const log = p.path('.composync/logs/sync.log');
    assert.ok((await stat(`${log}.1`)).size > 0, 'rotated');
    assert.ok((await stat(log)).size <= LOG_MAX);
    assert.ok((await stat(`${log}.1`)).size <= LOG_MAX);
  });

  test('logs SERVICE passes through to compose; an unknown service is exit 2', async () => {
    const r = await p.composync(['logs', 'web']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^web-1 {2}\| hello-from-web$/m);
    const bad = await p.composync(['logs', 'nosuch']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /no such service: nosuch/);
  });

  test('a container-side edit, then a local one: the conflict shows in status', async () => {
    await p.exec('web', ['sh', '-c', 'echo mine > /app/index.html']);
    await p.write('web/index.html', 'local edit');
    const rule = (await waitFor(
      async () => {
        const r = ruleOf(await status(), 'web/0');
        return r.conflicts.length ? r : null;
      },
      { what: 'conflict in status', timeoutMs: 10_000 },
    ))!;
    assert.equal(rule.conflicts[0]!.path, 'index.html');
    assert.equal(rule.conflicts[0]!.container, `${p.name}-web-1`);
    const human = await p.composync(['status']);
    assert.match(human.stdout, /^project \S+: live, watcher running \(pid \d+\)$/m);
    assert.match(human.stdout, /^ {4}conflict {2}\S+-web-1 {2}index\.html: /m);
  });

  test('after the watcher stops: status is last known, nothing watching', async () => {
    assert.equal(await w.stop('SIGINT'), 0, w.output);
    const s = await status();
    assert.equal(s.live, false);
    assert.equal(s.watcherPid, null);
    for (const r of s.rules) assert.equal(r.state, 'not watching', r.rule);
    assert.ok(ruleOf(s, 'api/0').files >= 32, 'counters kept');
    const file = JSON.parse(await readFile(p.path('.composync/status.json'), 'utf8')) as {
      watching: boolean;
      rules: { state: string }[];
    };
    assert.equal(file.watching, false);
    for (const r of file.rules) assert.equal(r.state, 'not watching');
    const human = await p.composync(['status']);
    assert.match(human.stdout, /not live, no watcher running; last known status/);
  });

  test('logs sync --since leaves out older events', async () => {
    const all = await logRecords();
    await waitFor(async () => Date.now() - Date.parse(all.at(-1)!.ts) > 1500, {
      what: 'time to pass',
      intervalMs: 100,
    });
    assert.deepEqual(await logRecords(['--since', '1s']), []);
    assert.equal((await logRecords(['--since', '1h'])).length, all.length);
    const bad = await p.composync(['logs', 'sync', '--since', 'yesterday']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid duration "yesterday"/);
  });
});

describe('up on a terminal', { timeout: 300_000 }, () => {
  let p: TestProject;
  const hasScript = async () => (await sh('script', ['--version'])).code === 0;

  before(async () => {
    p = await TestProject.create('tty', {
      'compose.yaml': compose.split('  api:')[0]!,
      'web/index.html': 'hello',
    });
  });
  after(async () => p?.cleanup());

  /** `composync up` under `script`, so stdout is a terminal (80 columns). */
  const onTerminal = async (args: string[], env: NodeJS.ProcessEnv) => {
    const base: NodeJS.ProcessEnv = {
      ...process.env,
      COMPOSE_PROJECT_NAME: p.name,
      TERM: 'xterm',
      ...env,
    };
    delete base.NO_COLOR;
    if (env.NO_COLOR) base.NO_COLOR = env.NO_COLOR;
    const cmd = `stty cols 80 rows 30; exec '${process.execPath}' '${cliPath}' ${args.join(' ')}`;
    return sh('script', ['-qefc', cmd, '/dev/null'], { cwd: p.dir, env: base });
  };

  test('a task list with per-service progress; colour unless NO_COLOR or --no-color', async (t) => {
    if (!(await hasScript())) return t.skip('script(1) is not installed');
    const r = await onTerminal(['up'], {});
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const tick = '✔(?:\x1b\\[\\d+m)? ';
    assert.match(r.stdout, new RegExp(`${tick}Started cst-tty-`));
    assert.match(
      r.stdout,
      new RegExp(`${tick}Initial sync done: 1 rule in 1 container, 1 file uploaded`),
    );
    assert.match(r.stdout, /web {7}1 file 5 B/);
    assert.ok(r.stdout.includes(`${ESC}[?25l`), 'the live list hides the cursor while it runs');
    assert.match(r.stdout, COLOUR, 'colour on a terminal');
    for (const env of [{ NO_COLOR: '1' }, {}]) {
      const args = 'NO_COLOR' in env ? ['up'] : ['--no-color', 'up'];
      const plain = await onTerminal(args, env);
      assert.equal(plain.code, 0, plain.stdout);
      assert.match(plain.stdout, /Initial sync done/);
      assert.doesNotMatch(plain.stdout, COLOUR, `no colour with ${args.join(' ')}`);
    }
  });
});

describe('the CI recipe (examples/ci)', { timeout: 300_000 }, () => {
  test('ci.sh brings the stack up, syncs, verifies, smoke-tests and tears down', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'composync-ci-'));
    const project = `cst-ci-${process.pid}`;
    try {
      await cp(join(repoRoot, 'examples', 'ci'), dir, {
        recursive: true,
        filter: (src) => !/(^|\/)(artifacts|\.composync)(\/|$)/.test(src.slice(repoRoot.length)),
      });
      const r = await sh('bash', [join(dir, 'ci.sh')], {
        cwd: dir,
        env: {
          ...process.env,
          NO_COLOR: '1',
          COMPOSYNC: `${process.execPath} ${cliPath}`,
          COMPOSE_PROJECT_NAME: project,
          ARTIFACTS: join(dir, 'out'),
        },
        timeoutMs: 240_000,
      });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /ci: smoke test passed/);
      const verify = JSON.parse(await readFile(join(dir, 'out', 'verify.json'), 'utf8')) as {
        drift: boolean;
        results: { rule: string }[];
      };
      assert.equal(verify.drift, false);
      assert.deepEqual(verify.results.map((x) => x.rule).sort(), ['web/0', 'worker/0']);
      const st = JSON.parse(await readFile(join(dir, 'out', 'status.json'), 'utf8')) as {
        live: boolean;
      };
      assert.equal(st.live, false);
      const left = await docker([
        'ps',
        '-aq',
        '--filter',
        `label=com.docker.compose.project=${project}`,
      ]);
      assert.equal(left.trim(), '', 'the stack is down');
    } finally {
      await sh('docker', ['compose', '-p', project, 'down', '-v', '-t', '0'], { cwd: dir });
      await rm(dir, { recursive: true, force: true });
    }
  });
});
