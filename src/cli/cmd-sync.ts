/** `composync sync [--dry-run]`: one reconcile of every rule, then exit. */
import { EXIT_FAILED, EXIT_OK, SyncFailedError } from '../errors.js';
import { paths } from '../session/files.js';
import { askResume } from '../session/requests.js';
import { isAlive, readStatusFile } from '../session/status.js';
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
  // a running watcher holds the rules' state: it carries the forced reconcile out itself
  const status = o.force && !o.dryRun ? await readStatusFile(paths.status(model.projectDir)) : null;
  if (status?.watching && isAlive(status.pid) && covered.every((s) => status.services?.includes(s)))
    return resumeInWatcher(ctx, model.projectDir, services, status.pid);
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

/** `sync --force` while a watcher runs: the watcher resumes the rules; print what it did. */
async function resumeInWatcher(
  ctx: CliContext,
  projectDir: string,
  services: string[],
  pid: number,
): Promise<number> {
  ctx.err(`composync: a watcher (pid ${pid}) runs for this project: it resumes the rules`);
  const answer = await askResume(projectDir, services).catch((err: Error) => {
    throw new SyncFailedError(`the watcher (pid ${pid}) did not resume the rules: ${err.message}`, {
      hint: 'Stop it (`composync watch --stop` or Ctrl+C), then run `composync sync --force` again.',
    });
  });
  if (answer.error)
    throw new SyncFailedError(`the watcher (pid ${pid}) could not resume: ${answer.error}`);
  let bad = false;
  for (const o of answer.outcomes) {
    bad ||= o.conflicts > 0 || o.problems.length > 0 || o.halted;
    ctx.out(
      `${o.rule} in ${o.container}: ${o.uploaded} uploaded, ${o.deleted} deleted, ` +
        `${o.downloaded} downloaded, ${o.deletedLocal} deleted locally` +
        (o.conflicts ? `, ${plural(o.conflicts, 'conflict')}` : ''),
    );
    for (const p of o.problems) ctx.out(`  problem: ${p.path}: ${p.message}`);
  }
  ctx.out(`composync: resumed ${plural(answer.outcomes.length, 'rule')} in the watcher`);
  return bad ? EXIT_FAILED : EXIT_OK;
}
