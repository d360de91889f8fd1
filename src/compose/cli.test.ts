import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComposeCli } from './cli.js';
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
