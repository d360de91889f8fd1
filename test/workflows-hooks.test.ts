/**
 * Host-side exec hooks (`exec` with `on: host`) against the real engine: they run on this
 * machine after the batch is confirmed in the container, once per batch, in the project
 * directory, with COMPOSYNC_CHANGED_FILES holding the local paths; a failure is reported and
 * syncing goes on.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, realpath } from 'node:fs/promises';
import { CliProcess, TestProject, waitFor } from './helpers.js';

// The array form runs without a shell: node with a script that records what it saw, including
// the container's copy of a.txt at the moment it ran (the batch must be in by then).
const hook = `import { appendFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
const inContainer = execFileSync('docker', ['compose', 'exec', '-T', 'app', 'cat', '/app/a.txt'], {
  encoding: 'utf8',
});
appendFileSync('hook-runs.jsonl', JSON.stringify({
  changed: process.env.COMPOSYNC_CHANGED_FILES,
  cwd: process.cwd(),
  inContainer,
  extra: process.env.EXTRA,
}) + '\\n');
console.log('hook-ran');
`;

const compose = `services:
  app:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    scale: 2
    x-sync:
      sync:
        - source: ./src
          target: /app
      exec:
        - paths: ['./src/*.txt']
          on: host
          command: ['${process.execPath}', './hook.mjs']
          env: { EXTRA: from-config }
        - paths: ['./src/fail.sh']
          on: host
          command: 'echo "failing in $$(pwd)"; exit 5'
`;

interface Run {
  changed: string;
  cwd: string;
  inContainer: string;
  extra: string;
}

describe('host-side exec hooks', { timeout: 600_000 }, () => {
  let p: TestProject;
  let w: CliProcess;
  let dir: string;

  const runs = async (): Promise<Run[]> =>
    (await readFile(p.path('hook-runs.jsonl'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Run);
  const log = () => p.syncLog();

  before(async () => {
    p = await TestProject.create('wf-hooks', {
      'compose.yaml': compose,
      'hook.mjs': hook,
      'src/index.html': 'hi',
    });
    dir = await realpath(p.dir);
    w = p.spawn(['up', '--watch', '--no-logs']);
    await w.waitForOutput(/watching \d+ rules/, 240_000);
  });
  after(async () => {
    await w?.stop();
    await p?.cleanup();
  });

  test('runs once per batch after the container has the files, with the local paths', async () => {
    await p.write('src/a.txt', 'A');
    await p.write('src/b.txt', 'B');
    await waitFor(async () => (await runs()).some((r) => r.changed.includes('b.txt')), {
      timeoutMs: 30_000,
      what: 'the hook',
      detail: () => w.output,
    });
    const all = await runs();
    const last = all.at(-1)!;
    assert.equal(last.cwd, dir, 'in the project directory');
    assert.equal(last.extra, 'from-config');
    assert.equal(last.inContainer, 'A', 'the batch was in the container when the hook ran');
    const changed = all.flatMap((r) => r.changed.split('\n')).sort();
    assert.deepEqual(
      [...new Set(changed)],
      [p.path('src/a.txt'), p.path('src/b.txt')],
      'local paths, newline-separated',
    );
    await w.waitForOutput(/app \(host\) {2}\| hook-ran/);
    // two replicas: each batch syncs into both, and the hook runs once for it (its event is
    // logged once it exited: wait for the last one)
    const recs = (await waitFor(
      async () => {
        const r = await log();
        const done = r.filter((x) => x.event === 'exec' && /host exec .* done/.test(x.message));
        return done.length === (await runs()).length ? r : undefined;
      },
      { timeoutMs: 30_000, what: 'an exec event per hook run' },
    ))!;
    const batches = recs.filter(
      (r) => r.event === 'sync' && /^\d+ files uploaded$/.test(r.message),
    );
    const hooks = recs.filter((r) => r.event === 'exec' && /host exec .* done/.test(r.message));
    assert.equal(batches.length, 2 * hooks.length, JSON.stringify(recs, null, 1));
  });

  test('a failing hook is reported and syncing goes on', async () => {
    await p.write('src/fail.sh', 'x');
    await waitFor(
      async () =>
        (await log()).some(
          (r) => r.event === 'exec' && r.level === 'error' && /exit code 5/.test(r.message),
        ),
      { timeoutMs: 30_000, what: 'the failure reported', detail: () => w.output },
    );
    assert.match(w.output, new RegExp(`app \\(host\\) {2}\\| failing in ${dir}`));
    await p.write('src/after.html', 'still syncing');
    await waitFor(async () => (await p.readRemote('app', '/app/after.html')) === 'still syncing', {
      timeoutMs: 30_000,
      what: 'the next edit in the container',
    });
  });
});
