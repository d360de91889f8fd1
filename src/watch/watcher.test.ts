import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createWatcher, type CreateWatcherOptions, type WatcherBackend } from './index.js';
import type { WatchLimits } from './limits.js';
import type { Watcher } from '../core/ports.js';

const TIMEOUT_MS = 5000;

/** Poll `cond` every 10 ms until it holds; fail with `what` after the timeout. */
async function waitFor(cond: () => boolean, what: () => string): Promise<void> {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Records what a watcher reports, as paths relative to the test directory. */
class Recorder {
  readonly seen: string[] = [];
  readonly errors: Error[] = [];

  constructor(private readonly base: string) {}

  readonly onChange = (abs: string): void => {
    assert.ok(path.isAbsolute(abs), `not absolute: ${abs}`);
    this.seen.push(path.relative(this.base, abs).split(path.sep).join('/'));
  };

  readonly onError = (err: Error): void => {
    this.errors.push(err);
  };

  has(rel: string): boolean {
    return this.seen.includes(rel);
  }

  clear(): void {
    this.seen.length = 0;
  }

  async see(...rels: string[]): Promise<void> {
    await waitFor(
      () => rels.every((r) => this.has(r)),
      () => `${JSON.stringify(rels)}; seen ${JSON.stringify(this.seen)}`,
    );
  }
}

interface Fixture {
  /** The test directory; `root` is `base/root`. */
  base: string;
  root: string;
  rec: Recorder;
  watcher: Watcher;
  /** Basenames of directories the predicate ignores (mutable). */
  ignoredNames: Set<string>;
  /** Create files (and their parent directories) below the root. */
  write(...rels: string[]): void;
  at(rel: string): string;
}

function makeFixture(
  backend: WatcherBackend,
  extra: Partial<CreateWatcherOptions> = {},
): Omit<Fixture, 'watcher'> & { options: CreateWatcherOptions } {
  const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'composync-watch-')));
  const root = path.join(base, 'root');
  fs.mkdirSync(root);
  const rec = new Recorder(base);
  const at = (rel: string) => path.join(root, ...rel.split('/'));
  return {
    base,
    root,
    rec,
    ignoredNames: new Set(['node_modules']),
    at,
    write: (...rels) => {
      for (const r of rels) {
        fs.mkdirSync(path.dirname(at(r)), { recursive: true });
        fs.writeFileSync(at(r), r);
      }
    },
    options: {
      backend,
      pollInterval: 20,
      rootPollInterval: 20,
      onChange: rec.onChange,
      onError: rec.onError,
      ...extra,
    },
  };
}

/** Run `fn` against a watcher of a fresh directory, after `setup` created its content. */
async function withWatcher(
  backend: WatcherBackend,
  setup: (f: Omit<Fixture, 'watcher' | 'rec'>) => void,
  fn: (f: Fixture) => Promise<void>,
  extra: Partial<CreateWatcherOptions> = {},
): Promise<void> {
  const fx = makeFixture(backend, extra);
  setup(fx);
  const watcher = createWatcher(fx.options);
  try {
    await watcher.add(fx.root, (abs) => fx.ignoredNames.has(path.basename(abs)));
    await fn({ ...fx, watcher });
  } finally {
    await watcher.close();
    fs.rmSync(fx.base, { recursive: true, force: true });
  }
}

const none = (): void => {};

const backends: WatcherBackend[] = ['dirs', 'poll'];
// Node's recursive fs.watch is native on macOS and Windows only (on Linux it is emulated).
if (process.platform === 'darwin' || process.platform === 'win32') backends.push('recursive');

