/**
 * The benchmark of issue 6: composync against `docker compose watch` and raw archive copies, on
 * one stack in one run. Writes `<out>/<name>.json` and `<out>/<name>.svg`, then regenerates the
 * report (bench/RESULTS.md) from every result file in `<out>`.
 *
 *   npm run bench          # full sizes (about 30 minutes)
 *   npm run bench:quick    # small sizes (a few minutes)
 *   node dist/bench/run.js [--quick | --tiny] [--name NAME] [--out DIR] [--report FILE]
 *                          [--only L1,B1,I1,R1,F1] [--no-compose-watch] [--no-compose-2.26]
 *   node dist/bench/run.js --render    # only regenerate the report from <out>
 *
 * To profile composync while it runs: BENCH_COMPOSYNC_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=DIR".
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  evaluateTargets,
  printTargets,
  renderSvg,
  writeReport,
  type BenchResult,
} from './report.js';
import { run } from './lib.js';
import { finishRun, startRun } from './run-info.js';
import { repoRoot, Stack } from './stack.js';
import { editWorkloads, initialSync, resources, type Sizes } from './workloads.js';

const SIZES: Record<BenchResult['kind'], Sizes> = {
  full: {
    l1Files: 10_000,
    l1Edits: 100,
    l1GapMs: 200,
    b1Files: 2_000,
    b1Dirs: 50,
    b1Size: 4096,
    b1Reps: 5,
    i1Files: 100_000,
    i1Dirs: 1_000,
    i1AvgSize: 4096,
    i1Reps: 2,
    r1IdleS: 60,
    f1Mb: 1024,
    f1Reps: 2,
  },
  quick: {
    l1Files: 2_000,
    l1Edits: 30,
    l1GapMs: 200,
    b1Files: 2_000,
    b1Dirs: 50,
    b1Size: 4096,
    b1Reps: 2,
    i1Files: 10_000,
    i1Dirs: 100,
    i1AvgSize: 4096,
    i1Reps: 1,
    r1IdleS: 10,
    f1Mb: 100,
    f1Reps: 1,
  },
  tiny: {
    l1Files: 200,
    l1Edits: 4,
    l1GapMs: 100,
    b1Files: 100,
    b1Dirs: 10,
    b1Size: 4096,
    b1Reps: 1,
    i1Files: 500,
    i1Dirs: 10,
    i1AvgSize: 4096,
    i1Reps: 1,
    r1IdleS: 1,
    f1Mb: 4,
    f1Reps: 1,
  },
};

const WORKLOADS = ['L1', 'B1', 'I1', 'R1', 'F1'] as const;

/** The DOCKER_CONFIG directory of compose 2.26 (scripts/compose-compat.sh), or undefined. */
async function compat226(): Promise<string | undefined> {
  const r = await run('bash', [join(repoRoot, 'scripts', 'compose-compat.sh')], {
    timeoutMs: 300_000,
  });
  const dir = r.stdout.trim().split('\n').pop();
  if (r.code === 0 && dir) return dir;
  process.stderr.write(`bench: no compose 2.26 (scripts/compose-compat.sh failed): ${r.stderr}\n`);
  return undefined;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      tiny: { type: 'boolean', default: false },
      name: { type: 'string' },
      out: { type: 'string', default: join(repoRoot, 'bench', 'results') },
      report: { type: 'string', default: join(repoRoot, 'bench', 'RESULTS.md') },
      only: { type: 'string', default: WORKLOADS.join(',') },
      'no-compose-watch': { type: 'boolean', default: false },
      'no-compose-2.26': { type: 'boolean', default: false },
      render: { type: 'boolean', default: false },
    },
  });
  if (values.render) {
    await writeReport(resolve(values.out!), resolve(values.report!));
    return;
  }
  const kind: BenchResult['kind'] = values.tiny ? 'tiny' : values.quick ? 'quick' : 'full';
  const sizes = SIZES[kind];
  const only = new Set(values.only!.split(',').map((s) => s.trim().toUpperCase()));
  const name = values.name ?? kind;
  const out = resolve(values.out!);
  const info = await startRun(kind, name, 'dist/bench/run.js');
  const composeWatch = !values['no-compose-watch'];
  // compose 2.26 beside today's compose (not in --tiny, the CI's completion check)
  const compose226 =
    composeWatch &&
    kind !== 'tiny' &&
    !values['no-compose-2.26'] &&
    (only.has('L1') || only.has('B1'))
      ? await compat226()
      : undefined;
  const stack = await Stack.create({ quietDisk: kind !== 'tiny', compose226: !!compose226 });
  const partial: Omit<BenchResult, 'targets'> = { ...info, kind, sizes };
  try {
    process.stderr.write(`bench: ${kind} run, project ${stack.name} in ${stack.dir}\n`);
    await stack.up();
    if (only.has('L1') || only.has('B1')) {
      const r = await editWorkloads(stack, sizes, { composeWatch, compose226 });
      if (only.has('L1')) partial.l1 = r.l1;
      if (only.has('B1')) partial.b1 = r.b1;
      partial.ready = r.ready;
    }
    if (only.has('I1')) partial.i1 = await initialSync(stack, sizes);
    if (only.has('R1') || only.has('F1')) {
      const r = await resources(stack, sizes, { synced: !!partial.i1 });
      if (only.has('R1')) partial.r1 = r.r1;
      if (only.has('F1')) partial.f1 = r.f1;
    }
  } finally {
    await stack.destroy();
  }
  finishRun(partial);
  const result: BenchResult = { ...partial, targets: evaluateTargets(partial) };

  await mkdir(out, { recursive: true });
  await writeFile(join(out, `${name}.json`), JSON.stringify(result, null, 2) + '\n');
  await writeFile(join(out, `${name}.svg`), renderSvg(result));
  await writeReport(out, resolve(values.report!));
  printTargets(result.targets);
  process.stdout.write(`wrote ${join(out, `${name}.json`)} and ${values.report}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
