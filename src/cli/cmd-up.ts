/** `composync up` and `composync watch`. */
import { ComposeCli, type LogsHandle } from '../compose/cli.js';
import type { SyncModel } from '../core/model.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../errors.js';
import type { SyncReport } from '../session/rule-sync.js';
import { syncTotals } from './render.js';
import { checkServices, loadProject, openSession, serviceWidth } from './project.js';
import { findComposeFiles } from '../config/compose-files.js';
import { watchModel, type ModelWatch } from './reload.js';
import { createUpView, type UpView } from './up-view.js';
import {
  assertNoWatcher,
  claimWatcher,
  DETACHED_ENV,
  releaseWatcher,
  runDetached,
  runStop,
} from './watcher.js';
import { parsePort, serveWatcherDashboard } from '../ui/index.js';
import type { CliContext } from './main.js';

export interface UpOptions {
  watch?: boolean;
  build?: boolean;
  wait?: boolean;
  logs?: boolean;
  initialSync?: boolean;
  poll?: boolean;
  /** Run the watcher in the background (`--detach`). */
  detach?: boolean;
  /** With watch: serve the dashboard from this process (src/ui). */
  ui?: boolean;
  uiPort?: string;
}

/** Options of `watch`, which are compose's (`--no-up`, `--prune`, `--quiet`) plus composync's. */
export interface WatchOptions extends UpOptions {
  /** False with `--no-up`: watch what runs, start nothing. */
  up?: boolean;
  /** False with `--no-prune`: keep the image a rebuild replaced. */
  prune?: boolean;
  /** Hide build and start-up output of compose. */
  quiet?: boolean;
  /** Stop the project's watcher and exit. */
  stop?: boolean;
}

/** How one run of the session loop starts and what it streams. */
interface RunPlan {
  /** Lines of service logs shown from before the start (`all` for up, 0 for watch). */
  tail: number | 'all';
  /** Bring the services up first (create, initial sync, start). */
  startStack: boolean;
  /** Build images before starting. */
  build: boolean;
  /** After a rebuild, remove the image it replaced when nothing else uses it. */
  prune: boolean;
  /** compose's progress output is not shown. */
  quiet: boolean;
  /** Bring services whose compose configuration changed up again while watching. */
  upOnReload: boolean;
}

const detachedChild = () => process.env[DETACHED_ENV] === '1';

/**
 * `docker compose up --no-start`, the initial sync into the created containers, `docker compose
 * up -d`, and with `--watch` the watch loop (in the background with `--detach`).
 */
export async function runUp(ctx: CliContext, services: string[], o: UpOptions): Promise<number> {
  if (o.detach && !o.watch)
    throw new UsageError(
      '--detach needs --watch',
      '`composync up` without --watch already returns once the services run and are synced; `composync up --watch --detach` keeps watching in the background.',
    );
  const model = await loadProject(ctx);
  checkServices(model, services);
  if (o.ui && !o.watch)
    throw new UsageError(
      '--ui needs --watch',
      'Run `composync up --watch --ui`, or `composync ui` beside a running watcher.',
    );
  if (o.watch) await assertNoWatcher(model.projectDir, model.projectName);
  if (o.detach) return runDetached(ctx, model.projectDir, ctx.argv);
  return runSession(ctx, model, services, o, {
    tail: 'all',
    startStack: true,
    build: !!o.build,
    prune: false,
    quiet: false,
    upOnReload: true,
  });
}

/**
 * As `docker compose watch`: build and bring the services up first (unless `--no-up`), then the
 * watch loop. `--stop` stops the project's watcher instead.
 */
export async function runWatch(
  ctx: CliContext,
  services: string[],
  o: WatchOptions,
): Promise<number> {
  if (o.stop) {
    // the model is not needed (and may not load: a watcher keeps running on its last good one)
    if (services.length) throw new UsageError('watch --stop takes no services');
    return runStop(ctx, findComposeFiles(ctx.project).projectDir);
  }
  const model = await loadProject(ctx);
  checkServices(model, services);
  await assertNoWatcher(model.projectDir, model.projectName);
  if (o.detach) return runDetached(ctx, model.projectDir, ctx.argv);
  const up = o.up !== false;
  return runSession(
    ctx,
    model,
    services,
    { ...o, watch: true },
    {
      tail: 0,
      startStack: up,
      build: up,
      prune: o.prune !== false,
      quiet: !!o.quiet,
      upOnReload: up,
    },
  );
}