for (const backend of backends) {
  describe(`watcher (${backend})`, () => {
    test('reports a created, modified and deleted file', async () => {
      await withWatcher(backend, none, async ({ rec, write, at }) => {
        write('a.txt');
        await rec.see('root/a.txt');
        rec.clear();
        fs.appendFileSync(at('a.txt'), ' and more');
        await rec.see('root/a.txt');
        rec.clear();
        fs.unlinkSync(at('a.txt'));
        await rec.see('root/a.txt');
        assert.deepEqual(rec.errors, []);
      });
    });

    test('reports files created together with their directories', async () => {
      await withWatcher(backend, none, async ({ rec, write }) => {
        // mkdir -p a/b/c && echo hi > a/b/c/f: the file exists before a/b/c can be watched
        write('a/b/c/f', 'a/b/c/g', 'a/b/h');
        await rec.see('root/a', 'root/a/b/c/f', 'root/a/b/c/g', 'root/a/b/h');
        rec.clear();
        write('a/b/c/later');
        await rec.see('root/a/b/c/later');
      });
    });

    test('reports a removed directory and its content', async () => {
      await withWatcher(
        backend,
        ({ write }) => write('d/e/f', 'd/g'),
        async ({ rec, at }) => {
          fs.rmSync(at('d'), { recursive: true });
          await rec.see('root/d', 'root/d/e/f', 'root/d/g');
          rec.clear();
          // the directory comes back under the same name: watched again
          fs.mkdirSync(at('d'));
          await rec.see('root/d');
          fs.writeFileSync(at('d/new'), 'x');
          await rec.see('root/d/new');
        },
      );
    });

    test('reports both paths of a renamed file and directory', async () => {
      await withWatcher(
        backend,
        ({ write }) => write('old.txt', 'dir/inner/x'),
        async ({ rec, at }) => {
          fs.renameSync(at('old.txt'), at('new.txt'));
          await rec.see('root/old.txt', 'root/new.txt');
          rec.clear();
          fs.renameSync(at('dir'), at('moved'));
          await rec.see('root/dir', 'root/moved');
          rec.clear();
          // the moved directory is watched under its new name only
          fs.writeFileSync(at('moved/inner/y'), 'y');
          await rec.see('root/moved/inner/y');
          assert.ok(!rec.has('root/dir/inner/y'), JSON.stringify(rec.seen));
        },
      );
    });

    test('does not report changes in ignored directories', async () => {
      await withWatcher(
        backend,
        ({ write }) => write('node_modules/pkg/index.js', 'src/a.ts'),
        async ({ rec, write }) => {
          write('node_modules/pkg/index.js', 'node_modules/pkg/new.js');
          write('src/node_modules/x/y.js');
          write('src/sentinel');
          await rec.see('root/src/sentinel');
          write('src/node_modules/x/z.js', 'src/sentinel2');
          await rec.see('root/src/sentinel2');
          const leaked = rec.seen.filter((p) => /node_modules\/./.test(p));
          assert.deepEqual(leaked, []);
        },
      );
    });

    test('refresh() watches directories no longer ignored and reports their content', async () => {
      await withWatcher(
        backend,
        ({ write }) => write('node_modules/pkg/index.js', 'src/a.ts'),
        async ({ rec, write, watcher, root, ignoredNames }) => {
          ignoredNames.clear();
          await watcher.refresh(root);
          for (const p of ['node_modules', 'node_modules/pkg', 'node_modules/pkg/index.js'])
            assert.ok(rec.has(`root/${p}`), `${p} not reported: ${JSON.stringify(rec.seen)}`);
          assert.ok(!rec.has('root/src/a.ts'), 'already watched content is not reported again');
          rec.clear();
          write('node_modules/pkg/later.js');
          await rec.see('root/node_modules/pkg/later.js');
          // ignoring it again stops the reports
          ignoredNames.add('pkg');
          await watcher.refresh(root);
          rec.clear();
          write('node_modules/pkg/ignored.js', 'node_modules/sentinel');
          await rec.see('root/node_modules/sentinel');
          if (backend !== 'poll') assert.ok(!rec.has('root/node_modules/pkg/ignored.js'));
        },
      );
    });

    test('does not follow symbolic links to directories', async () => {
      await withWatcher(
        backend,
        ({ base, root }) => {
          fs.mkdirSync(path.join(base, 'outside'));
          fs.symlinkSync(path.join(base, 'outside'), path.join(root, 'link'), 'dir');
        },
        async ({ rec, base, write }) => {
          fs.writeFileSync(path.join(base, 'outside', 'secret'), 'x');
          write('sentinel');
          await rec.see('root/sentinel');
          assert.ok(!rec.has('root/link/secret'), JSON.stringify(rec.seen));
        },
      );
    });

    test('a predicate is asked about directories only', async () => {
      // a file source watches its parent directory and skips every directory below it
      const fx = makeFixture(backend);
      const watcher = createWatcher(fx.options);
      const asked: string[] = [];
      try {
        fx.write('package.json', 'sub/x');
        await watcher.add(fx.root, (abs) => {
          asked.push(abs);
          return true;
        });
        fx.write('package.json', 'sub/y', 'new/z', 'other.txt');
        await fx.rec.see('root/package.json', 'root/other.txt');
        for (const abs of asked) assert.ok(fs.statSync(abs).isDirectory(), `asked about ${abs}`);
        assert.ok(!fx.rec.has('root/sub/y') && !fx.rec.has('root/new/z'));
      } finally {
        await watcher.close();
        fs.rmSync(fx.base, { recursive: true, force: true });
      }
    });

    test('reports names with spaces and non-ASCII characters', async () => {
      await withWatcher(backend, none, async ({ rec, write }) => {
        write('dossier é/fichier ü.txt', '日本語/ファイル');
        await rec.see('root/dossier é/fichier ü.txt', 'root/日本語/ファイル');
      });
    });

    test('watches a root again after it is removed and re-created', async () => {
      await withWatcher(
        backend,
        ({ write }) => write('a'),
        async ({ rec, root, write }) => {
          fs.rmSync(root, { recursive: true });
          await rec.see('root');
          rec.clear();
          write('back/again');
          await rec.see('root', 'root/back/again');
          rec.clear();
          write('back/later');
          await rec.see('root/back/later');
        },
      );
    });

    test('watches a root that is a symbolic link to a directory', async () => {
      const fx = makeFixture(backend);
      const watcher = createWatcher(fx.options);
      try {
        fx.write('sub/a');
        const link = path.join(fx.base, 'link');
        fs.symlinkSync(fx.root, link, 'dir');
        await watcher.add(link, () => false);
        fx.write('sub/b', 'new/c');
        await fx.rec.see('link/sub/b', 'link/new/c');
        assert.deepEqual(fx.rec.errors, []);
      } finally {
        await watcher.close();
        fs.rmSync(fx.base, { recursive: true, force: true });
      }
    });

    test('waits for a root that does not exist yet', async () => {
      const fx = makeFixture(backend);
      const watcher = createWatcher(fx.options);
      try {
        const missing = path.join(fx.base, 'later');
        await watcher.add(missing, () => false);
        assert.equal(fx.rec.errors.length, 1);
        assert.match(fx.rec.errors[0]!.message, /later/);
        fs.mkdirSync(path.join(missing, 'sub'), { recursive: true });
        fs.writeFileSync(path.join(missing, 'sub', 'f'), 'x');
        await fx.rec.see('later/sub/f');
        fx.rec.clear();
        fs.writeFileSync(path.join(missing, 'g'), 'x');
        await fx.rec.see('later/g');
      } finally {
        await watcher.close();
        fs.rmSync(fx.base, { recursive: true, force: true });
      }
    });

    test('a root added twice is watched where either predicate lets it', async () => {
      await withWatcher(
        backend,
        ({ write, ignoredNames }) => {
          write('a/x', 'b/x', 'node_modules/x');
          ignoredNames.add('a');
        },
        async ({ rec, watcher, root, write }) => {
          const names = ['node_modules', 'b'];
          await watcher.add(root, (abs) => names.includes(path.basename(abs)));
          assert.deepEqual(rec.seen, [], 'adding a predicate reports nothing');
          write('a/y', 'b/y', 'node_modules/y', 'sentinel');
          await rec.see('root/a/y', 'root/b/y', 'root/sentinel');
          assert.ok(!rec.has('root/node_modules/y'), JSON.stringify(rec.seen));
        },
      );
    });

    test('close() stops events and can be called twice', async () => {
      const fx = makeFixture(backend);
      const watcher = createWatcher(fx.options);
      await watcher.add(fx.root, () => false);
      fx.write('before');
      await fx.rec.see('root/before');
      await watcher.close();
      await watcher.close();
      await assert.rejects(
        watcher.add(fx.root, () => false),
        /closed/,
      );
      fx.rec.clear();
      // a second watcher proves the events happened, and the first one stayed silent
      const rec2 = new Recorder(fx.base);
      const w2 = createWatcher({ ...fx.options, onChange: rec2.onChange, onError: rec2.onError });
      try {
        fx.write('after1');
        await w2.add(fx.root, () => false);
        fx.write('after2');
        await rec2.see('root/after2');
        assert.deepEqual(fx.rec.seen, []);
      } finally {
        await w2.close();
        fs.rmSync(fx.base, { recursive: true, force: true });
      }
    });
  });
}

