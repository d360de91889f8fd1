import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SyncReport } from '../session/rule-sync.js';
import type { LogRecord } from '../session/sync-log.js';
import { describeTotals, formatAge, formatBytes, renderRecord, table } from './render.js';
import { createUpView, initialSyncSummary, PlainView } from './up-view.js';

const report = (container: string, o: Partial<SyncReport> = {}): SyncReport => ({
  rule: 'web/0',
  container,
  uploaded: 0,
  bytes: 0,
  deleted: 0,
  downloaded: 0,
  downloadedBytes: 0,
  deletedLocal: 0,
  conflicts: [],
  problems: [],
  ms: 1,
  changedPaths: [],
  plan: {
    upload: [],
    deleteRemote: [],
    download: [],
    deleteLocal: [],
    conflicts: [],
    agreed: [],
    gone: [],
  },
  ...o,
});

const ESC = String.fromCharCode(27);

const rec = (r: Omit<LogRecord, 'ts' | 'message'> & { message?: string }): LogRecord => ({
  ts: '2026-01-01T00:00:00.000Z',
  message: '',
  ...r,
});

/** A plain view writing into arrays. */
function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const view = new PlainView({
    color: false,
    width: 8,
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  });
  return { view, out, err };
}

describe('the plain (non-terminal) view of up --watch', () => {
  test('start-up, batches, restarts, rebuilds, conflicts, problems and logs as stable lines', async () => {
    const { view, out, err } = capture();
    const reports = await view.start({
      project: 'shop',
      services: ['web', 'api'],
      startStack: { wait: true, run: async () => undefined },
      initialSync: {
        skip: false,
        run: async () => {
          view.event(
            rec({ level: 'info', event: 'sync', service: 'web', files: 3, bytes: 12_000, ms: 18 }),
          );
          view.event(
            rec({ level: 'info', event: 'sync', service: 'api', files: 1, bytes: 40, ms: 7 }),
          );
          return [
            report('shop-web-1', { uploaded: 3, bytes: 12_000 }),
            report('shop-api-1', { uploaded: 1, bytes: 40, rule: 'api/0' }),
          ];
        },
      },
      watch: async () => 2,
    });
    assert.equal(reports.length, 2);
    const events: Parameters<typeof rec>[0][] = [
      { level: 'info', event: 'sync', service: 'web', files: 1, bytes: 512, ms: 3 },
      { level: 'info', event: 'delete', service: 'web', files: 2, ms: 4 },
      { level: 'info', event: 'download', service: 'api', files: 1, bytes: 2_500_000, ms: 40 },
      { level: 'info', event: 'restart', service: 'api', message: 'restarted shop-api-1', ms: 830 },
      { level: 'info', event: 'rebuild', service: 'web', message: 'rebuilding web' },
      {
        level: 'warn',
        event: 'conflict',
        service: 'web',
        message: 'conflict: a.txt: changed in the container; left as it is on both sides',
      },
      {
        level: 'error',
        event: 'problem',
        service: 'api',
        message: 'big.bin: the container is out of disk space',
      },
    ];
    for (const e of events) view.event(rec(e));
    view.log('web-1  | GET / 200');
    view.note('stopping: finishing the batch in flight');
    view.warn('service logs stopped: gone');
    assert.deepEqual(out, [
      'composync: starting shop (waiting until healthy)',
      'web       ↑ 3 files 12 kB 18 ms',
      'api       ↑ 1 file 40 B 7 ms',
      'composync: initial sync done: 2 rules in 2 containers, 4 files uploaded (12 kB), 0 deleted',
      'composync: watching 2 rules (Ctrl+C to stop)',
      'web       ↑ 1 file 512 B 3 ms',
      'web       ✕ 2 paths deleted 4 ms',
      'api       ↓ 1 file 2.5 MB 40 ms',
      'api       restarted shop-api-1 830 ms',
      'web       rebuilding web',
      'web       ! conflict: a.txt: changed in the container; left as it is on both sides',
      'web-1  | GET / 200',
      'composync: stopping: finishing the batch in flight',
    ]);
    assert.deepEqual(err, [
      'api       ! big.bin: the container is out of disk space',
      'composync: service logs stopped: gone',
    ]);
    for (const l of [...out, ...err]) assert.ok(!l.includes(ESC), 'no escape codes');
  });

  test('with create: the containers are created, synced, then started', async () => {
    const { view, out } = capture();
    const order: string[] = [];
    await view.start({
      project: 'shop',
      services: ['web'],
      startStack: {
        wait: false,
        create: async () => void order.push('create'),
        run: async () => void order.push('start'),
      },
      initialSync: {
        skip: false,
        run: async () => {
          order.push('sync');
          return [report('shop-web-1', { uploaded: 1, bytes: 5 })];
        },
      },
      watch: async () => {
        order.push('watch');
        return 1;
      },
    });
    assert.deepEqual(order, ['create', 'sync', 'start', 'watch']);
    assert.deepEqual(out, [
      'composync: starting shop',
      'composync: initial sync done: 1 rule in 1 container, 1 file uploaded (5 B), 0 deleted',
      'composync: watching 1 rules (Ctrl+C to stop)',
    ]);
  });

  test('watch (no stack start) with the initial sync skipped', async () => {
    const { view, out } = capture();
    await view.start({
      project: 'shop',
      services: ['web'],
      initialSync: { skip: true, run: async () => [report('shop-web-1')] },
      watch: async () => 1,
    });
    assert.deepEqual(out, [
      'composync: attached to 1 container; initial sync skipped',
      'composync: watching 1 rules (Ctrl+C to stop)',
    ]);
  });

  test('a failing phase rejects and stops there', async () => {
    const { view, out } = capture();
    let watched = false;
    await assert.rejects(
      view.start({
        project: 'shop',
        services: [],
        startStack: {
          wait: false,
          run: async () => {
            throw new Error('compose up failed');
          },
        },
        initialSync: { skip: false, run: async () => [] },
        watch: async () => {
          watched = true;
          return 0;
        },
      }),
      /compose up failed/,
    );
    assert.deepEqual(out, ['composync: starting shop']);
    assert.equal(watched, false);
  });

  test('colour only when asked: the terminal view is chosen by tty alone', () => {
    const o = { color: false, width: 8, out: () => undefined, err: () => undefined };
    assert.ok(createUpView({ ...o, tty: false }) instanceof PlainView);
    assert.ok(!(createUpView({ ...o, tty: true }) instanceof PlainView));
    const coloured = renderRecord(rec({ level: 'info', event: 'sync', service: 'web' }), {
      color: true,
    });
    assert.ok(coloured.startsWith(`${ESC}[36m`), coloured);
  });
});

