import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyLastXSync, parseRawComposeFile } from './x-sync-files.js';

const raw = (text: string) => parseRawComposeFile(text);

test('the last file`s x-sync is cut out of a 2.40-style merge (maps merged, lists appended)', () => {
  const files = [
    raw(
      'x-sync: {exclude: [a], owner: 1}\nservices:\n  web:\n    x-sync: {sync: [{target: /a}], exec: [{command: x}]}\n  one:\n    x-sync: [{target: /o}]\n',
    ),
    raw(
      'x-sync: {exclude: [b]}\nservices:\n  web:\n    x-sync: {sync: [{target: "${T}"}]}\n  one:\n    image: x\n',
    ),
  ];
  const merged = {
    'x-sync': { exclude: ['a', 'b'], owner: 1 },
    services: {
      web: { 'x-sync': { exec: [{ command: 'x' }], sync: [{ target: '/a' }, { target: '/t' }] } },
      one: { 'x-sync': [{ target: '/o' }] },
    },
  };
  applyLastXSync(merged, files);
  assert.deepEqual(merged, {
    'x-sync': { exclude: ['b'] },
    services: {
      web: { 'x-sync': { sync: [{ target: '/t' }] } },
      one: { 'x-sync': [{ target: '/o' }] },
    },
  });
});

test('a 2.26-style result (already replaced) is left as it is; one file changes nothing', () => {
  const files = [
    raw('services: {web: {x-sync: [{t: a}, {t: b}]}}'),
    raw('services: {web: {x-sync: [{t: c}]}}'),
  ];
  const merged = { services: { web: { 'x-sync': [{ t: 'c' }] } } };
  applyLastXSync(merged, files);
  assert.deepEqual(merged, { services: { web: { 'x-sync': [{ t: 'c' }] } } });
  const single = { services: { web: { 'x-sync': [{ t: 'a' }, { t: 'b' }] } } };
  applyLastXSync(single, [files[0]]);
  assert.deepEqual(single.services.web['x-sync'].length, 2);
});

test('compose tags and unreadable files: !override reads as a plain value, a broken file is left out', () => {
  assert.deepEqual(raw('x-sync: !override [1]'), { 'x-sync': [1] });
  assert.equal(raw('a: [oops'), null);
  assert.equal(parseRawComposeFile(null), null);
  const merged = { services: { web: { 'x-sync': [1, 2] } } };
  applyLastXSync(merged, [raw('services: {web: {x-sync: [1]}}'), null]);
  assert.deepEqual(merged.services.web['x-sync'], [1, 2]);
});
