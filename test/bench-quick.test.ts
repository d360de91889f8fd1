/**
 * The benchmark harness works end to end against the real engine: `bench/run.ts` with tiny
 * sizes (every workload, every contender, docker compose watch included) writes a complete
 * result file, its chart and the report. It checks completion, not the targets: figures on a
 * shared CI machine say nothing.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchResult } from '../bench/report.js';
import { repoRoot, sh } from './helpers.js';

const finite = (x: unknown) => typeof x === 'number' && Number.isFinite(x);

let dir = '';
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test(
  'the quick benchmark with tiny sizes produces a complete result',
  { timeout: 170_000 },
  async () => {
    dir = await mkdtemp(join(tmpdir(), 'composync-bench-test-'));
    const report = join(dir, 'RESULTS.md');
    const r = await sh(
      process.execPath,
      [join(repoRoot, 'dist', 'bench', 'run.js'), '--tiny', '--out', dir, '--report', report],
      { timeoutMs: 160_000 },
    );
    assert.equal(r.code, 0, `bench failed:\n${r.stdout}\n${r.stderr}`);

    const res = JSON.parse(await readFile(join(dir, 'tiny.json'), 'utf8')) as BenchResult;
    assert.equal(res.kind, 'tiny');
    assert.ok(res.engine.server && res.engine.compose && res.machine.cpus > 0);
    assert.equal(res.machine.loadavg.end.length, 3);

    const l1 = res.l1!;
    for (const c of [
      'composync',
      'composync-replica',
      'compose-watch',
      'raw-cp',
      'raw-exec',
    ] as const) {
      const d = l1.contenders[c]!;
      assert.ok(d, `L1 ${c}`);
      assert.equal(d.samples.length, res.sizes.l1Edits, `L1 ${c} samples`);
      assert.equal(d.lost, 0, `L1 ${c}: every edit arrived`);
      assert.ok(finite(d.p50) && finite(d.p95) && finite(d.max), `L1 ${c} percentiles`);
      const b = res.b1!.contenders[c]!;
      assert.equal(b.runs.length, res.sizes.b1Reps, `B1 ${c} runs`);
      assert.ok(
        b.runs.every((x) => x.ok && finite(x.ms) && x.archives! >= 1),
        `B1 ${c}`,
      );
    }

    const i1 = res.i1!;
    assert.ok(finite(i1.composync) && finite(i1.noChange) && finite(i1.raw), 'I1 figures');
    assert.ok(i1.peakRssMb!.length === 1 && i1.peakRssMb![0]! > 0, 'I1 peak RSS');
    assert.ok(
      i1.runs.every((x) => x.files === res.sizes.i1Files),
      'I1: every copy landed every file',
    );
    const r1 = res.r1!;
    assert.ok(finite(r1.readyMs) && finite(r1.idleCpuPct) && r1.peakRssMb > 0, 'R1 figures');
    const f1 = res.f1!;
    assert.ok(f1.runs.length === 3 && f1.runs.every((x) => x.ok && finite(x.ms)), 'F1 runs');
    assert.ok(finite(f1.rssGrowthMb), 'F1 RSS growth');

    assert.equal(res.targets.length, 15);
    assert.ok(
      res.targets.every((t) => t.value !== null && typeof t.met === 'boolean'),
      'every target is judged',
    );

    const md = await readFile(report, 'utf8');
    assert.match(md, /## tiny run/);
    assert.match(md, /\| L1 \| composync p50 \|/);
    assert.match(md, new RegExp(`Docker Engine ${res.engine.server.replace(/[.+]/g, '\\$&')}`));
    const svg = await readFile(join(dir, 'tiny.svg'), 'utf8');
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.ok((svg.match(/<circle /g) ?? []).length >= 5 * res.sizes.l1Edits);
  },
);
