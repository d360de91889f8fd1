/**
 * Watcher start-up on a large tree: time for `add()` to resolve, RSS growth, and the latency of
 * one file write, per backend. Usage:
 *
 *   node dist/bench/watcher-startup.js [--dirs 1000] [--files 100] [--backend dirs|poll|recursive]
 *
 * The tree is generated in a temporary directory (10 top-level directories, each holding an
 * equal share of the leaf directories) and removed afterwards.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers';
import { createWatcher, type WatcherBackend } from '../src/watch/index.js';

const { values } = parseArgs({
  options: {
    dirs: { type: 'string', default: '1000' },
    files: { type: 'string', default: '100' },
    backend: { type: 'string' },
    interval: { type: 'string' },
  },
});
const leafDirs = Number(values.dirs);
const filesPerDir = Number(values.files);
const backend = values.backend as WatcherBackend | undefined;

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;

function generate(root: string): number {
  let dirs = 0;
  for (let i = 0; i < leafDirs; i++) {
    const dir = path.join(root, `top${i % 10}`, `leaf${i}`);
    fs.mkdirSync(dir, { recursive: true });
    dirs++;
    for (let j = 0; j < filesPerDir; j++) fs.writeFileSync(path.join(dir, `f${j}.txt`), '');
  }
  return dirs + 10;
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'composync-watcher-bench-'));
  try {
    const dirCount = generate(root);
    const files = leafDirs * filesPerDir;
    const seen = new Map<string, number>();
    const errors: string[] = [];
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    const watcher = createWatcher({
      backend,
      pollInterval: values.interval ? Number(values.interval) : undefined,
      onChange: (p) => seen.set(p, performance.now()),
      onError: (e) => errors.push(e.message),
    });
    const t0 = performance.now();
    await watcher.add(root, (p) => path.basename(p) === 'node_modules');
    const ready = performance.now() - t0;
    const rss1 = process.memoryUsage().rss;

    const target = path.join(root, 'top3', 'leaf3', 'probe.txt');
    const t1 = performance.now();
    fs.writeFileSync(target, 'x');
    const deadline = Date.now() + 10_000;
    while (!seen.has(target) && Date.now() < deadline) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    const latency = seen.has(target) ? `${(seen.get(target)! - t1).toFixed(2)} ms` : 'not seen';
    await watcher.close();

    console.log(
      JSON.stringify({
        backend: backend ?? 'default',
        files,
        dirs: dirCount,
        readyMs: Math.round(ready),
        rssBefore: mb(rss0),
        rssAfter: mb(rss1),
        rssGrowth: mb(rss1 - rss0),
        writeLatency: latency,
        errors,
      }),
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();
