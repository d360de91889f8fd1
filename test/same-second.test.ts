/**
 * A container-side rewrite of a file with the same size within the same second as the version
 * composync last synced: the size and whole-second mtime match the state, so only the
 * container-side watcher (sub-second mtimes) tells that it changed. Its content must then be
 * read and compared, and the new version come down. Found by the CI soak (10-byte files
 * rewritten by `echo` in quick succession); GNU touch sets the sub-second mtimes here so the
 * second is the same whatever the clock does.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { TestProject, waitFor, type CliProcess } from './helpers.js';

const compose = `services:
  app:
    image: composync/debian
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    x-sync:
      - { source: ./src, target: /t, mode: two-way-safe }
`;

describe('a same-size container rewrite within the same second', { timeout: 180_000 }, () => {
  let p: TestProject;
  let w: CliProcess;

  before(async () => {
    p = await TestProject.create('same-second', { 'compose.yaml': compose, 'src/keep': 'k' });
    w = p.spawn(['up', '--watch', '--no-logs']);
    await w.waitForOutput(/watching \d+ rules?/, 180_000);
  });

  after(async () => {
    await w?.stop();
    await p?.cleanup();
  });

  const local = () => readFile(p.path('src/f'), 'utf8').catch(() => null);

  test('comes down although size and whole-second mtime did not change', async () => {
    // a second in the last minute (the watcher lists what changed in the last minute)
    const t = Math.floor(Date.now() / 1000) - 2;
    await p.exec('app', ['sh', '-c', `printf 0123456789 > /t/f && touch -d @${t}.25 /t/f`]);
    await waitFor(async () => (await local()) === '0123456789', {
      what: 'the first version locally',
      timeoutMs: 30_000,
      detail: () => w.output.slice(-2000),
    });
    await p.exec('app', ['sh', '-c', `printf abcdefghij > /t/f && touch -d @${t}.75 /t/f`]);
    await waitFor(async () => (await local()) === 'abcdefghij', {
      what: 'the rewrite locally',
      timeoutMs: 30_000,
      detail: () => w.output.slice(-2000),
    });
    assert.doesNotMatch(w.output, /conflict/);
  });
});
