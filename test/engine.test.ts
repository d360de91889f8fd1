/**
 * Integration tests of the engine adapter against the real Docker engine: containers labelled
 * as a unique compose project, on busybox (busybox tar), Debian (GNU tar) and a scratch image
 * (no shell, no tar, no rm).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  ContainerChannel,
  ContainerRef,
  EngineEvent,
  WriteEntry,
  WriteResult,
} from '../src/core/ports.js';
import { createEngine } from '../src/engine/index.js';
import { resolveEngineTarget } from '../src/engine/connection.js';
import { EngineError } from '../src/errors.js';
import { docker, sh, waitFor } from './helpers.js';

const project = `cst-engine-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
const engine = createEngine();
const SLEEP = ['sleep', '2147483647'];
const T = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
const vias = ['archive', 'tar-stream'] as const;

let local: string;
const ids: Record<string, string> = {};
const channels: Record<string, ContainerChannel> = {};

async function run(service: string, image: string, args: string[], extra: string[] = []) {
  const out = await docker([
    'run',
    '-d',
    '--name',
    `${project}-${service}-1`,
    '--label',
    `com.docker.compose.project=${project}`,
    '--label',
    `com.docker.compose.service=${service}`,
    '--label',
    'com.docker.compose.container-number=1',
    ...extra,
    image,
    ...args,
  ]);
  ids[service] = out.trim();
  return ids[service];
}

async function removeContainers() {
  const out = await docker([
    'ps',
    '-aq',
    '--filter',
    `label=com.docker.compose.project=${project}`,
  ]);
  const list = out.split('\n').filter(Boolean);
  if (list.length > 0) await sh('docker', ['rm', '-f', '-v', ...list]);
}

/** `docker exec`, returning stdout or throwing with stderr. */
async function dexec(service: string, cmd: string[]): Promise<string> {
  const r = await sh('docker', ['exec', ids[service]!, ...cmd]);
  if (r.code !== 0) throw new Error(`docker exec ${cmd.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** uid:gid|perm|size|mtime|type of a container path (symlinks not followed). */
async function statIn(service: string, path: string): Promise<string> {
  return (await dexec(service, ['stat', '-c', '%u:%g|%a|%s|%Y|%F', path])).trim();
}

const sha1 = (b: Buffer | string) => createHash('sha1').update(b).digest('hex');

function file(path: string, content: string | Buffer, extra: Partial<WriteEntry> = {}): WriteEntry {
  return {
    path,
    kind: 'file',
    mode: 0o644,
    uid: 1000,
    gid: 1000,
    mtimeMs: T,
    content: Buffer.from(content),
    ...extra,
  };
}

function dir(path: string, mode = 0o755, extra: Partial<WriteEntry> = {}): WriteEntry {
  return { path, kind: 'dir', mode, uid: 1000, gid: 1000, mtimeMs: T, ...extra };
}

function symlink(path: string, link: string): WriteEntry {
  return { path, kind: 'symlink', mode: 0o777, uid: 1000, gid: 1000, mtimeMs: T, link };
}

function assertClean(r: WriteResult) {
  assert.deepEqual(r.problems, [], JSON.stringify(r.problems));
}

before(async () => {
  await removeContainers();
  local = await mkdtemp(join(tmpdir(), 'composync-engine-'));
  await mkdir(join(local, 'ro'));
  await writeFile(join(local, 'ro', 'x.txt'), 'read-only');
  await Promise.all([
    run('bb', 'composync/busybox', SLEEP),
    run('deb', 'composync/debian', SLEEP, ['-v', `${join(local, 'ro')}:/ro:ro`]),
    run('scratch', 'composync/scratch-app', []),
    run('usr', 'composync/busybox', SLEEP, ['--user', 'node']),
    run('hang', 'composync/busybox', SLEEP),
    run('ev', 'composync/busybox', ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.1; done']),
    run('hup', 'composync/busybox', [
      'sh',
      '-c',
      'trap "echo hup > /tmp/hup" HUP; touch /tmp/ready; while :; do sleep 0.1; done',
    ]),
  ]);
  const refs = await engine.listContainers(project);
  for (const svc of ['bb', 'deb', 'scratch', 'usr'])
    channels[svc] = await engine.attach(refs.find((r) => r.service === svc)!);
});

after(async () => {
  await Promise.all(Object.values(channels).map((c) => c.close()));
  await removeContainers();
  if (local) await rm(local, { recursive: true, force: true });
});

describe('containers', () => {
  test('listContainers finds a project by its compose labels, sorted', async () => {
    const refs = await engine.listContainers(project);
    assert.deepEqual(
      refs.map((r) => r.service),
      ['bb', 'deb', 'ev', 'hang', 'hup', 'scratch', 'usr'],
    );
    for (const r of refs) {
      assert.equal(r.replica, 1);
      assert.equal(r.running, true);
      assert.equal(r.state, 'running');
      assert.equal(r.name, `${project}-${r.service}-1`);
      assert.equal(r.id, ids[r.service]);
    }
    const some = await engine.listContainers(project, ['deb', 'bb']);
    assert.deepEqual(
      some.map((r) => r.service),
      ['bb', 'deb'],
    );
    assert.deepEqual(await engine.listContainers(`${project}-none`), []);
  });

  test('attach detects tar flavour, shell, workdir and user', () => {
    assert.deepEqual(channels.bb!.info, {
      workdir: '/',
      uid: 0,
      gid: 0,
      tar: 'busybox',
      shell: true,
    });
    assert.deepEqual(channels.deb!.info, { workdir: '/', uid: 0, gid: 0, tar: 'gnu', shell: true });
    assert.deepEqual(channels.scratch!.info, {
      workdir: '/app',
      uid: 0,
      gid: 0,
      tar: 'none',
      shell: false,
    });
    assert.deepEqual(channels.usr!.info, {
      workdir: '/',
      uid: 1000,
      gid: 1000,
      tar: 'busybox',
      shell: true,
    });
  });

  test('resolveOwner looks names up in the container', async () => {
    const ch = channels.usr!;
    assert.deepEqual(await ch.resolveOwner(), { uid: 1000, gid: 1000 });
    assert.deepEqual(await ch.resolveOwner('root'), { uid: 0, gid: 0 });
    assert.deepEqual(await ch.resolveOwner('nobody', 'node'), { uid: 65534, gid: 1000 });
    assert.deepEqual(await ch.resolveOwner(undefined, 'nogroup'), { uid: 1000, gid: 65534 });
    assert.deepEqual(await ch.resolveOwner(1234), { uid: 1234, gid: 0 });
    assert.deepEqual(await ch.resolveOwner('1000', 5), { uid: 1000, gid: 5 });
    // The scratch image has no /etc/passwd: ids still work.
    assert.deepEqual(await channels.scratch!.resolveOwner(33, 44), { uid: 33, gid: 44 });
    await assert.rejects(ch.resolveOwner('ghost'), (e: Error) => {
      assert.ok(e instanceof EngineError);
      assert.match(e.message, /user "ghost" not found/);
      return true;
    });
  });
});

describe('write', () => {
  let big: Buffer;
  let sources: { a: string; big: string; gone: string };

  before(async () => {
    big = randomBytes(3 * 1024 * 1024 + 123);
    sources = {
      a: join(local, 'a.txt'),
      big: join(local, 'big.bin'),
      gone: join(local, 'gone.txt'),
    };
    await writeFile(sources.a, 'alpha from disk\n');
    await writeFile(sources.big, big);
  });

  for (const svc of ['bb', 'deb'])
    for (const via of vias)
      test(`${svc} via ${via}: files, dirs and symlinks land with modes, owner and mtime`, async () => {
        const ch = channels[svc]!;
        const base = `/data/${via}`;
        const long = `${base}/${'n'.repeat(150)}`;
        const entries: WriteEntry[] = [
          dir(`${base}/sub`, 0o750),
          file(`${base}/sub/a.txt`, '', { content: undefined, source: sources.a, mode: 0o640 }),
          file(`${base}/sub/with space.txt`, 'spaces'),
          file(`${base}/sub/ünï cödé.txt`, 'unicode'),
          file(long, 'long name'),
          file(`${base}/deep/x/y/z/file.txt`, 'deep'),
          file(`${base}/sub/gone.txt`, '', { content: undefined, source: sources.gone }),
          file(`${base}/sub/zero.txt`, 'mode zero', { mode: 0 }),
          symlink(`${base}/sub/link`, 'a.txt'),
          symlink(`${base}/sub/abs-link`, svc === 'deb' ? '/etc/hostname' : 'etc/hostname'),
          file(`${base}/big.bin`, '', { content: undefined, source: sources.big }),
        ];
        const r = await ch.write(entries, { via });
        assert.equal(r.via, via);
        assert.deepEqual(
          r.problems.map((p) => p.path),
          [`${base}/sub/gone.txt`],
        );
        assert.match(r.problems[0]!.message, /no longer exists/);
        assert.equal(r.written, entries.length - 1);
        assert.equal(r.bytes, 16 + 6 + 7 + 9 + 4 + 9 + big.length);

        // Readable at once: the write was confirmed by the container.
        assert.equal(await dexec(svc, ['cat', `${base}/sub/a.txt`]), 'alpha from disk\n');
        assert.equal(await dexec(svc, ['cat', `${base}/sub/with space.txt`]), 'spaces');
        assert.equal(await dexec(svc, ['cat', `${base}/sub/ünï cödé.txt`]), 'unicode');
        assert.equal(await dexec(svc, ['cat', long]), 'long name');
        assert.equal(await dexec(svc, ['cat', `${base}/deep/x/y/z/file.txt`]), 'deep');
        assert.equal((await dexec(svc, ['sha1sum', `${base}/big.bin`])).split(' ')[0], sha1(big));
        assert.equal((await dexec(svc, ['readlink', `${base}/sub/link`])).trim(), 'a.txt');
        assert.equal(
          (await dexec(svc, ['readlink', `${base}/sub/abs-link`])).trim(),
          svc === 'deb' ? '/etc/hostname' : 'etc/hostname',
        );
        assert.equal(
          await sh('docker', ['exec', ids[svc]!, 'test', '-e', `${base}/sub/gone.txt`]).then(
            (x) => x.code,
          ),
          1,
        );

        const sec = Math.floor(T / 1000);
        assert.equal(
          await statIn(svc, `${base}/sub/a.txt`),
          `1000:1000|640|16|${sec}|regular file`,
        );
        assert.equal(
          await statIn(svc, `${base}/sub/zero.txt`),
          `1000:1000|0|9|${sec}|regular file`,
        );
        assert.match(
          await statIn(svc, `${base}/sub`),
          new RegExp(`^1000:1000\\|750\\|\\d+\\|${sec}\\|directory$`),
        );
        assert.match(await statIn(svc, `${base}/sub/link`), /\|symbolic link$/);
        // Missing parents are created (by root, as `mkdir -p` would).
        assert.match(await statIn(svc, `${base}/deep/x`), /^0:0\|755\|.*directory$/);

        // the hash of the bytes that were sent, read while sending
        assert.deepEqual(r.stats.get(`${base}/sub/a.txt`), {
          size: 16,
          mtime: sec,
          hash: sha1('alpha from disk\n'),
        });
        assert.deepEqual(r.stats.get(`${base}/big.bin`), {
          size: big.length,
          mtime: sec,
          hash: sha1(big),
        });
        assert.equal(r.stats.has(`${base}/sub/gone.txt`), false);
      });

  test('symlinks pointing outside land at once (busybox tar would defer them)', async () => {
    for (const svc of ['bb', 'deb']) {
      const r = await channels[svc]!.write(
        [symlink('/links/abs', '/etc/hostname'), symlink('/links/up', '../etc/hostname')],
        { via: 'tar-stream' },
      );
      assertClean(r);
      assert.equal(r.via, svc === 'bb' ? 'archive' : 'tar-stream');
      assert.equal((await dexec(svc, ['readlink', '/links/abs'])).trim(), '/etc/hostname');
      assert.equal((await dexec(svc, ['readlink', '/links/up'])).trim(), '../etc/hostname');
    }
  });

  test('a single small entry through GNU tar is confirmed promptly (-b 1)', async () => {
    const ch = await engine.attach((await engine.listContainers(project, ['deb']))[0]!);
    try {
      let t0 = Date.now();
      // The first write also opens the exec session.
      let r = await ch.write([file('/prompt/one.txt', 'one')], { via: 'tar-stream' });
      assert.equal(r.via, 'tar-stream');
      assert.ok(Date.now() - t0 < 5000, `first write took ${Date.now() - t0} ms`);
      assert.equal(await dexec('deb', ['cat', '/prompt/one.txt']), 'one');
      for (let i = 0; i < 5; i++) {
        t0 = Date.now();
        r = await ch.write([file('/prompt/one.txt', `one ${i}`)], { via: 'tar-stream' });
        assert.equal(r.via, 'tar-stream');
        assert.ok(Date.now() - t0 < 2000, `write took ${Date.now() - t0} ms`);
        assert.equal(await dexec('deb', ['cat', '/prompt/one.txt']), `one ${i}`);
      }
    } finally {
      await ch.close();
    }
  });

  for (const svc of ['bb', 'deb'])
    for (const via of vias)
      test(`${svc} via ${via}: overwrites files (even with an older mtime) and directory modes`, async () => {
        const ch = channels[svc]!;
        const base = `/over/${via}`;
        assertClean(await ch.write([dir(base, 0o755), file(`${base}/f.txt`, 'first')], { via }));
        assertClean(
          await ch.write(
            [
              dir(base, 0o700, { uid: 0, gid: 0 }),
              file(`${base}/f.txt`, 'second', { mtimeMs: T - 86_400_000 }),
            ],
            { via },
          ),
        );
        assert.equal(await dexec(svc, ['cat', `${base}/f.txt`]), 'second');
        assert.match(await statIn(svc, base), /^0:0\|700\|/);
        assert.match(
          await statIn(svc, `${base}/f.txt`),
          new RegExp(`\\|${Math.floor((T - 86_400_000) / 1000)}\\|`),
        );
        // A symlink replaces a file, and a file a symlink.
        assertClean(await ch.write([symlink(`${base}/f.txt`, 'elsewhere')], { via }));
        assert.equal((await dexec(svc, ['readlink', `${base}/f.txt`])).trim(), 'elsewhere');
        assertClean(await ch.write([file(`${base}/f.txt`, 'third')], { via }));
        assert.equal(await dexec(svc, ['cat', `${base}/f.txt`]), 'third');
      });

  for (const svc of ['bb', 'deb'])
    for (const via of vias)
      test(`${svc} via ${via}: a directory in the way of a file, or the reverse, is a problem`, async () => {
        const ch = channels[svc]!;
        const base = `/way/${via}`;
        await dexec(svc, ['mkdir', '-p', `${base}/x/keep`]);
        const r = await ch.write(
          [file(`${base}/a1`, 'a1'), file(`${base}/x`, 'x'), file(`${base}/a2`, 'a2')],
          { via },
        );
        assert.deepEqual(
          r.problems.map((p) => p.path),
          [`${base}/x`],
        );
        // engine 28's own words ("... with non-directory \"/\"") read as if / were written
        if (r.via === 'archive')
          assert.match(r.problems[0]!.message, /^cannot overwrite the directory there with a file/);
        assert.equal(r.written, 2);
        assert.equal(await dexec(svc, ['cat', `${base}/a1`]), 'a1');
        assert.equal(await dexec(svc, ['cat', `${base}/a2`]), 'a2');
        assert.match(await statIn(svc, `${base}/x/keep`), /directory$/);

        // And a file in the way of a directory.
        await dexec(svc, ['sh', '-c', `echo keep > ${base}/f`]);
        const d = await ch.write([dir(`${base}/f`, 0o700), file(`${base}/a3`, 'a3')], { via });
        assert.deepEqual(
          d.problems.map((p) => p.path),
          [`${base}/f`],
        );
        assert.equal(await dexec(svc, ['cat', `${base}/f`]), 'keep\n');
        assert.match(await statIn(svc, `${base}/f`), /^0:0\|644\|.*regular file$/);
        assert.equal(await dexec(svc, ['cat', `${base}/a3`]), 'a3');
      });

  for (const via of vias)
    test(`deb via ${via}: a read-only path is a problem; the rest lands`, async () => {
      const r = await channels.deb!.write(
        [file(`/ok-${via}/a`, 'a'), file('/ro/new.txt', 'no'), file(`/ok-${via}/b`, 'b')],
        { via },
      );
      assert.deepEqual(
        r.problems.map((p) => p.path),
        ['/ro/new.txt'],
      );
      assert.match(r.problems[0]!.message, /read-only file system/i);
      assert.equal(r.written, 2);
      assert.equal(await dexec('deb', ['cat', `/ok-${via}/a`]), 'a');
      assert.equal(await dexec('deb', ['cat', `/ok-${via}/b`]), 'b');
    });

  test('a dead tar session is replaced; a hung one times out into the archive endpoint', async () => {
    const ch = channels.bb!;
    assertClean(await ch.write([file('/dead/1', 'one')], { via: 'tar-stream' }));
    await dexec('bb', ['sh', '-c', 'kill -9 $(pidof tar)']);
    const r2 = await ch.write([file('/dead/2', 'two')], { via: 'tar-stream' });
    assertClean(r2);
    assert.equal(await dexec('bb', ['cat', '/dead/2']), 'two');
    const r3 = await ch.write([file('/dead/3', 'three')], { via: 'tar-stream' });
    assert.equal(r3.via, 'tar-stream');
    assert.equal(await dexec('bb', ['cat', '/dead/3']), 'three');

    const quick = createEngine(process.env, { sessionTimeoutMs: 1500 });
    const hang = await quick.attach((await quick.listContainers(project, ['hang']))[0]!);
    try {
      assertClean(await hang.write([file('/hang/1', 'one')], { via: 'tar-stream' }));
      await dexec('hang', ['sh', '-c', 'kill -STOP $(pidof tar)']);
      const t0 = Date.now();
      const r = await hang.write([file('/hang/2', 'two')], { via: 'tar-stream' });
      assert.equal(r.via, 'archive');
      assertClean(r);
      assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
      assert.equal(await dexec('hang', ['cat', '/hang/2']), 'two');
      // The stopped tar was killed, so it cannot apply stale data later.
      await waitFor(
        async () => (await sh('docker', ['exec', ids.hang!, 'pidof', 'tar'])).code === 1,
        {
          what: 'the hung tar to be killed',
        },
      );
    } finally {
      await hang.close();
    }
  });

  test('auto picks a transport; an image without tar always uses the archive endpoint', async () => {
    // Small batches take the stream; many entries or large files the endpoint.
    const r = await channels.bb!.write([file('/auto/a', 'auto')]);
    assertClean(r);
    assert.equal(r.via, 'tar-stream');
    assert.equal(await dexec('bb', ['cat', '/auto/a']), 'auto');
    const many = Array.from({ length: 101 }, (_, i) => file(`/auto/many/${i}`, `${i}`));
    const m = await channels.deb!.write(many);
    assertClean(m);
    assert.equal(m.via, 'archive');
    assert.equal(m.written, 101);
    const bigSource = join(local, 'two-mb.bin');
    await writeFile(bigSource, randomBytes(2 * 1024 * 1024));
    const b = await channels.deb!.write([
      file('/auto/big', '', { content: undefined, source: bigSource }),
    ]);
    assertClean(b);
    assert.equal(b.via, 'archive');

    for (const via of ['auto', 'tar-stream', 'archive'] as const) {
      const s = await channels.scratch!.write([file('/app/x.txt', `scratch ${via}`)], { via });
      assertClean(s);
      assert.equal(s.via, 'archive');
      const tree = await channels.scratch!.scan('/app');
      assert.equal(tree?.get('x.txt')?.hash, sha1(`scratch ${via}`));
    }
  });

  test('compressed archives (as for remote engines) land the same', async () => {
    const gz = createEngine(process.env, { compress: true });
    const ch = await gz.attach((await gz.listContainers(project, ['bb']))[0]!);
    try {
      const r = await ch.write([file('/gz/a.txt', 'zipped', { mode: 0o600 }), dir('/gz/d', 0o711)]);
      assertClean(r);
      assert.equal(r.via, 'archive');
      assert.equal(await dexec('bb', ['cat', '/gz/a.txt']), 'zipped');
      assert.match(await statIn('bb', '/gz/a.txt'), /^1000:1000\|600\|6\|/);
    } finally {
      await ch.close();
    }
  });

  test('close ends the tar session; a closed channel refuses writes', async () => {
    const ch = await engine.attach((await engine.listContainers(project, ['ev']))[0]!);
    await ch.write([file('/closed/a', 'a')], { via: 'tar-stream' });
    assert.equal((await sh('docker', ['exec', ids.ev!, 'pidof', 'tar'])).code, 0);
    await ch.close();
    await waitFor(async () => (await sh('docker', ['exec', ids.ev!, 'pidof', 'tar'])).code === 1, {
      what: 'tar to exit',
    });
    await assert.rejects(ch.write([file('/closed/b', 'b')]), EngineError);
  });
});

describe('remove', () => {
  test('deletes files and directories; refuses relative paths and the root', async () => {
    const ch = channels.bb!;
    assertClean(
      await ch.write([
        file('/rm/a.txt', 'a'),
        file('/rm/d/b.txt', 'b'),
        dir('/rm/d/e'),
        file('/rm/keep.txt', 'keep'),
        file('/rm/sp ace/c', 'c'),
      ]),
    );
    const problems = await ch.remove([
      '/rm/a.txt',
      '/rm/d',
      '/rm/missing',
      '/rm/sp ace',
      'rm/rel',
      '/',
    ]);
    assert.deepEqual(
      problems.map((p) => p.path),
      ['rm/rel', '/'],
    );
    const st = await ch.stat(['/rm/a.txt', '/rm/d', '/rm/sp ace', '/rm/keep.txt']);
    assert.equal(st.get('/rm/a.txt'), null);
    assert.equal(st.get('/rm/d'), null);
    assert.equal(st.get('/rm/sp ace'), null);
    assert.equal(st.get('/rm/keep.txt')?.kind, 'file');
  });

  test('reports rm failures per path', async () => {
    const problems = await channels.deb!.remove(['/ro/x.txt', '/tmp/not-there']);
    assert.deepEqual(
      problems.map((p) => p.path),
      ['/ro/x.txt'],
    );
    assert.match(problems[0]!.message, /rm failed .*Read-only file system/);
  });

  test('a container without rm gets a problem per path, not a crash', async () => {
    const ch = channels.scratch!;
    assertClean(await ch.write([file('/app/del.txt', 'x')]));
    const problems = await ch.remove(['/app/del.txt', '/app/other']);
    assert.deepEqual(
      problems.map((p) => p.path),
      ['/app/del.txt', '/app/other'],
    );
    assert.match(problems[0]!.message, /no `rm`/);
  });
});

describe('scan and stat', () => {
  test('scan returns every entry below a directory with content hashes', async () => {
    const ch = channels.deb!;
    const bigger = randomBytes(2 * 1024 * 1024);
    assertClean(
      await ch.write([
        dir('/scan', 0o755),
        file('/scan/a.txt', 'alpha', { mode: 0o600 }),
        dir('/scan/sub', 0o700),
        file('/scan/sub/b.bin', bigger),
        file('/scan/sub/empty', ''),
        symlink('/scan/link', 'a.txt'),
      ]),
    );
    await dexec('deb', ['ln', '/scan/a.txt', '/scan/hard']);
    const tree = await ch.scan('/scan');
    assert.ok(tree);
    assert.deepEqual([...tree.keys()].sort(), [
      'a.txt',
      'hard',
      'link',
      'sub',
      'sub/b.bin',
      'sub/empty',
    ]);
    const ms = Math.floor(T / 1000) * 1000;
    assert.deepEqual(tree.get('a.txt'), {
      kind: 'file',
      hash: sha1('alpha'),
      size: 5,
      mtimeMs: ms,
      mode: 0o600,
    });
    assert.equal(tree.get('hard')?.hash, sha1('alpha'));
    assert.equal(tree.get('sub/b.bin')?.hash, sha1(bigger));
    assert.equal(tree.get('sub/b.bin')?.size, bigger.length);
    assert.equal(tree.get('sub/empty')?.hash, sha1(''));
    assert.deepEqual(tree.get('sub'), { kind: 'dir', size: 0, mtimeMs: ms, mode: 0o700 });
    assert.equal(tree.get('link')?.kind, 'symlink');
    assert.equal(tree.get('link')?.link, 'a.txt');
    // The same directory named with a trailing slash, and through a symlink to it.
    assert.deepEqual(await ch.scan('/scan/'), tree);
    await dexec('deb', ['ln', '-sfn', '/scan', '/scan-link']);
    assert.deepEqual(await ch.scan('/scan-link'), tree);

    assert.equal(await ch.scan('/no/such/dir'), null);
    assert.equal(await ch.scan('/scan/a.txt'), null);
  });

  test('stat maps the engine path stat to kind, size, mode and mtime', async () => {
    const ch = channels.bb!;
    assertClean(
      await ch.write([
        dir('/st', 0o751),
        file('/st/a.txt', 'hello', { mode: 0o4755 }),
        symlink('/st/link', 'a.txt'),
      ]),
    );
    const st = await ch.stat(['/st/a.txt', '/st', '/st/link', '/st/none', '/tmp']);
    const sec = Math.floor(T / 1000);
    assert.deepEqual(st.get('/st/a.txt'), { kind: 'file', size: 5, mtime: sec, mode: 0o4755 });
    assert.equal(st.get('/st')?.kind, 'dir');
    assert.equal(st.get('/st')?.mode, 0o751);
    assert.equal(st.get('/st')?.mtime, sec);
    assert.equal(st.get('/st/link')?.kind, 'symlink');
    assert.equal(st.get('/st/none'), null);
    assert.equal(st.get('/tmp')?.mode, 0o1777);
    assert.equal((await ch.stat([])).size, 0);
  });
});

describe('exec, signals, restarts, events', () => {
  let refs: ContainerRef[];
  before(async () => {
    refs = await engine.listContainers(project);
  });
  const ref = (svc: string) => refs.find((r) => r.service === svc)!;

  test('exec runs argv with user, workdir and env, and returns the exit code', async () => {
    const r = await engine.exec(
      ref('bb').id,
      ['sh', '-c', 'echo "$FOO $(id -u) $(pwd)"; echo oops >&2; exit 3'],
      {
        user: '1000',
        workdir: '/tmp',
        env: { FOO: 'bar baz' },
      },
    );
    assert.equal(r.exitCode, 3);
    assert.match(r.output, /^bar baz 1000 \/tmp$/m);
    assert.match(r.output, /^oops$/m);
    const argv = await engine.exec(ref('bb').id, ['echo', 'a b', '$HOME', ';', 'c']);
    assert.deepEqual(argv, { exitCode: 0, output: 'a b $HOME ; c\n' });
    const missing = await engine.exec(ref('bb').id, ['no-such-command']);
    assert.notEqual(missing.exitCode, 0);
  });

  test('kill delivers a signal to PID 1', async () => {
    await waitFor(
      async () => (await sh('docker', ['exec', ids.hup!, 'test', '-e', '/tmp/ready'])).code === 0,
      {
        what: 'the trap to be installed',
      },
    );
    await engine.kill(ref('hup').id, 'SIGHUP');
    await waitFor(
      async () => (await sh('docker', ['exec', ids.hup!, 'cat', '/tmp/hup'])).stdout === 'hup\n',
      {
        what: '/tmp/hup',
      },
    );
  });

  test('events reports a restart of a labelled container as stopped, then started', async () => {
    const seen: EngineEvent[] = [];
    const stop = await engine.events(project, (e) => seen.push(e));
    try {
      await engine.restart(ref('ev').id);
      // in the port's words a restart is the container stopping, then starting again
      await waitFor(() => seen.some((e) => e.kind === 'started'), {
        what: 'a started event',
        detail: () => JSON.stringify(seen),
      });
      const stoppedAt = seen.findIndex((x) => x.kind === 'stopped');
      assert.ok(stoppedAt >= 0, JSON.stringify(seen));
      assert.deepEqual(seen[stoppedAt], {
        kind: 'stopped',
        containerId: ref('ev').id,
        service: 'ev',
        project,
      });
      assert.ok(
        seen.slice(stoppedAt).some((x) => x.kind === 'started' && x.containerId === ref('ev').id),
      );
      assert.ok(seen.every((x) => x.project === project));
    } finally {
      stop();
    }
  });
});

describe('errors', () => {
  test('an unreachable engine is an EngineError saying what to do', async () => {
    for (const host of ['unix:///nonexistent/docker.sock', 'tcp://127.0.0.1:1']) {
      const e = createEngine({ DOCKER_HOST: host });
      await assert.rejects(e.ping(), (err: Error) => {
        assert.ok(err instanceof EngineError, String(err));
        assert.match(err.message, /cannot reach the Docker engine/);
        assert.ok(err.message.includes(host), err.message);
        assert.match(err.hint ?? '', /npm run setup/);
        assert.match(err.hint ?? '', /DOCKER_HOST/);
        return true;
      });
    }
  });

  test('a container that is gone is an EngineError naming it', async () => {
    const gone = 'f'.repeat(64);
    await assert.rejects(engine.restart(gone), /container f{12} is gone/);
    const fake: ContainerRef = {
      id: gone,
      name: 'ghost-web-1',
      service: 'web',
      replica: 1,
      state: 'running',
      running: true,
    };
    await assert.rejects(engine.attach(fake), /container ghost-web-1 is gone/);
  });

  test('DOCKER_HOST forms map to engine endpoints', () => {
    assert.deepEqual(
      resolveEngineTarget({ DOCKER_HOST: 'unix:///run/x.sock' }).options.socketPath,
      '/run/x.sock',
    );
    const tcp = resolveEngineTarget({ DOCKER_HOST: 'tcp://10.1.2.3:2375' });
    assert.equal(tcp.remote, true);
    assert.equal(tcp.options.host, '10.1.2.3');
    assert.equal(tcp.options.port, '2375');
    assert.equal(tcp.options.protocol, 'http');
    const ssh = resolveEngineTarget({ DOCKER_HOST: 'ssh://me@box:2222' });
    assert.equal(ssh.transport, 'ssh');
    assert.equal(ssh.remote, true);
    assert.equal(resolveEngineTarget({ HOME: local }).remote, false);
    assert.throws(() => resolveEngineTarget({ DOCKER_HOST: 'ftp://x' }), EngineError);
  });
});
