import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_LOG_BYTES, maxLogBytes, SyncLog, type LogRecord } from './sync-log.js';

const dirs: string[] = [];
const tempLog = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'composync-synclog-'));
  dirs.push(dir);
  return join(dir, 'logs', 'sync.log');
};
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const lines = async (path: string): Promise<LogRecord[]> =>
  (await readFile(path, 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LogRecord);

describe('SyncLog', () => {
  test('appends one JSON line per record with a timestamp', async () => {
    const path = await tempLog();
    const log = new SyncLog(path);
    const rec = log.write({ level: 'info', event: 'sync', service: 'web', files: 1, message: 'x' });
    await log.flush();
    const [only] = await lines(path);
    assert.deepEqual(only, rec);
    assert.ok(!Number.isNaN(Date.parse(rec.ts)));
  });

  test('rotates by size into sync.log.1, keeping every line whole and in order', async () => {
    const path = await tempLog();
    const max = 600;
    const log = new SyncLog(path, max);
    for (let i = 0; i < 12; i++)
      log.write({ level: 'info', event: 'sync', service: 'web', files: i, message: `batch ${i}` });
    await log.flush();
    const older = await lines(`${path}.1`);
    const current = await lines(path);
    assert.ok(older.length > 0, 'rotated at least once');
    assert.ok((await stat(path)).size <= max);
    assert.ok((await stat(`${path}.1`)).size <= max);
    const seen = [...older, ...current].map((r) => r.files);
    // one previous file is kept: what is left is the newest records, consecutive and in order
    assert.equal(seen.at(-1), 11);
    for (let i = 1; i < seen.length; i++) assert.equal(seen[i], seen[i - 1]! + 1);
  });

  test('a reopened log continues counting the existing file towards rotation', async () => {
    const path = await tempLog();
    const first = new SyncLog(path, 300);
    for (let i = 0; i < 2; i++) first.write({ level: 'info', event: 'start', message: `a${i}` });
    await first.flush();
    const second = new SyncLog(path, 300);
    for (let i = 0; i < 3; i++) second.write({ level: 'info', event: 'stop', message: `b${i}` });
    await second.flush();
    assert.ok((await stat(path)).size <= 300);
    assert.ok((await lines(`${path}.1`)).length > 0);
  });

  test('the rotation size comes from COMPOSYNC_SYNC_LOG_MAX_BYTES when valid', () => {
    assert.equal(maxLogBytes({}), MAX_LOG_BYTES);
    assert.equal(maxLogBytes({ COMPOSYNC_SYNC_LOG_MAX_BYTES: '4096' }), 4096);
    assert.equal(maxLogBytes({ COMPOSYNC_SYNC_LOG_MAX_BYTES: 'lots' }), MAX_LOG_BYTES);
    assert.equal(maxLogBytes({ COMPOSYNC_SYNC_LOG_MAX_BYTES: '-1' }), MAX_LOG_BYTES);
  });
});
