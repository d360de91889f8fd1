/**
 * The safety model against the real engine (SPEC §3 "Safety", issue: a mirror never silently
 * stops mirroring): deletions the user made go through whatever their share of the tree (a
 * branch switch, `rm -rf` of a directory); a rule halts, deletes nothing and says so only when
 * one side's root is missing, emptied or recreated empty while the other side and the recorded
 * state hold content; a scan-based plan holds back deletions of paths no sync ever recorded.
 * Everything runs with the default configuration.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliProcess, sh, TestProject, waitFor } from './helpers.js';

const service = (name: string, rule: string, extra = '') => `  ${name}:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
${extra}    x-sync:
${rule}
`;

/** Every file below a local directory with its content (names sorted). */
async function localFiles(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string) => {
    for (const d of await readdir(join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) {
        if (d.name !== '.git') await walk(r);
      } else out[r] = await readFile(join(dir, r), 'utf8');
    }
  };
  if (existsSync(dir)) await walk('');
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Every file below a container directory with its content, in one exec. */
async function remoteFiles(p: TestProject, svc: string, dir: string) {
  const script = `cd ${dir} 2>/dev/null || exit 0; find . -type f | sort | while read -r f; do printf '%s\\0' "\${f#./}"; cat "$f"; printf '\\0'; done`;
  const raw = (await p.exec(svc, ['sh', '-c', script])) ?? '';
  const parts = raw.split('\0');
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < parts.length; i += 2) out[parts[i]!] = parts[i + 1]!;
  return out;
}

interface HaltView {
  container: string;
  side: string;
  reason: string;
  command: string;
}

