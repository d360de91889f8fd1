/** `composync sync [--dry-run]`: one reconcile of every rule, then exit. */
import { EXIT_FAILED, EXIT_OK } from '../errors.js';
import { loadProject, openSession, requireRunning, syncedServices } from './project.js';
import { describeTotals, plural, renderPlan } from './render.js';
import type { CliContext } from './main.js';

/** Exit 1 when a service has no running container, or a rule ends with conflicts or problems. */
export async function runSync(
  ctx: CliContext,
  services: string[],
  o: { dryRun?: boolean; force?: boolean },
): Promise<number> {
  const model = await loadProject(ctx);
  const covered = syncedServices(model, services);
  const { session, engine } = await openSession(ctx, services, { model });
  try {
    await requireRunning(engine, model, covered, 'sync');
    const reports = await session.start({ dryRun: o.dryRun, force: o.force });
    const serviceOf = (rule: string) => rule.split('/')[0] ?? '';
    if (o.dryRun) {
      for (const l of renderPlan(reports, serviceOf)) ctx.out(l);
      return EXIT_OK;
    }
    const bad = reports.some((r) => r.conflicts.length || r.problems.length);
    ctx.out(
      `composync: ${model.projectName}: ${plural(reports.length, 'rule')} synced, ${describeTotals(reports)}` +
        (bad ? ' (see above)' : ''),
    );
    return bad ? EXIT_FAILED : EXIT_OK;
  } finally {
    await session.close();
  }
}
