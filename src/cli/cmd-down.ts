/** `composync down`: stop any watcher of the project, then `docker compose down`. */
import { ComposeCli } from '../compose/cli.js';
import { findComposeFiles } from '../config/compose-files.js';
import { ConfigError, EXIT_OK } from '../errors.js';
import { loadProject } from './project.js';
import { stopWatcher } from './watcher.js';
import type { CliContext } from './main.js';

export async function runDown(ctx: CliContext, o: { volumes?: boolean }): Promise<number> {
  // an x-sync section that does not validate must not keep the stack (or its watcher) up
  const model = await loadProject(ctx).catch((err: unknown) => {
    if (err instanceof ConfigError) return null;
    throw err;
  });
  const pid = await stopWatcher(model?.projectDir ?? findComposeFiles(ctx.project).projectDir);
  if (pid !== null) ctx.out(`composync: stopped the running watcher (pid ${pid})`);
  await new ComposeCli(ctx.project).down({ volumes: o.volumes });
  ctx.out(`composync: ${model?.projectName ?? 'the project'} is down`);
  return EXIT_OK;
}
