/**
 * The watcher against a real inotify limit, without the engine and without touching the
 * machine's sysctl: it runs in a user namespace of its own (`unshare -Ur`), whose inotify
 * watch limit (`user.max_inotify_watches`, one per namespace, below the machine's) is set lower
 * than the tree needs. The kernel then refuses a watch with ENOSPC part-way through the tree;
 * the watcher must say what it needs and how to raise the limit, and still see every change.
 * Skipped where user namespaces are not allowed.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot, sh } from './helpers.js';

const DIRS = 60;
const LIMIT = 25;

const userNamespaces =
  process.platform === 'linux' &&
  spawnSync('unshare', ['-Ur', 'sh', '-c', 'echo 1 > /proc/sys/user/max_inotify_watches'])
    .status === 0;

const base = mkdtempSync(join(tmpdir(), 'composync-inotify-'));
after(() => rmSync(base, { recursive: true, force: true }));

// The child watches the tree, then changes a file in every directory and waits until each
// change is reported; it prints what it was told and what it missed.
const child = `
import fs from 'node:fs';
import path from 'node:path';
const { createWatcher } = await import(${JSON.stringify(
  pathToFileURL(join(repoRoot, 'dist', 'src', 'watch', 'index.js')).href,
)});
const root = process.argv[2];
const seen = new Set();
const errors = [];
const w = createWatcher({ onChange: (p) => seen.add(p), onError: (e) => errors.push(e.message) });
await w.add(root, () => false);
const toldBeforeReady = errors.length;
const want = [];
for (const d of fs.readdirSync(root)) {
  const f = path.join(root, d, 'f.txt');
  fs.appendFileSync(f, ' changed');
  want.push(f);
}
const deadline = Date.now() + 20000;
while (want.some((f) => !seen.has(f)) && Date.now() < deadline)
  await new Promise((r) => setTimeout(r, 20));
await w.close();
console.log(JSON.stringify({ toldBeforeReady, errors, missed: want.filter((f) => !seen.has(f)) }));
`;

test(
  'a real ENOSPC part-way through a tree: the watcher says what it needs and sees every change',
  { skip: !userNamespaces && 'user namespaces are not available here', timeout: 60_000 },
  async () => {
    const root = join(base, 'root');
    for (let i = 0; i < DIRS; i++) {
      mkdirSync(join(root, `d${i}`), { recursive: true });
      writeFileSync(join(root, `d${i}`, 'f.txt'), 'x');
    }
    const script = join(base, 'child.mjs');
    writeFileSync(script, child);
    const r = await sh(
      'unshare',
      [
        '-Ur',
        'sh',
        '-c',
        `echo ${LIMIT} > /proc/sys/user/max_inotify_watches && exec "$0" "$@"`,
        process.execPath,
        script,
        root,
      ],
      { timeoutMs: 50_000 },
    );
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      toldBeforeReady: number;
      errors: string[];
      missed: string[];
    };
    assert.equal(out.errors.length, 1, out.errors.join('\n'));
    assert.equal(out.toldBeforeReady, 1, 'told before add() resolved');
    const msg = out.errors[0]!;
    assert.match(msg, new RegExp(`one per directory, ${DIRS + 1} here`));
    assert.match(msg, new RegExp(`the limit user\\.max_inotify_watches is ${LIMIT} `));
    assert.match(msg, /sudo sysctl user\.max_inotify_watches=524288/);
    assert.match(msg, /polls instead/);
    assert.deepEqual(out.missed, [], 'every change is seen: no partial watch');
  },
);
