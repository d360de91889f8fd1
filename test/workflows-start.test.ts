/**
 * Files in place before the process starts, against the real engine: `up` creates the
 * containers, syncs into them while they are created and not started, then starts them in
 * depends_on order (with --wait and healthchecks); a rebuild trigger does the same for the
 * container it recreates.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { CliProcess, TestProject, docker, waitFor } from './helpers.js';

// `app` fails at start unless /app/flag.txt has the local content: the image bakes `old`.
// `dep` only becomes healthy once its synced /srv/ready says `new`, and `app` waits for that.
const compose = `services:
  dep:
    image: composync/busybox
    command: ['sh', '-c', 'grep -q new /srv/ready || exit 4; exec sleep 2147483647']
    stop_signal: SIGKILL
    restart: 'no'
    healthcheck:
      test: ['CMD', 'grep', '-q', 'new', '/srv/ready']
      interval: 1s
      retries: 30
    x-sync:
      - source: ./dep
        target: /srv
  app:
    build: ./ctx
    stop_signal: SIGKILL
    restart: 'no'
    depends_on:
      dep:
        condition: service_healthy
    x-sync:
      sync:
        - source: ./src
          target: /app
          mode: one-way-replica
        - source: ./data
          target: /data
          mode: two-way
      rebuild: ['./ctx/Dockerfile']
`;

const dockerfile = (tag: string) => `FROM composync/busybox
RUN mkdir -p /app /data && echo old > /app/flag.txt && echo stale > /app/stale.txt && echo ${tag} > /baked && echo img > /data/from-image.txt
CMD ["sh", "-c", "grep -q new /app/flag.txt || exit 3; echo started-on-new; exec sleep 2147483647"]
`;

interface Rec {
  ts: string;
  event: string;
  service?: string;
  container?: string;
  files?: number;
  message: string;
}

describe('files in place before the process starts', { timeout: 600_000 }, () => {
  let p: TestProject;

  const log = async (): Promise<Rec[]> =>
    (await readFile(p.path('.composync/logs/sync.log'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Rec);
  const inspect = async (id: string) =>
    JSON.parse(await docker(['inspect', id]))[0] as {
      State: { Running: boolean; ExitCode: number; StartedAt: string };
      RestartCount: number;
    };

  before(async () => {
    p = await TestProject.create('wf-start', {
      'compose.yaml': compose,
      'ctx/Dockerfile': dockerfile('one'),
      'src/flag.txt': 'new\n',
      'dep/ready': 'new\n',
      'data/local.txt': 'local',
    });
  });
  after(async () => p?.cleanup());

  test('up --wait: the processes start on the synced files, in depends_on order', async () => {
    const r = await p.composync(['up', '--wait'], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const svc of ['dep', 'app']) {
      const st = await inspect(await p.container(svc));
      assert.equal(st.State.Running, true, `${svc} runs`);
      assert.equal(st.RestartCount, 0, `${svc} started once`);
    }
    const logs = await docker(['logs', await p.container('app')]);
    assert.equal(logs.trim(), 'started-on-new', 'the first start already saw the new file');

    // the sync log: each service's upload before its start
    const recs = await log();
    for (const svc of ['dep', 'app']) {
      const upload = recs.findIndex(
        (x) =>
          x.service === svc && x.event === 'sync' && /before the container starts/.test(x.message),
      );
      const start = recs.findIndex((x) => x.service === svc && x.event === 'start');
      assert.ok(
        upload >= 0,
        `${svc}: an upload before the start\n${JSON.stringify(recs, null, 1)}`,
      );
      assert.ok(start > upload, `${svc}: the start event after the upload`);
      assert.ok((recs[upload]!.files ?? 0) >= 1);
      // and the engine agrees: the container started after the upload was recorded
      const st = await inspect(await p.container(svc));
      assert.ok(Date.parse(st.State.StartedAt) >= Date.parse(recs[upload]!.ts), svc);
    }
    // the image's extra file cannot be deleted before the start: it is, right after it
    assert.match(
      recs.find((x) => x.service === 'app' && x.event === 'sync')!.message,
      /1 deletions wait until it runs/,
    );
    assert.equal(await p.readRemote('app', '/app/stale.txt'), null, 'deleted once running');
    assert.equal(await p.readRemote('app', '/app/flag.txt'), 'new\n');
    // a two-way rule reads the created container through the archive endpoint: the image's
    // file came down before the start
    assert.equal(await readFile(p.path('data/from-image.txt'), 'utf8'), 'img\n');
    const down = recs.findIndex((x) => x.service === 'app' && x.event === 'download');
    const appStart = recs.findIndex((x) => x.service === 'app' && x.event === 'start');
    assert.ok(down >= 0 && down < appStart, 'downloaded before the start');
  });

  test('a rebuild trigger syncs the recreated container before it starts', async () => {
    const w = new CliProcess(['watch', '--no-up', '--no-logs'], {
      cwd: p.dir,
      env: p.env(),
    });
    try {
      await w.waitForOutput(/watching \d+ rules/, 120_000);
      const old = await p.container('app');
      await p.write('ctx/Dockerfile', dockerfile('two'));
      const fresh: string = await waitFor(
        async () => {
          const recs = await log();
          if (!recs.some((x) => x.event === 'rebuild' && /rebuilt app/.test(x.message))) return '';
          const id = await p.container('app').catch(() => old);
          return id !== old ? id : '';
        },
        { timeoutMs: 240_000, what: 'the rebuilt container', detail: () => w.output },
      );
      assert.equal((await p.exec('app', ['cat', '/baked']))?.trim(), 'two', 'the new image');
      const st = await inspect(fresh);
      assert.equal(st.State.Running, true, 'the new container runs');
      assert.equal(st.RestartCount, 0);
      assert.equal((await docker(['logs', fresh])).trim(), 'started-on-new');
      const recs = await log();
      const rebuilt = recs.findIndex(
        (x) => x.event === 'rebuild' && /rebuilding app/.test(x.message),
      );
      const upload = recs.findIndex(
        (x, i) =>
          i > rebuilt &&
          x.service === 'app' &&
          x.event === 'sync' &&
          /before the container starts/.test(x.message),
      );
      assert.ok(upload > rebuilt, 'an upload into the recreated container before it started');
      await waitFor(
        async () =>
          (await log()).some((x, i) => i > upload && x.service === 'app' && x.event === 'start'),
        { timeoutMs: 60_000, what: 'its start event', detail: () => w.output },
      );
    } finally {
      await w.stop();
    }
  });
});
