/**
 * The scale benchmark (S1) works end to end against the real engine: `bench/scale.ts --tiny`
 * writes a complete result file and the report with its S1 section. It checks completion, not
 * the targets: figures on a shared CI machine say nothing.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ScaleResult } from '../bench/report.js';
import { repoRoot, sh } from './helpers.js';

const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);

let dir = '';
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test(
  'the scale benchmark with tiny sizes produces a complete result',
  { timeout: 130_000 },
  async () => {
    dir = await mkdtemp(join(tmpdir(), 'composync-bench-scale-test-'));
    const report = join(dir, 'RESULTS.md');
    const r = await sh(
      process.execPath,
      [join(repoRoot, 'dist', 'bench', 'scale.js'), '--tiny', '--out', dir, '--report', report],
      { timeoutMs: 120_000 },
    );
    assert.equal(r.code, 0, `bench failed:\n${r.stdout}\n${r.stderr}`);

    const res = JSON.parse(await readFile(join(dir, 'scale-tiny.json'), 'utf8')) as ScaleResult;
    assert.equal(res.kind, 'scale-tiny');
    const s = res.s1;
    assert.equal(s.files, res.sizes.files);
    assert.equal(s.setup.syncUploaded, s.files, 'the sync uploaded the tree');
    assert.ok(finite(s.readyMs) && finite(s.idleCpuPct) && s.peakRssMb > 0, 'S1 figures');
    assert.equal(s.l1.samples.length, res.sizes.edits);
    assert.equal(s.l1.lost, 0, 'every edit arrived');
    assert.ok(s.inotify.instances >= 1 && s.inotify.watches >= s.dirs, 'a watch per directory');
    assert.ok(s.inotify.maxUserWatches > 0 && s.inotify.maxUserInstances > 0, 'the limits');
    assert.deepEqual(s.warnings, []);
    assert.equal(res.targets.length, 5);
    assert.ok(
      res.targets.every((t) => t.workload === 'S1' && typeof t.met === 'boolean'),
      'every target is judged',
    );

    const md = await readFile(report, 'utf8');
    assert.match(md, /## scale-tiny run/);
    assert.match(md, /\| S1 \| start to watching \|/);
    assert.match(md, /\*\*S1 scale\*\*/);
  },
);