/** The rule's halts in `status --json` (empty: not halted). */
async function halts(p: TestProject, rule: string): Promise<HaltView[]> {
  const r = await p.composync(['status', '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const report = JSON.parse(r.stdout) as {
    rules: { rule: string; state: string; halted: HaltView[] }[];
  };
  const x = report.rules.find((e) => e.rule === rule);
  assert.ok(x, `rule ${rule} in status`);
  if (x.halted.length) assert.equal(x.state, 'halted');
  return x.halted;
}

/** When the watcher last wrote its status (after every batch it handles). */
async function updatedAt(p: TestProject): Promise<string> {
  const s = JSON.parse(await readFile(p.path('.composync/status.json'), 'utf8')) as {
    updatedAt: string;
  };
  return s.updatedAt;
}

/** Wait until the rule is halted in status --json; its first halt. */
async function haltOf(p: TestProject, rule: string): Promise<HaltView> {
  const x = await waitFor(async () => (await halts(p, rule))[0], {
    timeoutMs: 60_000,
    what: `${rule} halted in status --json`,
  });
  return x!;
}

const files = (n: number, prefix: string, dirs = 3) =>
  Object.fromEntries(
    Array.from({ length: n }, (_, i) => [`d${i % dirs}/${prefix}${i}.txt`, `${prefix} ${i}\n`]),
  );

describe('roots that vanish or come back empty halt the rule', { timeout: 600_000 }, () => {
  let p: TestProject;
  let w: CliProcess;

  before(async () => {
    const tree: Record<string, string> = {
      'compose.yaml':
        'services:\n' +
        service('replica', '      - { source: ./rep, target: /t, mode: one-way-replica }') +
        service(
          'twoway',
          '      - { source: ./two, target: /t, mode: two-way-safe }',
          "    tmpfs: ['/t']\n",
        ) +
        service(
          'reverse',
          '      - { source: ./rev, target: /t, mode: one-way-replica-reverse }',
          "    volumes: ['/t']\n",
        ) +
        service('owned', '      - { source: ./own, target: /t, mode: two-way-safe }') +
        service(
          'recreated',
          '      - { source: ./rec, target: /t, mode: two-way-safe }',
          "    volumes: ['/t']\n",
        ),
    };
    for (const [k, v] of Object.entries(files(30, 'r'))) tree[`rep/${k}`] = v;
    for (const [k, v] of Object.entries(files(20, 't'))) tree[`two/${k}`] = v;
    for (const [k, v] of Object.entries(files(20, 'c'))) tree[`rec/${k}`] = v;
    for (const [k, v] of Object.entries(files(12, 'o'))) tree[`own/${k}`] = v;
    p = await TestProject.create('safety-roots', tree);
    await mkdir(p.path('rev'), { recursive: true });
    w = p.spawn(['up', '--watch', '--no-logs']);
    await w.waitForOutput(/watching \d+ rules/, 180_000);
    // the reverse rule's content comes from the container
    const script =
      'mkdir -p /t/a /t/b && for i in $(seq 1 20); do echo v$i > /t/a/f$i; echo w$i > /t/b/g$i; done';
    assert.notEqual(await p.exec('reverse', ['sh', '-c', script]), null);
    await waitFor(async () => Object.keys(await localFiles(p.path('rev'))).length === 40, {
      timeoutMs: 60_000,
      what: 'the reverse rule downloaded 40 files',
    });
    for (const [svc, dir] of [
      ['replica', 'rep'],
      ['twoway', 'two'],
      ['recreated', 'rec'],
      ['owned', 'own'],
    ] as const)
      assert.deepEqual(await remoteFiles(p, svc, '/t'), await localFiles(p.path(dir)), svc);
  });

  after(async () => {
    await w?.stop();
    await p?.cleanup();
  });

  test('a local source renamed away: nothing is deleted in the container, status shows the halt; renamed back, it syncs again', async () => {
    const before = await remoteFiles(p, 'replica', '/t');
    await rename(p.path('rep'), p.path('rep.away'));
    const h = await haltOf(p, 'replica/0');
    assert.equal(h.side, 'container');
    assert.match(h.reason, /local source \.\/rep is missing/);
    assert.equal(h.command, 'composync sync --force replica');
    assert.match(w.output, /halted/);
    assert.deepEqual(await remoteFiles(p, 'replica', '/t'), before);
    // edits made while it is away arrive once it is back
    await writeFile(p.path('rep.away/d0/r0.txt'), 'edited while away\n');
    await rm(p.path('rep.away/d1/r1.txt'));

    await rename(p.path('rep.away'), p.path('rep'));
    await waitFor(
      async () =>
        JSON.stringify(await remoteFiles(p, 'replica', '/t')) ===
        JSON.stringify(await localFiles(p.path('rep'))),
      { timeoutMs: 60_000, what: 'the container equal to the source again' },
    );
    assert.equal(await p.readRemote('replica', '/t/d0/r0.txt'), 'edited while away\n');
    assert.equal(await p.readRemote('replica', '/t/d1/r1.txt'), null);
    assert.deepEqual(await halts(p, 'replica/0'), []);
  });

  test('a two-way-safe target emptied by a restart (tmpfs): no local file is deleted, the rule halts', async () => {
    const local = await localFiles(p.path('two'));
    await sh('docker', ['restart', '-t', '0', await p.container('twoway')]);
    const h = await haltOf(p, 'twoway/0');
    assert.equal(h.side, 'local');
    assert.match(h.reason, /target \/t in .* is empty/);
    assert.deepEqual(await localFiles(p.path('two')), local);
    // a local edit meanwhile is a batch the halted rule turns down: it deletes nothing
    const seen = await updatedAt(p);
    await writeFile(p.path('two/d0/t0.txt'), 'edited during the halt\n');
    await waitFor(async () => (await updatedAt(p)) !== seen, {
      timeoutMs: 30_000,
      what: 'the watcher handled the edit',
    });
    assert.equal(Object.keys(await localFiles(p.path('two'))).length, 20);
    assert.deepEqual(await remoteFiles(p, 'twoway', '/t'), {});
    assert.equal((await halts(p, 'twoway/0')).length, 1);
  });

  test('a one-way-replica-reverse container recreated with an empty volume: no local file is deleted', async () => {
    const local = await localFiles(p.path('rev'));
    const r = await p.compose(['up', '-d', '--force-recreate', '--renew-anon-volumes', 'reverse']);
    assert.equal(r.code, 0, r.stderr);
    const h = await haltOf(p, 'reverse/0');
    assert.equal(h.side, 'local');
    assert.match(h.reason, /is empty/);
    assert.deepEqual(await localFiles(p.path('rev')), local);
  });

  test('a two-way-safe container recreated with an empty volume: no local file is deleted, the files go back in', async () => {
    const local = await localFiles(p.path('rec'));
    const r = await p.compose([
      'up',
      '-d',
      '--force-recreate',
      '--renew-anon-volumes',
      'recreated',
    ]);
    assert.equal(r.code, 0, r.stderr);
    await waitFor(
      async () => JSON.stringify(await remoteFiles(p, 'recreated', '/t')) === JSON.stringify(local),
      { timeoutMs: 60_000, what: 'the local files back in the new container' },
    );
    assert.deepEqual(await localFiles(p.path('rec')), local);
    assert.deepEqual(await halts(p, 'recreated/0'), []);
  });

  test('a two-way-safe target emptied in the container while watching: no local file is deleted', async () => {
    const local = await localFiles(p.path('own'));
    assert.notEqual(await p.exec('owned', ['sh', '-c', 'rm -rf /t/*']), null);
    const h = await haltOf(p, 'owned/0');
    assert.equal(h.side, 'local');
    assert.deepEqual(await localFiles(p.path('own')), local);
  });

  test('a halted replica: `composync sync --force SERVICE` resumes it in the watcher', async () => {
    await rename(p.path('rep'), p.path('rep.gone'));
    await haltOf(p, 'replica/0');
    assert.equal(Object.keys(await remoteFiles(p, 'replica', '/t')).length, 29);
    const r = await p.composync(['sync', '--force', 'replica']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /watcher .* resumes/);
    assert.deepEqual(await remoteFiles(p, 'replica', '/t'), {});
    assert.deepEqual(await halts(p, 'replica/0'), []);
    // and it mirrors again once the source is back
    await p.write('rep/new.txt', 'after the resume\n');
    await waitFor(
      async () => (await p.readRemote('replica', '/t/new.txt')) === 'after the resume\n',
      {
        timeoutMs: 30_000,
        what: 'a new file after the resume',
      },
    );
  });
});

describe('deletions the user made go through, whatever their share', { timeout: 600_000 }, () => {
  let p: TestProject;
  let w: CliProcess;
  const git = (args: string[]) =>
    sh('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], {
      cwd: p.path('repo'),
    });

  before(async () => {
    p = await TestProject.create('safety-branch', {
      'compose.yaml':
        'services:\n' +
        service('replica', '      - { source: ./repo, target: /t, mode: one-way-replica }') +
        service('safe', '      - { source: ./repo, target: /t }'),
    });
    // two branches of 100 files that differ in 70 of them: 30 kept, 35 changed, 35 replaced
    await mkdir(p.path('repo'), { recursive: true });
    assert.equal((await git(['init', '-q', '-b', 'main'])).code, 0);
    for (let i = 0; i < 100; i++) await p.write(`repo/src/m${i % 7}/f${i}.txt`, `main ${i}\n`);
    await git(['add', '-A']);
    assert.equal((await git(['commit', '-qm', 'main'])).code, 0);
    assert.equal((await git(['checkout', '-qb', 'feature'])).code, 0);
    for (let i = 30; i < 65; i++) await p.write(`repo/src/m${i % 7}/f${i}.txt`, `feature ${i}\n`);
    for (let i = 65; i < 100; i++) await rm(p.path(`repo/src/m${i % 7}/f${i}.txt`));
    for (let i = 0; i < 35; i++) await p.write(`repo/lib/n${i % 5}/g${i}.txt`, `new ${i}\n`);
    await git(['add', '-A']);
    assert.equal((await git(['commit', '-qm', 'feature'])).code, 0);
    assert.equal((await git(['checkout', '-q', 'main'])).code, 0);
    w = p.spawn(['up', '--watch', '--no-logs']);
    await w.waitForOutput(/watching \d+ rules/, 180_000);
  });

  after(async () => {
    await w?.stop();
    await p?.cleanup();
  });

  const equalToCheckout = async (svc: string) => {
    await waitFor(
      async () =>
        JSON.stringify(await remoteFiles(p, svc, '/t')) ===
        JSON.stringify(await localFiles(p.path('repo'))),
      {
        timeoutMs: 60_000,
        what: `${svc}: the container equal to the checkout`,
        detail: () => w.output.slice(-3000),
      },
    );
  };

  test('`git checkout` of a branch differing in 70% of the files, and back, while watching', async () => {
    for (const svc of ['replica', 'safe']) await equalToCheckout(svc);
    assert.equal((await git(['checkout', '-q', 'feature'])).code, 0);
    for (const svc of ['replica', 'safe']) await equalToCheckout(svc);
    assert.equal(Object.keys(await remoteFiles(p, 'replica', '/t')).length, 100);
    assert.equal((await git(['checkout', '-q', 'main'])).code, 0);
    for (const svc of ['replica', 'safe']) await equalToCheckout(svc);
    for (const rule of ['replica/0', 'safe/0']) assert.deepEqual(await halts(p, rule), []);
    assert.doesNotMatch(w.output, /halted|deleteGuard/);
  });

  test('`rm -rf` of most of the tree while watching goes through, and of all of it', async () => {
    // six of the seven directories: 86 of 100 files
    for (let d = 0; d < 6; d++) await rm(p.path(`repo/src/m${d}`), { recursive: true });
    for (const svc of ['replica', 'safe']) await equalToCheckout(svc);
    // everything but .git: a root the watcher saw being emptied is the user's doing
    await rm(p.path('repo/src'), { recursive: true });
    for (const svc of ['replica', 'safe']) await equalToCheckout(svc);
    assert.deepEqual(await remoteFiles(p, 'replica', '/t'), {});
    assert.doesNotMatch(w.output, /halted/);
  });
});

