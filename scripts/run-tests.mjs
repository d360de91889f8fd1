// Runs every compiled test file with node's test runner (spec output on screen) and ends with
// the summary line `N passed, N failed[, N skipped]` that CI reads.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const roots = process.argv.slice(2).length ? process.argv.slice(2) : ['dist/src', 'dist/test'];
const files = [];
const walk = (p) => {
  const st = statSync(p, { throwIfNoEntry: false });
  if (!st) return;
  if (st.isDirectory()) for (const n of readdirSync(p).sort()) walk(join(p, n));
  else if (p.endsWith('.test.js')) files.push(p);
};
roots.forEach(walk);
if (files.length === 0) {
  console.log('no test files found under', roots.join(', '));
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const tap = join(tmpdir(), `composync-tests-${process.pid}.tap`);
const args = [
  '--test',
  `--test-concurrency=${process.env.TEST_CONCURRENCY ?? '2'}`,
  '--test-reporter=spec',
  '--test-reporter-destination=stdout',
  '--test-reporter=tap',
  `--test-reporter-destination=${tap}`,
  ...files,
];
const child = spawn(process.execPath, args, { stdio: 'inherit' });
child.on('close', (code) => {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  try {
    const text = readFileSync(tap, 'utf8');
    // the last summary block of the TAP stream is the run's total
    const num = (k) => {
      const m = [...text.matchAll(new RegExp(`^# ${k} (\\d+)$`, 'gm'))].pop();
      return m ? Number(m[1]) : 0;
    };
    passed = num('pass');
    failed = num('fail') + num('cancelled');
    skipped = num('skipped') + num('todo');
    rmSync(tap, { force: true });
  } catch {
    failed = Math.max(failed, 1);
  }
  if (code !== 0 && failed === 0) failed = 1;
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(code === 0 && failed === 0 ? 0 : 1);
});
