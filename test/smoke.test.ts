/**
 * The short end-to-end smoke CI runs under every Node it supports: `composync up --watch`, one
 * edit synced, `verify` clean, `down` removes the stack. The CLI runs under the Node running
 * this test (process.execPath).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestProject, docker, waitFor } from './helpers.js';

const compose = `services:
  smoke:
    image: composync/busybox
    command: ["sh", "-c", "while :; do sleep 0.05; done"]
    stop_signal: SIGKILL
    x-sync:
      - source: ./src
        target: /app
`;

describe(`smoke on Node ${process.version}`, { timeout: 300_000 }, () => {
  let p: TestProject;

  before(async () => {
    p = await TestProject.create('smoke', { 'compose.yaml': compose, 'src/index.txt': 'one' });
  });
  after(() => p?.cleanup());

  test('up --watch, one edit, verify, down', async () => {
    const w = p.spawn(['up', '--watch', '--no-logs']);
    try {
      await w.waitForOutput(/watching \d+ rules?/, 240_000);
      assert.equal(await p.readRemote('smoke', '/app/index.txt'), 'one');
      await p.write('src/index.txt', 'two');
      await waitFor(async () => (await p.readRemote('smoke', '/app/index.txt')) === 'two', {
        what: 'the edit in the container',
        timeoutMs: 60_000,
        detail: () => w.output,
      });
      const v = await p.composync(['verify']);
      assert.equal(v.code, 0, v.stdout + v.stderr);
    } finally {
      assert.equal(await w.stop(), 0, w.output);
    }
    const d = await p.composync(['down']);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    const left = await docker([
      'ps',
      '-aq',
      '--filter',
      `label=com.docker.compose.project=${p.name}`,
    ]);
    assert.equal(left.trim(), '');
  });
});