/** A `fs.watch` that fails with `code` once `after` watches are in place. */
function failingWatch(code: string, after: number): NonNullable<CreateWatcherOptions['watchDir']> {
  let calls = 0;
  return (dir, listener) => {
    if (++calls > after) {
      const err: NodeJS.ErrnoException = new Error(`${code}: fake, watch '${dir}'`);
      err.code = code;
      throw err;
    }
    return fs.watch(dir, listener);
  };
}

/** The limits of a Linux machine, as the watcher reads them (overridable). */
const linuxLimits =
  (over: Partial<WatchLimits> = {}) =>
  (): WatchLimits => ({
    maxUserWatches: 8192,
    maxUserInstances: 128,
    openFiles: 20,
    openFilesLimit: 1024,
    ...over,
  });

describe('watcher (dirs): out of watches', () => {
  for (const [code, after, limits, advice] of [
    ['ENOSPC', 2, linuxLimits(), /sysctl fs\.inotify\.max_user_watches=524288/],
    // EMFILE from fs.watch is inotify_init: the instance limit, unless the fds are used up
    ['EMFILE', 2, linuxLimits(), /sysctl fs\.inotify\.max_user_instances=1024/],
    ['EMFILE', 2, linuxLimits({ openFiles: 1024 }), /ulimit -n/],
    ['ENOSPC', 0, linuxLimits(), /sysctl fs\.inotify\.max_user_watches=524288/],
  ] as const) {
    test(`falls back to polling on ${code} after ${after} watches and says so once (${advice.source})`, async () => {
      await withWatcher(
        'dirs',
        ({ write }) => write('a/b/c/f', 'd/e'),
        async ({ rec, write }) => {
          assert.equal(rec.errors.length, 1, rec.errors.map((e) => e.message).join('\n'));
          assert.match(rec.errors[0]!.message, /polls instead/);
          assert.match(rec.errors[0]!.message, advice);
          write('a/b/c/g', 'new/dir/h');
          await rec.see('root/a/b/c/g', 'root/new/dir/h');
          assert.equal(rec.errors.length, 1);
        },
        { watchDir: failingWatch(code, after), limits },
      );
    });
  }

  test('part-way through a tree: says what watching needs before add() resolves, then sees every file', async () => {
    const dirs = Array.from({ length: 30 }, (_, i) => `d${String(i).padStart(2, '0')}`);
    await withWatcher(
      'dirs',
      ({ write }) => write(...dirs.map((d) => `${d}/old.txt`)),
      async ({ rec, write, at }) => {
        // told before add() resolved, that is before composync says it is watching
        assert.equal(rec.errors.length, 1, rec.errors.map((e) => e.message).join('\n'));
        const msg = rec.errors[0]!.message;
        // the root and its 30 directories; 10 watches were in place when the limit of 12 was
        // reached, so other programs hold about 2
        assert.match(msg, /one per directory, 31 here/);
        assert.match(msg, /fs\.inotify\.max_user_watches is 12 /);
        assert.match(msg, /about 2 of them held by other programs/);
        assert.match(msg, /^ {2}sudo sysctl fs\.inotify\.max_user_watches=524288$/m);
        assert.match(
          msg,
          /^ {2}echo fs\.inotify\.max_user_watches=524288 \| sudo tee \/etc\/sysctl\.d\/90-composync\.conf$/m,
        );
        assert.match(msg, /polls instead: it still sees every change/);
        assert.match(msg, /\(30 files\)/);
        // no partial watch: a change in every directory is seen, watched or not before
        for (const d of dirs) fs.appendFileSync(at(`${d}/old.txt`), ' changed');
        write(...dirs.map((d) => `${d}/new.txt`));
        await rec.see(...dirs.flatMap((d) => [`root/${d}/old.txt`, `root/${d}/new.txt`]));
        assert.equal(rec.errors.length, 1);
      },
      { watchDir: failingWatch('ENOSPC', 10), limits: linuxLimits({ maxUserWatches: 12 }) },
    );
  });

  test('warns once when the watches in place come close to the limit', async () => {
    await withWatcher(
      'dirs',
      ({ write }) => write('a/f', 'b/f', 'c/f', 'd/f', 'e/f', 'f/f', 'g/f', 'h/f', 'i/f'),
      async ({ rec, write, watcher, base }) => {
        assert.equal(rec.errors.length, 1, rec.errors.map((e) => e.message).join('\n'));
        assert.match(rec.errors[0]!.message, /^10 inotify watches .* close to the limit/);
        assert.match(rec.errors[0]!.message, /sysctl fs\.inotify\.max_user_watches=524288/);
        write('a/g');
        await rec.see('root/a/g');
        const other = path.join(base, 'other');
        fs.mkdirSync(other);
        await watcher.add(other, () => false);
        assert.equal(rec.errors.length, 1);
      },
      { limits: linuxLimits({ maxUserWatches: 10 }) },
    );
  });
});

