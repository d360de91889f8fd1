/**
 * One-way sync against the real engine: `composync up --watch` on compose.test.yaml, then
 * edits on disk checked inside the containers (busybox tar, GNU tar, an image without tar,
 * a scaled service).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliProcess, repoRoot, sh, TestProject } from './helpers.js';

const composeFile = () => readFile(join(repoRoot, 'compose.test.yaml'), 'utf8');

/** Read a container file through `docker cp` (works on images without cat). */
async function readViaCp(p: TestProject, service: string, path: string, index = 1) {
  const id = await p.container(service, index);
  const r = await sh('sh', ['-c', `docker cp "${id}:${path}" - | tar -xO`]);
  return r.code === 0 ? r.stdout : null;
}

async function exists(p: TestProject, service: string, path: string, index = 1) {
  return (await p.exec(service, ['test', '-e', path], index)) !== null;
}

describe('one-way sync into running containers', { timeout: 600_000 }, () => {
  let p: TestProject;
  let w: CliProcess;

  before(async () => {
    p = await TestProject.create('sync', {
      'compose.yaml': await composeFile(),
      'src-web/index.html': 'hello',
      'src-web/app.log': 'excluded by the top-level *.log',
      'src-web/tmp/scratch': 'excluded by the rule',
      'src-web/.syncignore': 'secret/\n*.bak\n!keep.bak\n',
      'src-web/secret/key': 'never synced',
      'src-web/drop.bak': 'ignored by .syncignore',
      'src-web/keep.bak': 're-included by .syncignore',
      'src-web/ünï cødé/spaced name.txt': 'non-ascii',
      'src-deb/a.txt': 'a',
      'src-bare/b.txt': 'b',
      'src-rep/r.txt': 'r',
      'src-own/sub/o.txt': 'owned',
      'src-glob/a/one.txt': 'glob',
      'src-glob/a/skip.md': 'not a .txt',
    });
    await symlink('index.html', p.path('src-web/link.html'));
    await symlink('/etc/passwd', p.path('src-web/escape'));
    w = p.spawn(['up', '--watch', '--no-logs']);
    await w.waitForOutput(/watching \d+ rules/, 180_000);
  });

  after(async () => {
    await w?.stop();
    await p?.cleanup();
  });

  const web = (rel: string) => `/srv/app/${rel}`;

  test('initial sync lands every source, relative target joins the WORKDIR', async () => {
    assert.equal(await p.readRemote('web', web('index.html')), 'hello');
    assert.equal(await p.readRemote('deb', '/data/a.txt'), 'a');
    assert.equal(await readViaCp(p, 'bare', '/app/files/b.txt'), 'b');
    assert.equal(await p.readRemote('rep', '/rep/r.txt', 1), 'r');
    assert.equal(await p.readRemote('rep', '/rep/r.txt', 2), 'r');
  });

  test('excludes: top level, rule, .syncignore with a ! re-include, built-ins', async () => {
    assert.equal(await exists(p, 'web', web('app.log')), false);
    assert.equal(await exists(p, 'web', web('tmp/scratch')), false);
    assert.equal(await exists(p, 'web', web('secret/key')), false);
    assert.equal(await exists(p, 'web', web('drop.bak')), false);
    assert.equal(await p.readRemote('web', web('keep.bak')), 're-included by .syncignore');
  });

  test('owner, group, fileMode and dirMode; default owner is the container user', async () => {
    assert.equal(
      await p.exec('web', ['stat', '-c', '%u:%g %a', '/own/sub/o.txt']),
      '1000:1000 600\n',
    );
    assert.equal(await p.exec('web', ['stat', '-c', '%u:%g %a', '/own/sub']), '1000:1000 700\n');
    assert.equal(await p.exec('rep', ['stat', '-c', '%u:%g', '/rep/r.txt']), '1000:1000\n');
    await p.write('src-own/sub/new.txt', 'n');
    await w.eventually(
      'owned new file',
      async () =>
        (await p.exec('web', ['stat', '-c', '%u:%g %a', '/own/sub/new.txt'])) === '1000:1000 600\n',
    );
  });

  test('a glob source with strip', async () => {
    assert.equal(await p.readRemote('web', '/globbed/a/one.txt'), 'glob');
    assert.equal(await exists(p, 'web', '/globbed/a/skip.md'), false);
    await p.write('src-glob/b/two.txt', 'two');
    await p.write('src-glob/b/no.md', 'no');
    await w.eventually(
      'glob add',
      async () => (await p.readRemote('web', '/globbed/b/two.txt')) === 'two',
    );
    assert.equal(await exists(p, 'web', '/globbed/b/no.md'), false);
  });

  test('symlinks are kept as links and never followed out of the source', async () => {
    assert.equal(await p.exec('web', ['readlink', web('link.html')]), 'index.html\n');
    assert.equal(await p.exec('web', ['readlink', web('escape')]), '/etc/passwd\n');
    await symlink('new.txt', p.path('src-web/later-link'));
    await w.eventually(
      'new link',
      async () => (await p.exec('web', ['readlink', web('later-link')])) === 'new.txt\n',
    );
  });

  test('a file name with spaces and non-ASCII characters', async () => {
    assert.equal(await p.readRemote('web', web('ünï cødé/spaced name.txt')), 'non-ascii');
    await p.write('src-web/ünï cødé/ânother ✓.txt', 'more');
    await w.eventually(
      'non-ascii file',
      async () => (await p.readRemote('web', web('ünï cødé/ânother ✓.txt'))) === 'more',
    );
  });

  test('create, modify and delete a file', async () => {
    await p.write('src-web/new.txt', 'one');
    await w.eventually(
      'created',
      async () => (await p.readRemote('web', web('new.txt'))) === 'one',
    );
    await p.write('src-web/new.txt', 'two');
    await w.eventually(
      'modified',
      async () => (await p.readRemote('web', web('new.txt'))) === 'two',
    );
    await rm(p.path('src-web/new.txt'));
    await w.eventually('deleted', async () => !(await exists(p, 'web', web('new.txt'))));
  });

  test('create and delete a directory with contents', async () => {
    await mkdir(p.path('src-web/d1/d2/d3'), { recursive: true });
    await writeFile(p.path('src-web/d1/d2/d3/deep.txt'), 'deep');
    await writeFile(p.path('src-web/d1/top.txt'), 'top');
    await w.eventually(
      'nested dir',
      async () =>
        (await p.readRemote('web', web('d1/d2/d3/deep.txt'))) === 'deep' &&
        (await p.readRemote('web', web('d1/top.txt'))) === 'top',
    );
    await rm(p.path('src-web/d1'), { recursive: true });
    await w.eventually('dir deleted', async () => !(await exists(p, 'web', web('d1'))));
  });

  test('rename a file and a directory', async () => {
    await p.write('src-web/before.txt', 'moving');
    await p.write('src-web/olddir/inner.txt', 'inner');
    await w.eventually(
      'written',
      async () =>
        (await p.readRemote('web', web('olddir/inner.txt'))) === 'inner' &&
        (await p.readRemote('web', web('before.txt'))) === 'moving',
    );
    await rename(p.path('src-web/before.txt'), p.path('src-web/after.txt'));
    await rename(p.path('src-web/olddir'), p.path('src-web/newdir'));
    await w.eventually(
      'renamed',
      async () =>
        (await p.readRemote('web', web('after.txt'))) === 'moving' &&
        !(await exists(p, 'web', web('before.txt'))) &&
        (await p.readRemote('web', web('newdir/inner.txt'))) === 'inner' &&
        !(await exists(p, 'web', web('olddir'))),
    );
  });

  test('several writes to one file end with the last', async () => {
    for (let i = 0; i <= 50; i++) await writeFile(p.path('src-web/counter.txt'), `v${i}`);
    await w.eventually(
      'last write',
      async () => (await p.readRemote('web', web('counter.txt'))) === 'v50',
    );
  });

  test('an edit of .syncignore applies live', async () => {
    await p.write('src-web/later.tmp', 'now ignored');
    await w.eventually(
      'synced first',
      async () => (await p.readRemote('web', web('later.tmp'))) === 'now ignored',
    );
    await p.write('src-web/.syncignore', 'secret/\n*.bak\n!keep.bak\n*.tmp\n!drop.bak\n');
    // drop.bak is re-included by the new rules and arrives; *.tmp edits stop syncing
    await w.eventually(
      're-included',
      async () => (await p.readRemote('web', web('drop.bak'))) === 'ignored by .syncignore',
    );
    await p.write('src-web/later.tmp', 'changed');
    await p.write('src-web/marker.txt', 'after');
    await w.eventually(
      'marker',
      async () => (await p.readRemote('web', web('marker.txt'))) === 'after',
    );
    assert.equal(await p.readRemote('web', web('later.tmp')), 'now ignored');
  });

  test('GNU tar image (one-way-replica): create, modify, delete', async () => {
    await p.write('src-deb/sub/x.txt', 'x1');
    await w.eventually(
      'deb create',
      async () => (await p.readRemote('deb', '/data/sub/x.txt')) === 'x1',
    );
    await p.write('src-deb/sub/x.txt', 'x2');
    await w.eventually(
      'deb modify',
      async () => (await p.readRemote('deb', '/data/sub/x.txt')) === 'x2',
    );
    await rm(p.path('src-deb/sub'), { recursive: true });
    await w.eventually('deb delete', async () => !(await exists(p, 'deb', '/data/sub')));
  });

  test('an image with no tar (and no shell) receives files through the archive endpoint', async () => {
    await p.write('src-bare/nested/c.txt', 'c');
    await w.eventually(
      'bare create',
      async () => (await readViaCp(p, 'bare', '/app/files/nested/c.txt')) === 'c',
    );
    await p.write('src-bare/b.txt', 'b2');
    await w.eventually(
      'bare modify',
      async () => (await readViaCp(p, 'bare', '/app/files/b.txt')) === 'b2',
    );
  });

  test('a service scaled to 2 replicas receives every change in both', async () => {
    await p.write('src-rep/r.txt', 'r2');
    await p.write('src-rep/more/m.txt', 'm');
    for (const i of [1, 2]) {
      await w.eventually(
        `replica ${i}`,
        async () =>
          (await p.readRemote('rep', '/rep/r.txt', i)) === 'r2' &&
          (await p.readRemote('rep', '/rep/more/m.txt', i)) === 'm',
      );
    }
  });

  test('SIGINT stops the watcher with exit 0 and leaves containers running', async () => {
    const code = await w.stop('SIGINT');
    assert.equal(code, 0, w.output);
    const ps = await p.compose(['ps', '--format', '{{.Service}} {{.State}}']);
    assert.match(ps.stdout, /web running/);
  });

  test('a second start with nothing changed uploads 0 files', async () => {
    const r = await p.composync(['sync']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const log = await readFile(p.path('.composync/logs/sync.log'), 'utf8');
    const last = log
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; files?: number; service?: string })
      .filter((r) => r.event === 'sync')
      .slice(-7);
    assert.equal(last.length, 7, log);
    for (const rec of last) assert.equal(rec.files, 0, JSON.stringify(rec));
  });
});

