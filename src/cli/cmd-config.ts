/** `composync config [--json]` and `composync schema`. */
import { describeModel, xSyncJsonSchema } from '../config/index.js';
import { EXIT_OK } from '../errors.js';
import { loadProject } from './project.js';
import type { CliContext } from './main.js';

export async function runConfig(ctx: CliContext, o: { json?: boolean }): Promise<number> {
  const model = await loadProject(ctx);
  ctx.out(o.json ? JSON.stringify(model, null, 2) : describeModel(model));
  return EXIT_OK;
}

export async function runSchema(ctx: CliContext): Promise<number> {
  ctx.out(JSON.stringify(xSyncJsonSchema(), null, 2));
  return EXIT_OK;
}
