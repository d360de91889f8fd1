/** `composync sync [--dry-run]`: one reconcile of every rule, then exit. */
import { EXIT_FAILED, EXIT_OK } from '../errors.js';
import { openSession } from './project.js';
import { renderPlan } from './render.js';
import type { CliContext } from './main.js';

export async function runSync(
  ctx: CliContext,
  services: string[],
  o: { dryRun?: boolean; force?: boolean },
): Promise<number> {
  const { session, model } = await openSession(ctx, services);
  try {
    const reports = await session.start({ dryRun: o.dryRun, force: o.force });
    const serviceOf = (rule: string) => rule.split('/')[0] ?? '';
    if (o.dryRun) {
      for (const l of renderPlan(reports, serviceOf)) ctx.out(l);
      return EXIT_OK;
    }
    const bad = reports.some((r) => r.conflicts.length || r.problems.length);
    ctx.out(
      `composync: ${model.projectName}: ${reports.length} rules synced` +
        (bad ? ' with conflicts or problems (see above)' : ''),
    );
    return bad ? EXIT_FAILED : EXIT_OK;
  } finally {
    await session.close();
  }
}