describe('conflict safety of the one-way modes', { timeout: 300_000 }, () => {
  let p: TestProject;
  before(async () => {
    p = await TestProject.create('safe', {
      'compose.yaml': `services:
  safe:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    x-sync:
      - source: ./s
        target: /t
  replica:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    x-sync:
      - source: ./r
        target: /t
        mode: one-way-replica
`,
      's/f.txt': 'local-1',
      'r/f.txt': 'local-1',
    });
    const up = await p.composync(['up']);
    assert.equal(up.code, 0, up.stdout + up.stderr);
  });
  after(async () => p?.cleanup());

  test('one-way-safe keeps container edits and container-only files', async () => {
    await p.exec('safe', ['sh', '-c', 'echo container-edit > /t/f.txt; echo theirs > /t/only.txt']);
    await p.write('s/f.txt', 'local-2');
    const r = await p.composync(['sync']);
    assert.equal(r.code, 1, 'a conflict makes sync exit 1');
    assert.match(r.stdout + r.stderr, /conflict: f\.txt/);
    assert.equal(await p.readRemote('safe', '/t/f.txt'), 'container-edit\n');
    assert.equal(await p.readRemote('safe', '/t/only.txt'), 'theirs\n');
  });

  test('one-way-replica overwrites container edits and deletes container-only files', async () => {
    await p.exec('replica', [
      'sh',
      '-c',
      'echo container-edit > /t/f.txt; echo theirs > /t/only.txt',
    ]);
    const r = await p.composync(['sync', 'replica']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(await p.readRemote('replica', '/t/f.txt'), 'local-1');
    assert.equal(await exists(p, 'replica', '/t/only.txt'), false);
  });

  test('sync --dry-run prints the plan and changes nothing', async () => {
    await p.write('r/plan.txt', 'planned');
    const r = await p.composync(['sync', '--dry-run', 'replica']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /upload\s+plan\.txt/);
    assert.equal(await exists(p, 'replica', '/t/plan.txt'), false);
  });
  test('down stops a running watcher, then the stack', async () => {
    const w = p.spawn(['watch', '--no-logs']);
    await w.waitForOutput(/watching \d+ rules/, 60_000);
    const r = await p.composync(['down']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /stopped the running watcher/);
    assert.equal(await w.stop(), 0, w.output);
    const ps = await p.compose(['ps', '-aq']);
    assert.equal(ps.stdout.trim(), '');
  });
});

describe('configuration errors', () => {
  test('an invalid config exits 2 and names the YAML path', async () => {
    const p = await TestProject.create('badcfg', {
      'compose.yaml': `services:
  web:
    image: composync/busybox
    x-sync:
      sync:
        - source: ./src
          target: /app
          mode: sideways
`,
    });
    try {
      const r = await p.composync(['config']);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /services\.web\.x-sync\.sync\[0\]\.mode/);
      assert.match(r.stderr, /compose\.yaml/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace without --debug');
    } finally {
      await p.cleanup();
    }
  });
});
