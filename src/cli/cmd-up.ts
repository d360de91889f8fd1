/** `composync up` and `composync watch`. */
import { rm, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ComposeCli, type LogsHandle } from '../compose/cli.js';
import type { SyncModel } from '../core/model.js';
import type { Engine } from '../core/ports.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../errors.js';
import { paths } from '../session/files.js';
import type { Session } from '../session/session.js';
import { syncTotals } from './render.js';
import { checkServices, loadProject, openSession, serviceWidth } from './project.js';
import { createUpView, type UpView } from './up-view.js';
import { parsePort, serveWatcherDashboard } from '../ui/index.js';
import type { CliContext } from './main.js';

export interface UpOptions {
  watch?: boolean;
  build?: boolean;
  wait?: boolean;
  logs?: boolean;
  initialSync?: boolean;
  poll?: boolean;
  /** With watch: serve the dashboard from this process (src/ui). */
  ui?: boolean;
  uiPort?: string;
}

/** `docker compose up -d`, the initial sync, and with `--watch` the watch loop. */
export async function runUp(ctx: CliContext, services: string[], o: UpOptions): Promise<number> {
  const model = await loadProject(ctx);
  checkServices(model, services);
  if (o.ui && !o.watch)
    throw new UsageError(
      '--ui needs --watch',
      'Run `composync up --watch --ui`, or `composync ui` beside a running watcher.',
    );
  return runSession(ctx, model, services, o, 'all', true);
}

/** The watch loop for a stack that is already up. */
export async function runWatch(ctx: CliContext, services: string[], o: UpOptions): Promise<number> {
  const model = await loadProject(ctx);
  checkServices(model, services);
  return runSession(ctx, model, services, { ...o, watch: true }, 0, false);
}

async function runSession(
  ctx: CliContext,
  model: SyncModel,
  services: string[],
  o: UpOptions,
  tail: number | 'all',
  startStack: boolean,
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
  let session: Session | undefined;
  let engine: Engine | undefined;
  let dashboard: { url: string; close(): Promise<void> } | undefined;
  const uiPort = parsePort(o.uiPort);
  let ended = false;
  const pidFile = paths.pid(model.projectDir);
  let stopSignal!: () => void;
  const stopped = new Promise<void>((r) => (stopSignal = r));
  let stopping = false;
  const onSignal = () => {
    stopping = true;
    stopSignal();
  };

  try {
    const reports = await view.start({
      project: model.projectName,
      services: synced,
      startStack: startStack
        ? {
            wait: !!o.wait,
            run: (progress) =>
              compose.up(services, { build: o.build, wait: o.wait, onOutput: progress }),
          }
        : undefined,
      initialSync: {
        skip: o.initialSync === false,
        run: async () => {
          const opened = await openSession(ctx, services, {
            model,
            reporter: (rec) => view.event(rec),
            output: (line) => view.log(line),
          });
          session = opened.session;
          engine = opened.engine;
          // watch before the initial sync: an edit made while it runs is then not lost
          if (o.watch) await session.watchLocal({ poll: o.poll });
          return session.start({ initialSync: o.initialSync !== false });
        },
      },
      watch: o.watch
        ? async () => {
            process.once('SIGINT', onSignal);
            process.once('SIGTERM', onSignal);
            await session!.watch({ poll: o.poll });
            await mkdir(dirname(pidFile), { recursive: true });
            await writeFile(pidFile, String(process.pid));
            if (o.ui) dashboard = await serveWatcherDashboard(model, engine!, session!, uiPort);
            return session!.services.reduce((n, s) => n + s.rules.length, 0);
          }
        : undefined,
    });
    if (dashboard) view.note(`dashboard: ${dashboard.url}`);
    const t = syncTotals(reports);
    const clean = t.conflicts === 0 && t.problems === 0;
    if (!o.watch) return clean ? EXIT_OK : EXIT_FAILED;

    const logged = model.services
      .filter((s) => services.length === 0 || services.includes(s.name))
      .map((s) => s.name);
    // Ctrl+C on a terminal reaches compose too: its exit then is part of stopping, not a failure
    const logs =
      o.logs !== false
        ? followLogs(compose, view, services, logged, tail, ctx, () => stopping)
        : null;
    await stopped;
    view.note('stopping: finishing the batch in flight');
    ended = true;
    await dashboard?.close();
    await session!.stop();
    await logs?.stop();
    await rm(pidFile, { force: true });
    view.note('stopped; containers left running');
    return EXIT_OK;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // a failure half-way (or `up` without --watch) still closes the channels and the log
    if (!ended) await dashboard?.close().catch(() => {});
    if (session && !ended) await (o.watch ? session.stop() : session.close()).catch(() => {});
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