async function runSession(
  ctx: CliContext,
  model: SyncModel,
  services: string[],
  o: UpOptions,
  plan: RunPlan,
): Promise<number> {
  const compose = new ComposeCli(ctx.project);
  const view = createUpView({
    tty: ctx.tty,
    color: ctx.color,
    width: serviceWidth(model),
    out: ctx.out,
    err: ctx.err,
  });
  const synced = model.services
    .filter((s) => s.rules.length > 0 && (services.length === 0 || services.includes(s.name)))
    .map((s) => s.name);
  let dashboard: { url: string; close(): Promise<void> } | undefined;
  const uiPort = parsePort(o.uiPort);
  let ended = false;
  let stopSignal!: () => void;
  const stopped = new Promise<void>((r) => (stopSignal = r));
  let stopping = false;
  const onSignal = () => {
    stopping = true;
    stopSignal();
  };
  // a watcher claims the project before it changes anything: a second one stops here
  if (o.watch) await claimWatcher(model.projectDir, model.projectName);
  const { session, engine } = await openSession(ctx, services, {
    model,
    reporter: (rec) => view.event(rec),
    output: (line) => view.log(line),
    prune: plan.prune,
  }).catch(async (err: unknown) => {
    if (o.watch) await releaseWatcher(model.projectDir);
    throw err;
  });
  let modelWatch: ModelWatch | undefined;
  const initialSync = o.initialSync !== false;
  const progress = (fn: (p: (text: string) => void) => Promise<void>) => (p: (t: string) => void) =>
    fn(plan.quiet ? () => undefined : p);
  // what the sync after the start found to do (deferred deletions, tmpfs targets)
  let afterStart: SyncReport[] = [];

  try {
    // watch before the initial sync: an edit made while it runs is then not lost
    const watchLocal = () => (o.watch ? session.watchLocal({ poll: o.poll }) : Promise.resolve());
    const reports = await view.start({
      project: model.projectName,
      services: synced,
      startStack: plan.startStack
        ? {
            wait: !!o.wait,
            create: progress((p) => compose.create(services, { build: plan.build, onOutput: p })),
            run: progress(async (p) => {
              await compose.up(services, { wait: o.wait, onOutput: p });
              afterStart = await session.start({ initialSync });
            }),
          }
        : undefined,
      initialSync: {
        skip: !initialSync,
        run: async () => {
          await watchLocal();
          if (plan.startStack) return initialSync ? session.syncBeforeStart(services) : [];
          return session.start({ initialSync });
        },
      },
      watch: o.watch
        ? async () => {
            process.once('SIGINT', onSignal);
            process.once('SIGTERM', onSignal);
            await session.watch({ poll: o.poll });
            if (o.ui) dashboard = await serveWatcherDashboard(model, engine, session, uiPort);
            modelWatch = watchModel(ctx, session, {
              services,
              upOnReload: plan.upOnReload
                ? async (svcs, beforeStart) => {
                    await compose.create(svcs);
                    await beforeStart();
                    await compose.up(svcs);
                  }
                : undefined,
            });
            return session.services.reduce((n, s) => n + s.rules.length, 0);
          }
        : undefined,
    });
    if (dashboard) view.note(`dashboard: ${dashboard.url}`);
    const t = syncTotals([...reports, ...afterStart]);
    const clean = t.conflicts === 0 && t.problems === 0;
    if (!o.watch) return clean ? EXIT_OK : EXIT_FAILED;

    const logged = model.services
      .filter((s) => services.length === 0 || services.includes(s.name))
      .map((s) => s.name);
    // Ctrl+C on a terminal reaches compose too: its exit then is part of stopping, not a failure.
    // A detached watcher writes no service logs into its file: `composync logs` shows them.
    const logs =
      o.logs !== false && !detachedChild()
        ? followLogs(compose, view, services, logged, plan.tail, ctx, () => stopping)
        : null;
    await stopped;
    view.note('stopping: finishing the batch in flight');
    ended = true;
    await dashboard?.close();
    await modelWatch?.close();
    await session.stop();
    await logs?.stop();
    view.note('stopped; containers left running');
    return EXIT_OK;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await modelWatch?.close();
    // a failure half-way (or `up` without --watch) still closes the channels and the log
    if (!ended) await dashboard?.close().catch(() => {});
    if (!ended) await (o.watch ? session.stop() : session.close()).catch(() => {});
    if (o.watch) await releaseWatcher(model.projectDir);
  }
}

function followLogs(
  compose: ComposeCli,
  view: UpView,
  services: string[],
  logged: string[],
  tail: number | 'all',
  ctx: CliContext,
  stopping: () => boolean,
): LogsHandle {
  return compose.logs(services.length ? services : logged, {
    follow: true,
    tail,
    noColor: !ctx.color,
    onLine: (line, stream) => {
      if (!(stopping() && stream === 'stderr')) view.log(line);
    },
    onError: (err) => {
      if (!stopping()) view.warn(`service logs stopped: ${err.message}`);
    },
  });
}
