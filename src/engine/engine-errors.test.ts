import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EngineError } from '../errors.js';
import { explainContainerProblem, toEngineError } from './engine-errors.js';

const sockErr = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

describe('toEngineError', () => {
  const cases: [string, string, RegExp, RegExp][] = [
    [
      'ENOENT',
      'unix:///nonexistent.sock',
      /^cannot reach the Docker engine at unix:\/\/\/nonexistent\.sock: the socket does not exist \(is the engine running\?\)$/,
      /Start the Docker engine/,
    ],
    [
      'ECONNREFUSED',
      'tcp://127.0.0.1:1',
      /^cannot reach the Docker engine at tcp:\/\/127\.0\.0\.1:1: connection refused/,
      /DOCKER_HOST/,
    ],
    [
      'EACCES',
      'unix:///var/run/docker.sock',
      /^permission denied on the Docker engine socket unix:\/\/\/var\/run\/docker\.sock$/,
      /`docker` group/,
    ],
  ];
  for (const [code, target, message, hint] of cases) {
    test(`${code}: what happened and what to do, without naming the call`, () => {
      const e = toEngineError(sockErr(code), 'ping', undefined, target);
      assert.ok(e instanceof EngineError);
      assert.match(e.message, message);
      assert.match(e.hint ?? '', hint);
      assert.equal(e.exitCode, 1);
    });
  }
});

describe('explainContainerProblem', () => {
  const rows: [string, RegExp][] = [
    [
      'write /t/big.bin: no space left on device',
      /filesystem holding \/t\/big\.bin is full\. Free/,
    ],
    ['tar: write error: No space left on device', /is full/],
    ['open /ro/a.txt: read-only file system', /\/ro\/a\.txt is on a read-only mount\. Mount it/],
    ['container rootfs is marked read-only', /root filesystem is read-only \(`read_only: true`\)/],
    ["rm: can't remove '/d/x': Permission denied", /Check the permissions and owner/],
    ['tar: /d/x: Cannot change ownership: Operation not permitted', /`owner`\/`group`/],
  ];
  for (const [message, advice] of rows) {
    test(message, () => {
      const path = message.match(/\/\S+/)?.[0] ?? '/t/big.bin';
      const out = explainContainerProblem(message, path.replace(/[':]$/, ''));
      assert.ok(out.startsWith(message), 'the original message comes first');
      assert.match(out, advice);
    });
  }

  test('other messages are left alone', () => {
    assert.equal(explainContainerProblem('tar: bad header', '/x'), 'tar: bad header');
  });
});
