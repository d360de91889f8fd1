import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComposeCli, forgetEarly } from './cli.js';
import { ComposeError } from '../errors.js';

/** A stand-in for the docker CLI: prints its arguments, or fails when asked to. */
async function fakeDocker(): Promise<{ dir: string; path: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'composync-fake-docker-'));
  const path = join(dir, 'docker');
  await writeFile(
    path,
    '#!/bin/sh\ncase "$*" in *fail*) echo "no such thing" >&2; exit 3;; esac\necho "$*"\n',
    { mode: 0o755 },
  );
  return { dir, path };
}

const project = (cwd: string) => ({ files: ['a.yaml'], profiles: [], envFiles: [], cwd, env: {} });

test('a compose call resolves as soon as compose exits, with its whole output', async () => {
  const { dir, path } = await fakeDocker();
  try {
    const cli = new ComposeCli({ ...project(dir), projectName: 'p' }, path);
    const t0 = performance.now();
    // version passes no global flags; config passes them before the command
    assert.equal(await cli.version(), 'compose version --short');
    assert.equal((await cli.configYaml()).trim(), 'compose -f a.yaml -p p config');
    // the npm package used before added a fixed 500 ms after each exit
    assert.ok(performance.now() - t0 < 500, `${Math.round(performance.now() - t0)} ms`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a failing compose call becomes a ComposeError with its stderr', async () => {
  const { dir, path } = await fakeDocker();
  try {
    const cli = new ComposeCli(project(dir), path);
    await assert.rejects(cli.build('fail'), (err: unknown) => {
      assert.ok(err instanceof ComposeError);
      assert.match(err.message, /no such thing/);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a call started early answers the first call of the same project once; others run anew', async () => {
  const { dir, path } = await fakeDocker();
  // the stand-in counts its runs in a file
  const count = join(dir, 'runs');
  await writeFile(path, `#!/bin/sh\necho x >> "${count}"\necho "$*"\n`, { mode: 0o755 });
  const runs = async () => (await readFile(count, 'utf8').catch(() => '')).split('\n').length - 1;
  try {
    const p = { ...project(dir), projectName: 'p' };
    new ComposeCli(p, path).startEarly(['config', 'engineId']);
    assert.equal(
      (await new ComposeCli(p, path).config()).yaml.trim(),
      'compose -f a.yaml -p p config',
    );
    assert.deepEqual(await new ComposeCli(p, path).engineId(), { id: 'info --format {{.ID}}' });
    assert.equal(await runs(), 2, 'the early calls were taken, not run again');
    // taken once: the next call runs compose again
    await new ComposeCli(p, path).config();
    assert.equal(await runs(), 3);
    // another project (or environment) never takes a call started for this one
    new ComposeCli(p, path).startEarly(['config']);
    const other = await new ComposeCli({ ...p, projectName: 'q' }, path).config();
    assert.match(other.yaml, /-p q config/);
    await new ComposeCli({ ...p, env: { ...p.env } }, path).config();
    // and what no one took is dropped when the command ends
    forgetEarly();
    await new ComposeCli(p, path).config();
    // the dropped call may still be running: its run is counted when it ends
    for (const deadline = Date.now() + 10_000; (await runs()) < 7 && Date.now() < deadline;)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(await runs(), 7);
  } finally {
    forgetEarly();
    await rm(dir, { recursive: true, force: true });
  }
});
