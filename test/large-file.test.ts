/**
 * A large file changed while watching is sent before it is hashed (the send hashes what it
 * sends), against the real engine: the container gets its exact bytes, and the state records
 * their hash, so a reconcile afterwards sends nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { CliProcess, TestProject, waitFor } from './helpers.js';

const compose = `services:
  app:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    x-sync:
      - source: ./src
        target: /app
`;

describe('a large file while watching', { timeout: 300_000 }, () => {
  let p: TestProject;
  let w: CliProcess;

  before(async () => {
    p = await TestProject.create('large-file', { 'compose.yaml': compose, 'src/a.txt': 'a' });
    w = p.spawn(['up', '--watch', '--no-logs']);
    await w.waitForOutput(/watching \d+ rules?/, 180_000);
  });

  after(async () => {
    await w?.stop();
    await p?.cleanup();
  });

  test('lands whole, and a later reconcile sends nothing', async () => {
    const big = randomBytes(12 * 1024 * 1024);
    const sha1 = createHash('sha1').update(big).digest('hex');
    await p.write('src/big.bin', big);
    await waitFor(
      async () => (await p.exec('app', ['sha1sum', '/app/big.bin']))?.startsWith(sha1) === true,
      { what: 'big.bin in the container', timeoutMs: 60_000, detail: () => w.output },
    );
    assert.equal(await w.stop(), 0);
    const r = await p.composync(['sync']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /\b0 files uploaded/);
  });
});