describe('a scan that would delete what no sync recorded', { timeout: 300_000 }, () => {
  let p: TestProject;
  before(async () => {
    p = await TestProject.create('safety-guard', {
      'compose.yaml':
        'services:\n' +
        service('mirror', '      - { source: ./m, target: /t, mode: one-way-replica }') +
        service('known', '      - { source: ./k, target: /t, mode: one-way-replica }'),
      'm/app.txt': 'app\n',
      ...Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k/f${i}.txt`, `${i}`])),
    });
    // the containers hold files before any sync: an image's own content, say
    const r = await p.compose(['up', '-d']);
    assert.equal(r.code, 0, r.stderr);
    const made = await p.exec('mirror', [
      'sh',
      '-c',
      'mkdir -p /t/img && for i in $(seq 1 40); do echo $i > /t/img/x$i; done',
    ]);
    assert.notEqual(made, null);
  });
  after(async () => p?.cleanup());

  test('is held back and halts; the message names the command; `sync --force` applies it', async () => {
    const r = await p.composync(['sync', 'mirror']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /no earlier sync recorded/);
    assert.match(r.stdout + r.stderr, /composync sync --force mirror/);
    assert.equal(await p.readRemote('mirror', '/t/img/x1'), '1\n');
    assert.equal(await p.readRemote('mirror', '/t/app.txt'), 'app\n');
    const [h] = await halts(p, 'mirror/0');
    assert.equal(h?.side, 'container');
    const forced = await p.composync(['sync', '--force', 'mirror']);
    assert.equal(forced.code, 0, forced.stdout + forced.stderr);
    assert.equal(await p.readRemote('mirror', '/t/img/x1'), null);
    assert.deepEqual(await halts(p, 'mirror/0'), []);
  });

  test('deleting 15 of 20 synced files locally is the user’s own: `sync` applies it', async () => {
    const first = await p.composync(['sync', 'known']);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    for (let i = 0; i < 15; i++) await rm(p.path(`k/f${i}.txt`));
    const r = await p.composync(['sync', 'known']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(await p.readRemote('known', '/t/f0.txt'), null);
    assert.equal(await p.readRemote('known', '/t/f19.txt'), '19');
  });
});

describe('a single-file rule', { timeout: 300_000 }, () => {
  let p: TestProject;
  before(async () => {
    p = await TestProject.create('safety-file', {
      'compose.yaml':
        'services:\n' +
        service('one', '      - { source: ./conf/app.json, target: /etc/app.json }'),
      'conf/app.json': '{"v":1}\n',
    });
    const r = await p.composync(['up']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(async () => p?.cleanup());

  test('a sync with nothing changed uploads nothing; a container edit is a conflict, never overwritten', async () => {
    assert.equal(await p.readRemote('one', '/etc/app.json'), '{"v":1}\n');
    const again = await p.composync(['sync', 'one']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /\b0 files uploaded/);
    assert.notEqual(
      await p.exec('one', ['sh', '-c', 'printf \'{"v":"container"}\\n\' > /etc/app.json']),
      null,
    );
    await p.write('conf/app.json', '{"v":2}\n');
    const r = await p.composync(['sync', 'one']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /conflict/);
    assert.equal(await p.readRemote('one', '/etc/app.json'), '{"v":"container"}\n');
  });
});
