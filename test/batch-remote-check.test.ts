/**
 * How a one-way-safe watch batch looks at the container side, against the real engine: a new
 * directory of 300 files costs one stat (nothing below a directory the container lacks is asked
 * about, and the whole target is not scanned, as it was for any batch of more than 128 paths),
 * 300 new files in a directory the container has cost one request to the container's stat
 * session (its `stat` run once on an open stream) rather than a request each or a scan, while a file the container already has below a directory it already
 * has is still found and left alone as a conflict.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { CliProcess, TestProject, waitFor } from './helpers.js';

// a long quiet period: each burst below arrives as one batch
const compose = `x-sync:
  debounce: 300
  maxWait: 5000

services:
  app:
    image: composync/busybox
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    x-sync:
      - source: ./src
        target: /app
`;

describe('container checks of a watch batch', { timeout: 300_000 }, () => {
  let p: TestProject;
  let w: CliProcess;

  before(async () => {
    p = await TestProject.create('remote-check', {
      'compose.yaml': compose,
      'src/index.txt': 'hello',
      'src/existing/keep.txt': 'kept',
    });
    w = p.spawn(['--debug', 'up', '--watch', '--no-logs']);
    await w.waitForOutput(/watching \d+ rules?/, 180_000);
  });

  after(async () => {
    await w?.stop();
    await p?.cleanup();
  });

  const count = async (dir: string) =>
    Number((await p.exec('app', ['sh', '-c', `find ${dir} -type f | wc -l`]))?.trim() ?? -1);

  test('300 files in a new directory: one stat, no scan of the target', async () => {
    const from = w.output.length;
    // made aside and moved in at once, as an unpacked archive or a checkout would appear
    for (let d = 0; d < 10; d++)
      for (let f = 0; f < 30; f++) await p.write(`staging/burst/d${d}/f${f}.txt`, `file ${d}/${f}`);
    await rename(p.path('staging/burst'), p.path('src/burst'));
    await waitFor(async () => (await count('/app/burst')) === 300, {
      what: '300 files in the container',
      timeoutMs: 30_000,
      detail: () => w.output.slice(from),
    });
    // the batch that carries the new directory: its checks come before its write
    const calls = w.output.slice(from);
    const upToWrite = calls.slice(0, calls.indexOf('engine: write into'));
    assert.doesNotMatch(upToWrite, /engine: scan /, 'no scan of the whole target');
    const stats = upToWrite.match(/engine: stat \S+/g) ?? [];
    assert.deepEqual(stats, ['engine: stat /app/burst']);
  });

  test('300 new files in a directory the container has: one stat-session request, no scan', async () => {
    const from = w.output.length;
    for (let f = 0; f < 300; f++) writeFileSync(p.path(`src/existing/n${f}.txt`), `new ${f}`);
    await waitFor(async () => (await count('/app/existing')) === 301, {
      what: '301 files in the container',
      timeoutMs: 30_000,
      detail: () => w.output.slice(from),
    });
    const calls = w.output.slice(from);
    const upToWrite = calls.slice(0, calls.indexOf('engine: write into'));
    assert.doesNotMatch(upToWrite, /engine: (scan|list) /, 'no scan of the whole target');
    assert.match(upToWrite, /engine: stat 30\d paths in \S+ \(stat session/);
    assert.doesNotMatch(upToWrite, /engine: stat \/app\/existing\/n/, 'no request per path');
  });

  test('new files in directories the container has, two levels deep: one request below the top', async () => {
    const dirs = Array.from({ length: 10 }, (_, d) => `/app/pre/d${d}`);
    await p.exec('app', ['mkdir', '-p', ...dirs]);
    const from = w.output.length;
    for (let d = 0; d < 10; d++)
      for (let f = 0; f < 30; f++) await p.write(`staging/pre/d${d}/f${f}.txt`, `pre ${d}/${f}`);
    await rename(p.path('staging/pre'), p.path('src/pre'));
    await waitFor(async () => (await count('/app/pre')) === 300, {
      what: '300 files in the container',
      timeoutMs: 30_000,
      detail: () => w.output.slice(from),
    });
    const calls = w.output.slice(from);
    const upToWrite = calls.slice(0, calls.indexOf('engine: write into'));
    // the top directory, then its 10 directories and 300 files in one request (not 10 for the
    // directories, then one for the files)
    const asked = upToWrite.match(/engine: (stat \S+|exec stat)/g) ?? [];
    assert.deepEqual(asked, ['engine: stat /app/pre', 'engine: stat 310']);
  });

  test('a container-only file below a container-only directory is still a conflict', async () => {
    await p.exec('app', ['sh', '-c', 'mkdir -p /app/theirs && echo container > /app/theirs/f.txt']);
    await p.write('src/theirs/f.txt', 'local');
    await w.waitForOutput(/conflict: theirs\/f\.txt/, 20_000);
    assert.equal(await p.readRemote('app', '/app/theirs/f.txt'), 'container\n');
  });
});
