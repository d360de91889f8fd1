/**
 * The npm package as a user gets it: `npm pack` on a copy of the repository's files (so its
 * `prepack` build starts from no dist/ and never touches the dist/ the other tests run from),
 * the tarball's contents, then `npm install -g --prefix` into a temporary prefix and the
 * installed `composync` run from outside the repository.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, sh } from './helpers.js';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe('the npm package', { timeout: 600_000 }, () => {
  let work: string;
  let tarball: string;
  let files: string[];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'composync-package-'));
    // the files a fresh clone has: tracked and new files, not ignored ones (no dist/)
    const ls = await sh('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: repoRoot,
    });
    assert.equal(ls.code, 0, ls.stderr);
    const clone = join(work, 'clone');
    for (const rel of ls.stdout.split('\0').filter(Boolean)) {
      await mkdir(join(clone, rel, '..'), { recursive: true });
      await cp(join(repoRoot, rel), join(clone, rel)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err; // deleted in the working tree
      });
    }
    // the dependencies `npm ci` installed (the build needs typescript)
    await symlink(join(repoRoot, 'node_modules'), join(clone, 'node_modules'), 'dir');
    const packed = await sh(npm, ['pack', '--json', '--pack-destination', work], {
      cwd: clone,
      timeoutMs: 300_000,
    });
    assert.equal(packed.code, 0, packed.stdout + packed.stderr);
    const info = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    tarball = join(work, info[0]!.filename);
    files = info[0]!.files.map((f) => f.path).sort();
  });

  after(() => rm(work, { recursive: true, force: true }));

  test('npm pack builds first and ships bin/, the compiled sources, the dashboard, README and LICENSE only', () => {
    assert.ok(files.includes('bin/composync.js'), files.join('\n'));
    assert.ok(files.includes('dist/src/cli/main.js'), files.join('\n'));
    assert.ok(files.includes('README.md'));
    assert.ok(files.includes('LICENSE'));
    assert.ok(files.includes('package.json'));
    // the dashboard's page is served from the package itself
    assert.ok(files.includes('src/ui/static/index.html'), files.join('\n'));
    const other = files.filter(
      (f) =>
        !['README.md', 'LICENSE', 'package.json', 'bin/composync.js'].includes(f) &&
        !/^dist\/src\/.*\.js$/.test(f) &&
        !/^src\/ui\/static\/[\w.-]+\.(html|js|css)$/.test(f),
    );
    assert.deepEqual(other, []);
    assert.deepEqual(
      files.filter((f) => /\.test\.js$|\.map$|\.ts$|^dist\/src\/testing\//.test(f)),
      [],
    );
  });

  test('installed with npm install -g --prefix, it runs from outside the repository', async () => {
    const prefix = join(work, 'prefix');
    const inst = await sh(
      npm,
      ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball],
      { cwd: work, timeoutMs: 300_000 },
    );
    assert.equal(inst.code, 0, inst.stdout + inst.stderr);
    const bin = join(prefix, 'bin', 'composync');
    const outside = join(work, 'elsewhere');
    await cp(join(repoRoot, 'examples', 'static-site'), outside, { recursive: true });
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    delete env.COMPOSE_FILE;

    const v = await sh(bin, ['--version'], { cwd: outside, env });
    assert.equal(v.code, 0, v.stderr);
    const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    assert.equal(v.stdout.trim(), version);

    const schema = await sh(bin, ['schema'], { cwd: outside, env });
    assert.equal(schema.code, 0, schema.stderr);
    assert.ok((JSON.parse(schema.stdout) as { $schema?: string }).$schema);

    const cfg = await sh(bin, ['-f', 'compose.yaml', 'config'], { cwd: outside, env });
    assert.equal(cfg.code, 0, cfg.stdout + cfg.stderr);
    assert.match(cfg.stdout, /site/);

    // what the prefix holds is the package, not a link back into the repository
    const installed = join(prefix, 'lib', 'node_modules', 'composync');
    assert.deepEqual((await readdir(installed)).sort(), [
      'LICENSE',
      'README.md',
      'bin',
      'dist',
      'node_modules',
      'package.json',
      'src',
    ]);
  });
});
