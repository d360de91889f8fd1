/**
 * `npm run soak -- [--ops N] [--seed S] [--out FILE]`: the full soak of test/soak-lib.ts (a
 * seeded random workload while `composync up --watch` runs, every target compared with its
 * source by content hash at checkpoints). Prints the seed, the operation count and every
 * difference, writes the result as JSON (default bench/results/soak.json), and exits 1 when a
 * difference or a conflict was found or composync did not survive.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot, TestProject } from '../test/helpers.js';
import { runSoak, SOAK_COMPOSE } from '../test/soak-lib.js';

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '20000' },
    seed: { type: 'string' },
    out: { type: 'string', default: join(repoRoot, 'bench', 'results', 'soak.json') },
    checkpoint: { type: 'string' },
  },
});
const ops = Number(values.ops);
const seed = values.seed !== undefined ? Number(values.seed) >>> 0 : (Date.now() >>> 0) ^ 0x5eed;
if (!Number.isInteger(ops) || ops < 1) {
  console.error('--ops must be a whole number of at least 1');
  process.exit(2);
}

console.log(`soak: seed ${seed}, ${ops} operations`);
const p = await TestProject.create('soakrun', { 'compose.yaml': SOAK_COMPOSE });
let code = 1;
try {
  const r = await runSoak(p, {
    seed,
    ops,
    checkpointEvery: values.checkpoint ? Number(values.checkpoint) : 2000,
    convergeTimeoutMs: 180_000,
    log: (l) => console.log(l),
  });
  const out = {
    date: new Date().toISOString().slice(0, 10),
    seed: r.seed,
    ops: r.ops,
    remoteOps: r.remoteOps,
    bursts: r.bursts,
    opsByKind: r.opsByKind,
    durationS: Math.round(r.durationMs / 1000),
    checkpoints: r.checkpoints.map((c) => ({
      afterOps: c.afterOps,
      convergedMs: c.convergedMs,
      differences: Object.values(c.differences).reduce((a, d) => a + d.length, 0),
    })),
    differences: r.differences,
    differenceLines: r.checkpoints.flatMap((c) =>
      Object.entries(c.differences).flatMap(([t, d]) => d.map((l) => `${c.afterOps}: ${t}: ${l}`)),
    ),
    conflicts: r.conflicts,
    // transient per-path reports (a file deleted while its batch was being archived, ...)
    problems: r.problems.length,
    survived: r.survived,
    stopExitCode: r.stopExitCode,
  };
  const file = resolve(values.out!);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(out, null, 2) + '\n');
  console.log(
    `soak: seed ${r.seed}: ${r.ops} local and ${r.remoteOps} container-side operations in ` +
      `${r.bursts} bursts, ${Math.round(r.durationMs / 1000)} s: ${r.differences} differences, ` +
      `${r.conflicts.length} conflicts, composync ${r.survived ? 'survived' : 'DIED'}; ${file}`,
  );
  code = r.differences === 0 && r.conflicts.length === 0 && r.survived ? 0 : 1;
} finally {
  await p.cleanup();
}
process.exit(code);
