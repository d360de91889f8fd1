/**
 * Reverse and two-way sync against the real engine: container-side changes reaching the local
 * tree in every mode that allows it, conflicts, push and pull, every initial-sync strategy, and
 * names that differ only in case (the safety model is test/safety.test.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliProcess, sh, TestProject } from './helpers.js';

const service = (name: string, image: string, rule: string) => `  ${name}:
    image: ${image}
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    x-sync:
${rule}
`;

/** Every path below a local directory, sorted, with file contents. */
async function localTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string) => {
    for (const d of await readdir(join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) await walk(r);
      else out[r] = await readFile(join(dir, r), 'utf8');
    }
  };
  await walk('');
  return out;
}

/** Every file below a container directory with its content. */
async function remoteTree(p: TestProject, svc: string, dir: string) {
  const list = await p.exec(svc, ['find', dir, '-type', 'f']);
  const out: Record<string, string> = {};
  for (const f of (list ?? '').split('\n').filter(Boolean).sort()) {
    out[f.slice(dir.length + 1)] = (await p.readRemote(svc, f)) ?? '';
  }
  return out;
}

describe('container-side changes reach the local tree while watching', { timeout: 600_000 }, () => {
  const modes = ['one-way-reverse', 'one-way-replica-reverse', 'two-way-safe', 'two-way-resolved'];
  const svcName = (m: string) => m.replace(/-/g, '');
  let p: TestProject;
  let w: CliProcess;

  before(async () => {
    const files: Record<string, string> = {
      'compose.yaml':
        'services:\n' +
        modes
          .map((m) =>
            service(
              svcName(m),
              'composync/busybox',
              `      - source: ./${m}\n        target: /t\n        mode: ${m}`,
            ),
          )
          .join('') +
        service('oneway', 'composync/busybox', '      - source: ./oneway\n        target: /t') +
        service(
          'bare',
          'composync/scratch-app',
          '      - source: ./bare\n        target: /app/t\n        mode: two-way',
        ).replace("    command: ['sleep', '2147483647']\n", ''),
      'oneway/keep.txt': 'local',
      'bare/.keep': '',
    };
    for (const m of modes) files[`${m}/.keep`] = '';
    p = await TestProject.create('twoway', files);
    // the reverse modes start from the container: give them a file to pull at start
    w = p.spawn(['up', '--watch', '--no-logs']);
    await w.waitForOutput(/watching \d+ rules/, 180_000);
  });

  after(async () => {
    await w?.stop();
    await p?.cleanup();
  });

  for (const m of modes) {
    test(`${m}: a file written in the container appears locally, a deletion propagates`, async () => {
      const s = svcName(m);
      await p.exec(s, ['sh', '-c', 'mkdir -p /t/gen && echo generated > /t/gen/out.txt']);
      await w.eventually(
        'appears locally',
        async () =>
          (await readFile(p.path(`${m}/gen/out.txt`), 'utf8').catch(() => '')) === 'generated\n',
      );
      await p.exec(s, ['rm', '-rf', '/t/gen']);
      await w.eventually('deleted locally', () => !existsSync(p.path(`${m}/gen`)));
    });
  }

  test('one-way-safe: a container deletion does not reach the local tree', async () => {
    await p.exec('oneway', ['rm', '/t/keep.txt']);
    await p.write('oneway/marker.txt', 'm'); // a later batch of this service has run
    await w.eventually(
      'marker',
      async () => (await p.readRemote('oneway', '/t/marker.txt')) === 'm',
    );
    assert.equal(await readFile(p.path('oneway/keep.txt'), 'utf8'), 'local');
  });

  test('two-way: local edits still go up while container changes come down', async () => {
    await p.write('two-way-safe/up.txt', 'up');
    await w.eventually(
      'uploaded',
      async () => (await p.readRemote('twowaysafe', '/t/up.txt')) === 'up',
    );
  });

  test('an image without shell or find: container changes are found by polling the archive endpoint', async () => {
    const id = await p.container('bare');
    const tmp = p.path('cp-in.txt');
    await writeFile(tmp, 'copied in');
    const r = await sh('docker', ['cp', tmp, `${id}:/app/t/cp-in.txt`]);
    assert.equal(r.code, 0, r.stderr);
    await w.eventually(
      'polled',
      async () =>
        (await readFile(p.path('bare/cp-in.txt'), 'utf8').catch(() => '')) === 'copied in',
    );
  });
});