describe('watcher (dirs): leaf directories', () => {
  test('every directory is watched, leaves included, and a directory made in a leaf later too', async () => {
    const watchedDirs = new Set<string>();
    const leaves = Array.from({ length: 12 }, (_, i) => `m${i % 3}/leaf${i}`);
    await withWatcher(
      'dirs',
      ({ write }) => write(...leaves.map((l) => `${l}/f.txt`)),
      async ({ rec, write, at, root }) => {
        // the root, 3 middle directories and 12 leaves
        assert.equal(watchedDirs.size, 16, [...watchedDirs].join('\n'));
        for (const l of leaves) assert.ok(watchedDirs.has(at(l)), l);
        for (const l of leaves) fs.appendFileSync(at(`${l}/f.txt`), ' changed');
        write(...leaves.map((l) => `${l}/new/g.txt`));
        await rec.see(
          ...leaves.flatMap((l) => [`root/${l}/f.txt`, `root/${l}/new`, `root/${l}/new/g.txt`]),
        );
        // the new directories are watched too
        assert.ok(leaves.every((l) => watchedDirs.has(at(`${l}/new`))));
        write(`${leaves[0]}/new/h.txt`);
        await rec.see(`root/${leaves[0]}/new/h.txt`);
        assert.ok(watchedDirs.has(root));
        assert.deepEqual(rec.errors, []);
      },
      {
        watchDir: (dir, listener) => {
          watchedDirs.add(dir);
          return fs.watch(dir, listener);
        },
      },
    );
  });
});
