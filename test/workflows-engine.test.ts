/**
 * The engine adapter's part of "files before the process starts", against the real engine: a
 * channel into a container that was created and not started (everything through the archive
 * endpoint, deletions deferred, the user resolved from the image's /etc/passwd), and a write
 * into a paused container whose exec tar session was never opened.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ContainerRef } from '../src/core/ports.js';
import { createEngine } from '../src/engine/index.js';
import { EngineError } from '../src/errors.js';
import { docker, waitFor } from './helpers.js';

const project = `cst-wfeng-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
const engine = createEngine();

async function create(service: string, extra: string[], cmd: string[]): Promise<string> {
  const out = await docker([
    'create',
    '--name',
    `${project}-${service}-1`,
    '--label',
    `com.docker.compose.project=${project}`,
    '--label',
    `com.docker.compose.service=${service}`,
    '--label',
    'com.docker.compose.container-number=1',
    ...extra,
    'composync/busybox',
    ...cmd,
  ]);
  return out.trim();
}

async function removeAll() {
  const ids = (
    await docker(['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`])
  )
    .split('\n')
    .filter(Boolean);
  if (ids.length) await docker(['rm', '-f', ...ids]);
}

const ref = async (service: string): Promise<ContainerRef> =>
  (await engine.listContainers(project, [service]))[0]!;

describe('channels into containers that do not run', { timeout: 300_000 }, () => {
  before(removeAll);
  after(removeAll);

  test('a created container: write, stat, scan and read through the archive endpoint', async () => {
    const id = await create(
      'made',
      ['--user', 'nobody', '--tmpfs', '/scratch', '-w', '/srv'],
      ['sh', '-c', 'cat /srv/app/a.txt; sleep 2147483647'],
    );
    const r = await ref('made');
    assert.equal(r.running, false);
    await assert.rejects(engine.attach(r), EngineError, 'not without notStarted');
    const ch = await engine.attach(r, { notStarted: true });
    try {
      assert.equal(ch.info.workdir, '/srv');
      assert.deepEqual(ch.info.notStarted, { tmpfs: ['/scratch'] });
      assert.equal(ch.info.uid, 65534, 'the image user, from its /etc/passwd');
      const w = await ch.write([
        { path: '/srv/app', kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtimeMs: 0 },
        {
          path: '/srv/app/a.txt',
          kind: 'file',
          mode: 0o644,
          uid: 0,
          gid: 0,
          mtimeMs: Date.UTC(2025, 0, 1),
          content: Buffer.from('synced before start\n'),
        },
      ]);
      assert.deepEqual(w.problems, []);
      assert.equal(w.via, 'archive');
      const st = await ch.stat(['/srv/app/a.txt', '/srv/app/none']);
      assert.equal(st.get('/srv/app/a.txt')?.size, 20);
      assert.equal(st.get('/srv/app/none'), null);
      const tree = await ch.scanKnown('/srv/app', () => undefined);
      assert.deepEqual([...tree!.keys()].sort(), ['a.txt']);
      const problems = await ch.remove(['/srv/app/a.txt']);
      assert.equal(problems.length, 1);
      assert.equal(problems[0]!.deferred, true);
      assert.match(problems[0]!.message, /has not started yet/);
      assert.equal(await ch.watchChanges('/srv/app', { intervalMs: 500 }, () => {}), null);
    } finally {
      await ch.close();
    }
    await docker(['start', id]);
    // the process found the file on its first start
    await waitFor(async () => /synced before start/.test(await docker(['logs', id])), {
      what: 'the file read by the starting process',
    });
  });

  test('a paused container with no tar session open yet takes writes through the endpoint', async () => {
    const id = await create('paused', [], ['sleep', '2147483647']);
    await docker(['start', id]);
    const ch = await engine.attach(await ref('paused'));
    try {
      await docker(['pause', id]);
      const w = await ch.write([
        {
          path: '/tmp/p.txt',
          kind: 'file',
          mode: 0o644,
          uid: 0,
          gid: 0,
          mtimeMs: Date.now(),
          content: Buffer.from('while paused'),
        },
      ]);
      assert.deepEqual(w.problems, []);
      assert.equal(w.via, 'archive');
      await docker(['unpause', id]);
      assert.equal(await docker(['exec', id, 'cat', '/tmp/p.txt']), 'while paused');
    } finally {
      await docker(['unpause', id]).catch(() => undefined);
      await ch.close();
    }
  });
});
