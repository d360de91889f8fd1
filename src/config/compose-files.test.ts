import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProjectOptions } from '../core/model.js';
import { findComposeFiles } from './compose-files.js';

describe('findComposeFiles (compose lookup rules)', () => {
  let dir: string;
  const opts = (o: Partial<ProjectOptions>): ProjectOptions => ({
    files: [],
    profiles: [],
    envFiles: [],
    cwd: dir,
    env: {},
    ...o,
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'composync-files-'));
    for (const f of [
      'compose.yaml',
      'docker-compose.yml',
      'compose.override.yml',
      'docker-compose.override.yaml',
      'other.yaml',
      'sub/deeper/.keep',
      'alt/docker-compose.yaml',
      'alt/x.yaml',
      'envdir/a.yaml',
    ])
      await mkdir(join(dir, f, '..'), { recursive: true }).then(() =>
        writeFile(join(dir, f), 'services: {}\n'),
      );
    await writeFile(join(dir, 'envdir/.env'), 'COMPOSE_FILE=a.yaml\n');
    await writeFile(join(dir, 'my.env'), 'COMPOSE_FILE=alt/x.yaml\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('default names in order, with the first override file', () => {
    assert.deepEqual(findComposeFiles(opts({})), {
      files: [join(dir, 'compose.yaml'), join(dir, 'compose.override.yml')],
      projectDir: dir,
    });
  });

  test('walks up from the working directory like compose', () => {
    const r = findComposeFiles(opts({ cwd: join(dir, 'sub/deeper') }));
    assert.equal(r.files[0], join(dir, 'compose.yaml'));
    assert.equal(r.projectDir, dir);
  });

  test('-f files relative to cwd; the project directory is the first file`s', () => {
    const r = findComposeFiles(opts({ files: ['alt/x.yaml', 'other.yaml'] }));
    assert.deepEqual(r.files, [join(dir, 'alt/x.yaml'), join(dir, 'other.yaml')]);
    assert.equal(r.projectDir, join(dir, 'alt'));
  });

  test('--project-directory wins and is where the default lookup starts', () => {
    const r = findComposeFiles(opts({ projectDirectory: 'alt' }));
    assert.deepEqual(r.files, [join(dir, 'alt/docker-compose.yaml')]);
    assert.equal(r.projectDir, join(dir, 'alt'));
  });

  test('COMPOSE_FILE and COMPOSE_PATH_SEPARATOR', () => {
    const r = findComposeFiles(
      opts({ env: { COMPOSE_FILE: 'other.yaml,alt/x.yaml', COMPOSE_PATH_SEPARATOR: ',' } }),
    );
    assert.deepEqual(r.files, [join(dir, 'other.yaml'), join(dir, 'alt/x.yaml')]);
    assert.equal(r.projectDir, dir);
  });

  test('COMPOSE_FILE from the .env of the working directory, or from --env-file', () => {
    const fromDotEnv = findComposeFiles(opts({ cwd: join(dir, 'envdir') }));
    assert.deepEqual(fromDotEnv.files, [join(dir, 'envdir/a.yaml')]);
    const fromEnvFile = findComposeFiles(opts({ envFiles: ['my.env'] }));
    assert.deepEqual(fromEnvFile.files, [join(dir, 'alt/x.yaml')]);
    // The process environment wins over env files.
    const both = findComposeFiles(
      opts({ envFiles: ['my.env'], env: { COMPOSE_FILE: 'other.yaml' } }),
    );
    assert.deepEqual(both.files, [join(dir, 'other.yaml')]);
  });

  test('-f wins over COMPOSE_FILE; stdin is skipped', () => {
    const r = findComposeFiles(opts({ files: ['-', 'other.yaml'], env: { COMPOSE_FILE: 'x' } }));
    assert.deepEqual(r.files, [join(dir, 'other.yaml')]);
  });
});