describe('conflicts, push and pull', { timeout: 300_000 }, () => {
  let p: TestProject;
  before(async () => {
    p = await TestProject.create('conflict', {
      'compose.yaml':
        'services:\n' +
        service(
          'safe',
          'composync/busybox',
          '      - source: ./safe\n        target: /t\n        mode: two-way-safe',
        ) +
        service(
          'resolved',
          'composync/busybox',
          '      - source: ./resolved\n        target: /t\n        mode: two-way-resolved',
        ) +
        service(
          'pp',
          'composync/busybox',
          '      - source: ./pp\n        target: /t\n        mode: two-way',
        ),
      'safe/f.txt': 'base',
      'resolved/f.txt': 'base',
      'pp/f.txt': 'base',
      'pp/g.txt': 'g-base',
    });
    const up = await p.composync(['up']);
    assert.equal(up.code, 0, up.stdout + up.stderr);
  });
  after(async () => p?.cleanup());

  test('two-way-safe: the same file edited on both sides is a conflict, both versions kept', async () => {
    await p.exec('safe', ['sh', '-c', 'echo container > /t/f.txt']);
    await p.write('safe/f.txt', 'local');
    const r = await p.composync(['sync', 'safe']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /conflict: f\.txt/);
    assert.equal(await readFile(p.path('safe/f.txt'), 'utf8'), 'local');
    assert.equal(await p.readRemote('safe', '/t/f.txt'), 'container\n');
    const status = JSON.parse((await p.composync(['status', '--json'])).stdout) as {
      rules: { service: string; conflicts: { path: string }[] }[];
    };
    const rule = status.rules.find((r) => r.service === 'safe');
    assert.deepEqual(
      rule?.conflicts.map((c) => c.path),
      ['f.txt'],
    );
  });

  test('two-way-safe: a later change that makes both sides equal resolves the conflict', async () => {
    await p.write('safe/f.txt', 'container\n');
    const r = await p.composync(['sync', 'safe']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  test('two-way-resolved: local wins, deletions included', async () => {
    await p.exec('resolved', ['sh', '-c', 'echo container > /t/f.txt; echo c > /t/gone.txt']);
    await p.write('resolved/f.txt', 'local');
    let r = await p.composync(['sync', 'resolved']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(await p.readRemote('resolved', '/t/f.txt'), 'local');
    // gone.txt came down (container-only); now delete it locally while the container edits it
    assert.equal(await readFile(p.path('resolved/gone.txt'), 'utf8'), 'c\n');
    await rm(p.path('resolved/gone.txt'));
    await p.exec('resolved', ['sh', '-c', 'echo edited > /t/gone.txt']);
    r = await p.composync(['sync', 'resolved']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(await p.readRemote('resolved', '/t/gone.txt'), null);
  });

  test('push after a container edit reports the conflict and leaves both versions', async () => {
    await p.exec('pp', ['sh', '-c', 'echo container > /t/f.txt; echo g-container > /t/g.txt']);
    await p.write('pp/f.txt', 'local');
    await p.write('pp/h.txt', 'new local');
    const r = await p.composync(['push', 'pp']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /conflict: f\.txt/);
    assert.equal(await readFile(p.path('pp/f.txt'), 'utf8'), 'local');
    assert.equal(await p.readRemote('pp', '/t/f.txt'), 'container\n');
    // the container-only change was pulled first, the local-only change pushed
    assert.equal(await readFile(p.path('pp/g.txt'), 'utf8'), 'g-container\n');
    assert.equal(await p.readRemote('pp', '/t/h.txt'), 'new local');
  });

  test('pull --raw overwrites local files with the container files', async () => {
    const r = await p.composync(['pull', '--raw', 'pp']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(await readFile(p.path('pp/f.txt'), 'utf8'), 'container\n');
  });

  test('push --raw overwrites the container with every local file', async () => {
    await p.write('pp/f.txt', 'raw local');
    await p.exec('pp', ['sh', '-c', 'echo other > /t/f.txt']);
    const r = await p.composync(['push', '--raw', 'pp']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(await p.readRemote('pp', '/t/f.txt'), 'raw local');
  });
});

describe(
  'initial sync strategies on a prepared divergent pair of trees',
  { timeout: 300_000 },
  () => {
    const strategies = [
      'mirrorLocal',
      'preferLocal',
      'preferRemote',
      'preferNewest',
      'mirrorRemote',
      'keepAll',
      'disabled',
    ] as const;
    const svc = (s: string) => s.toLowerCase();
    let p: TestProject;

    before(async () => {
      const files: Record<string, string> = {
        'compose.yaml':
          'services:\n' +
          strategies
            .map((s) =>
              service(
                svc(s),
                'composync/busybox',
                `      - source: ./${s}\n        target: /t\n        mode: two-way\n        initialSync: ${s}`,
              ),
            )
            .join(''),
      };
      for (const s of strategies) {
        files[`${s}/both.txt`] = 'L';
        files[`${s}/lonly.txt`] = 'lonly';
      }
      p = await TestProject.create('strategies', files);
      for (const s of strategies) {
        // local both.txt is older than the container's, for preferNewest
        const old = new Date('2020-01-01T00:00:00Z');
        await utimes(p.path(`${s}/both.txt`), old, old);
      }
      const up = await p.compose(['up', '-d']);
      assert.equal(up.code, 0, up.stderr);
      for (const s of strategies) {
        await p.exec(svc(s), [
          'sh',
          '-c',
          'mkdir -p /t && printf R > /t/both.txt && printf ronly > /t/ronly.txt',
        ]);
      }
    });
    after(async () => p?.cleanup());

    const L = 'L';
    const R = 'R';
    // [strategy, expected exit, expected local tree, expected container tree]
    const cases: [string, number, Record<string, string>, Record<string, string>][] = [
      [
        'mirrorLocal',
        0,
        { 'both.txt': L, 'lonly.txt': 'lonly' },
        { 'both.txt': L, 'lonly.txt': 'lonly' },
      ],
      [
        'preferLocal',
        0,
        { 'both.txt': L, 'lonly.txt': 'lonly', 'ronly.txt': 'ronly' },
        { 'both.txt': L, 'lonly.txt': 'lonly', 'ronly.txt': 'ronly' },
      ],
      [
        'preferRemote',
        0,
        { 'both.txt': R, 'lonly.txt': 'lonly', 'ronly.txt': 'ronly' },
        { 'both.txt': R, 'lonly.txt': 'lonly', 'ronly.txt': 'ronly' },
      ],
      [
        'preferNewest',
        0,
        { 'both.txt': R, 'lonly.txt': 'lonly', 'ronly.txt': 'ronly' },
        { 'both.txt': R, 'lonly.txt': 'lonly', 'ronly.txt': 'ronly' },
      ],
      [
        'mirrorRemote',
        0,
        { 'both.txt': R, 'ronly.txt': 'ronly' },
        { 'both.txt': R, 'ronly.txt': 'ronly' },
      ],
      [
        'keepAll',
        1,
        { 'both.txt': L, 'lonly.txt': 'lonly', 'ronly.txt': 'ronly' },
        { 'both.txt': R, 'lonly.txt': 'lonly', 'ronly.txt': 'ronly' },
      ],
      [
        'disabled',
        0,
        { 'both.txt': L, 'lonly.txt': 'lonly' },
        { 'both.txt': R, 'ronly.txt': 'ronly' },
      ],
    ];
    for (const [strategy, code, local, remote] of cases) {
      test(`${strategy}`, async () => {
        const r = await p.composync(['sync', svc(strategy)]);
        assert.equal(r.code, code, r.stdout + r.stderr);
        assert.deepEqual(await localTree(p.path(strategy)), local);
        assert.deepEqual(await remoteTree(p, svc(strategy), '/t'), remote);
      });
    }
  },
);

describe('safety', { timeout: 300_000 }, () => {
  let p: TestProject;
  before(async () => {
    const files: Record<string, string> = {
      'compose.yaml':
        'services:\n' +
        service('case', 'composync/busybox', '      - source: ./c\n        target: /t'),
      'c/Readme.md': 'one',
      'c/README.md': 'two',
    };
    p = await TestProject.create('safety', files);
    await p.composync(['up']);
  });
  after(async () => p?.cleanup());

  test('two local paths that differ only in case are reported, never merged', async () => {
    const r = await p.composync(['sync', 'case']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /differs only in case/);
    assert.equal(await p.readRemote('case', '/t/Readme.md'), 'one');
    assert.equal(await p.readRemote('case', '/t/README.md'), 'two');
  });
});
