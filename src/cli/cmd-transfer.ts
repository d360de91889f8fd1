/** `composync push` and `composync pull`: stateful one-shot transfers (SPEC §2). */
import { EXIT_FAILED, EXIT_OK } from '../errors.js';
import { openSession } from './project.js';
import { renderPlan } from './render.js';
import type { CliContext } from './main.js';

export interface TransferOptions {
  raw?: boolean;
  skipPull?: boolean;
  dryRun?: boolean;
  force?: boolean;
}

export async function runTransfer(
  ctx: CliContext,
  kind: 'push' | 'pull',
  services: string[],
  o: TransferOptions,
): Promise<number> {
  const { session, model } = await openSession(ctx, services);
  try {
    const reports = await session.transfer(kind, o);
    if (o.dryRun) {
      for (const l of renderPlan(reports, (rule) => rule.split('/')[0] ?? '')) ctx.out(l);
      return EXIT_OK;
    }
    const conflicts = reports.reduce((n, r) => n + r.conflicts.length, 0);
    const problems = reports.reduce((n, r) => n + r.problems.length, 0);
    const moved = reports.reduce(
      (n, r) => n + (kind === 'push' ? r.uploaded + r.deleted : 0) + r.downloaded + r.deletedLocal,
      0,
    );
    ctx.out(
      `composync: ${kind} ${model.projectName}: ${moved} paths moved` +
        (conflicts ? `, ${conflicts} conflicts left as they are on both sides` : '') +
        (problems ? `, ${problems} problems` : ''),
    );
    return conflicts || problems ? EXIT_FAILED : EXIT_OK;
  } finally {
    await session.close();
  }
}
