import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachLine, forEachLineBytes } from './lines.js';

test('forEachLine: lines split across chunks, a character split across buffers, the tail', async () => {
  const e = Buffer.from('é');
  async function* chunks() {
    yield Buffer.from('ab\nc');
    yield Buffer.concat([Buffer.from('d'), e.subarray(0, 1)]);
    yield Buffer.concat([e.subarray(1), Buffer.from('\n\nlast')]);
  }
  const got: string[] = [];
  await forEachLine(chunks(), (l) => got.push(l));
  assert.deepEqual(got, ['ab', 'cdé', '', 'last']);
  const strings: string[] = [];
  await forEachLine(['x\n', 'y\n'], (l) => strings.push(l));
  assert.deepEqual(strings, ['x', 'y', '']);
});

test('forEachLineBytes: lines as byte ranges, one across three chunks, the tail', async () => {
  async function* chunks() {
    yield Buffer.from('ab\nlo');
    yield Buffer.from('ng');
    yield Buffer.from(' line\n\nlast');
  }
  const got: string[] = [];
  await forEachLineBytes(chunks(), (buf, start, end) => got.push(buf.toString('utf8', start, end)));
  assert.deepEqual(got, ['ab', 'long line', '', 'last']);
  const ended: string[] = [];
  await forEachLineBytes([Buffer.from('x\n')], (buf, s, e) =>
    ended.push(buf.toString('utf8', s, e)),
  );
  assert.deepEqual(ended, ['x', '']);
});
