/** `composync down`: stop any watcher of the project, then `docker compose down`. */
import { ComposeCli } from '../compose/cli.js';
import { EXIT_OK } from '../errors.js';
import { loadProject } from './project.js';
import { stopWatcher } from './watcher.js';
import type { CliContext } from './main.js';

export async function runDown(ctx: CliContext, o: { volumes?: boolean }): Promise<number> {
  const model = await loadProject(ctx);
  const pid = await stopWatcher(model.projectDir);
  if (pid !== null) ctx.out(`composync: stopped the running watcher (pid ${pid})`);
  await new ComposeCli(ctx.project).down({ volumes: o.volumes });
  ctx.out(`composync: ${model.projectName} is down`);
  return EXIT_OK;
}
