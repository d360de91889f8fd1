/** `composync down`: stop any watcher of the project, then `docker compose down`. */
import { readFile, rm } from 'node:fs/promises';
import { ComposeCli } from '../compose/cli.js';
import { EXIT_OK } from '../errors.js';
import { paths } from '../session/files.js';
import { loadProject } from './project.js';
import type { CliContext } from './main.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Ask a running watcher to stop (SIGTERM) and wait up to `timeoutMs` for it to exit. */
export async function stopWatcher(projectDir: string, timeoutMs = 15_000): Promise<boolean> {
  const file = paths.pid(projectDir);
  const pid = Number(await readFile(file, 'utf8').catch(() => ''));
  if (!pid || pid === process.pid || !alive(pid)) {
    await rm(file, { force: true });
    return false;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await rm(file, { force: true });
  return true;
}

export async function runDown(ctx: CliContext, o: { volumes?: boolean }): Promise<number> {
  const model = await loadProject(ctx);
  if (await stopWatcher(model.projectDir)) ctx.out('composync: stopped the running watcher');
  await new ComposeCli(ctx.project).down({ volumes: o.volumes });
  ctx.out(`composync: ${model.projectName} is down`);
  return EXIT_OK;
}