describe('render helpers', () => {
  test('summaries count uploads, downloads, deletions, conflicts and problems', () => {
    const reports = [
      report('p-web-1', {
        uploaded: 2,
        bytes: 2048,
        deleted: 1,
        conflicts: [{ path: 'a', reason: 'x' }],
      }),
      report('p-web-2', {
        downloaded: 3,
        downloadedBytes: 30,
        deletedLocal: 1,
        problems: [{ path: 'b', message: 'y' }],
      }),
    ];
    assert.equal(
      describeTotals(reports),
      '2 files uploaded (2.0 kB), 1 deleted, 3 downloaded (30 B), 1 deleted locally, 1 conflict, 1 problem',
    );
    assert.equal(
      initialSyncSummary(reports, false),
      'initial sync done: 2 rules in 2 containers, ' + describeTotals(reports),
    );
  });

  test('bytes, ages and tables', () => {
    assert.deepEqual([0, 999, 1000, 12_345, 2_500_000, 3e9].map(formatBytes), [
      '0 B',
      '999 B',
      '1.0 kB',
      '12 kB',
      '2.5 MB',
      '3.00 GB',
    ]);
    const now = Date.parse('2026-01-01T01:00:00Z');
    assert.deepEqual(
      [
        '2026-01-01T01:00:00Z',
        '2026-01-01T00:59:48Z',
        '2026-01-01T00:55:00Z',
        '2025-12-30T01:00:00Z',
      ].map((t) => formatAge(t, now)),
      ['just now', '12s ago', '5m ago', '2d ago'],
    );
    assert.deepEqual(
      table([
        ['A', 'BB', 'C'],
        ['aaa', 'b', ''],
      ]),
      ['A    BB  C', 'aaa  b'],
    );
  });
});
