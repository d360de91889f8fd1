/**
 * Where composync keeps its files (SPEC §5), and atomic writes: write a temporary file next to
 * the destination, then rename it over, so a crash never leaves a torn file.
 */
import { mkdir, rename, writeFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export function composyncDir(projectDir: string): string {
  return join(projectDir, '.composync');
}

export const paths = {
  state: (projectDir: string, ruleId: string, container: string) =>
    join(composyncDir(projectDir), 'state', `${ruleId.replace(/\//g, '.')}@${container}.json`),
  syncLog: (projectDir: string) => join(composyncDir(projectDir), 'logs', 'sync.log'),
  status: (projectDir: string) => join(composyncDir(projectDir), 'status.json'),
  pid: (projectDir: string) => join(composyncDir(projectDir), 'watcher.pid'),
  /** Output of a watcher started with `--detach`. */
  watcherLog: (projectDir: string) => join(composyncDir(projectDir), 'logs', 'watcher.log'),
};

let seq = 0;

export async function writeFileAtomic(
  path: string,
  data: string | Buffer | AsyncIterable<string>,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${++seq}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
