/** `composync up` and `composync watch`. */
import { rm, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ComposeCli, type LogsHandle } from '../compose/cli.js';
import type { SyncModel } from '../core/model.js';
import { EXIT_FAILED, EXIT_OK } from '../errors.js';
import { paths } from '../session/files.js';
import type { SyncReport } from '../session/rule-sync.js';
import { checkServices, loadProject, openSession } from './project.js';
import { formatBytes } from './render.js';
import type { CliContext } from './main.js';

export interface UpOptions {
  watch?: boolean;
  build?: boolean;
  wait?: boolean;
  logs?: boolean;
  initialSync?: boolean;
  poll?: boolean;
}

export async function runUp(ctx: CliContext, services: string[], o: UpOptions): Promise<number> {
  const model = await loadProject(ctx);
  checkServices(model, services);
  const compose = new ComposeCli(ctx.project);
  ctx.out(`composync: starting ${model.projectName}${o.wait ? ' (waiting until healthy)' : ''}`);
  await compose.up(services, { build: o.build, wait: o.wait });
  return runSession(ctx, model, services, o, compose, 'all');
}

export async function runWatch(ctx: CliContext, services: string[], o: UpOptions): Promise<number> {
  const model = await loadProject(ctx);
  checkServices(model, services);
  return runSession(ctx, model, services, { ...o, watch: true }, new ComposeCli(ctx.project), 0);
}

function summarize(ctx: CliContext, reports: SyncReport[]): boolean {
  let files = 0;
  let bytes = 0;
  let deleted = 0;
  let conflicts = 0;
  let problems = 0;
  const containers = new Set<string>();
  for (const r of reports) {
    files += r.uploaded;
    bytes += r.bytes;
    deleted += r.deleted;
    conflicts += r.conflicts.length;
    problems += r.problems.length;
    containers.add(r.container);
  }
  ctx.out(
    `composync: initial sync done: ${reports.length} rules in ${containers.size} containers, ` +
      `${files} files uploaded (${formatBytes(bytes)}), ${deleted} deleted` +
      (conflicts ? `, ${conflicts} conflicts` : '') +
      (problems ? `, ${problems} problems` : ''),
  );
  return conflicts === 0 && problems === 0;
}

async function runSession(
  ctx: CliContext,
  model: SyncModel,
  services: string[],
  o: UpOptions,
  compose: ComposeCli,
  tail: number | 'all',
): Promise<number> {
  const { session } = await openSession(ctx, services, model);
  const reports = await session.start({ initialSync: o.initialSync !== false });
  const clean = summarize(ctx, reports);
  if (!o.watch) {
    await session.close();
    return clean ? EXIT_OK : EXIT_FAILED;
  }

  let stopSignal!: () => void;
  const stopped = new Promise<void>((r) => (stopSignal = r));
  const onSignal = () => stopSignal();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  await session.watch({ poll: o.poll });
  const pidFile = paths.pid(model.projectDir);
  await mkdir(dirname(pidFile), { recursive: true });
  await writeFile(pidFile, String(process.pid));

  let logs: LogsHandle | null = null;
  if (o.logs !== false) {
    const synced = session.services.map((s) => s.name);
    logs = compose.logs(services.length ? services : synced, {
      follow: true,
      tail,
      noColor: !ctx.color,
      onLine: (line) => ctx.out(line),
      onError: (err) => ctx.err(`composync: service logs stopped: ${err.message}`),
    });
  }
  const rules = session.services.reduce((n, s) => n + s.rules.length, 0);
  ctx.out(`composync: watching ${rules} rules (Ctrl+C to stop)`);

  await stopped;
  ctx.out('composync: stopping: finishing the batch in flight');
  await session.stop();
  await logs?.stop();
  await rm(pidFile, { force: true });
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  ctx.out('composync: stopped; containers left running');
  return EXIT_OK;
}
