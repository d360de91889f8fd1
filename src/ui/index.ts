/**
 * The dashboard's life cycle. The process that syncs serves it: a watcher started with `--ui`
 * (`up --watch --ui`, `watch --ui`, and so any background watcher started that way) runs the
 * server beside its session and records the page's address in `.composync/ui.json` (mode
 * 0600: the address holds the token). `composync ui` prints that address when such a watcher
 * runs; when none does, it serves the page itself from a session of its own that watches
 * nothing and reconciles only when a button asks (so resolving a conflict still goes through
 * the planner and the state), and gives way, read-only, to a watcher that runs without `--ui`.
 */
import { spawn } from 'node:child_process';
import { readFile, rename, rm, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { SyncModel } from '../core/model.js';
import type { Engine } from '../core/ports.js';
import { EXIT_OK, UsageError } from '../errors.js';
import { composyncDir } from '../session/files.js';
import type { Session } from '../session/session.js';
import { isAlive } from '../session/status.js';
import { loadProject, openSession } from '../cli/project.js';
import type { CliContext } from '../cli/main.js';
import { startUiServer, type UiServer, type UiServerOptions } from './server.js';

/** What `.composync/ui.json` holds. */
export interface UiFile {
  pid: number;
  url: string;
  role: 'watcher' | 'standalone';
  startedAt: string;
}

export const uiFilePath = (projectDir: string) => join(composyncDir(projectDir), 'ui.json');

/** The recorded dashboard, when the process serving it still runs. */
export async function liveDashboard(projectDir: string): Promise<UiFile | null> {
  const text = await readFile(uiFilePath(projectDir), 'utf8').catch(() => null);
  if (!text) return null;
  try {
    const f = JSON.parse(text) as UiFile;
    return typeof f.url === 'string' && isAlive(f.pid) ? f : null;
  } catch {
    return null;
  }
}

/** Start the server and record its address; `close()` stops it and removes the record. */
export async function serveDashboard(opts: UiServerOptions): Promise<UiServer & { file: string }> {
  const server = await startUiServer(opts);
  const file = uiFilePath(opts.model.projectDir);
  const rec: UiFile = {
    pid: process.pid,
    url: server.url,
    role: opts.role,
    startedAt: new Date().toISOString(),
  };
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(rec, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, file);
  return {
    ...server,
    file,
    close: async () => {
      await server.close();
      // only our own record: another dashboard may have started since
      const now = await readFile(file, 'utf8').catch(() => '');
      if (now.includes(`"pid": ${process.pid},`)) await rm(file, { force: true });
    },
  };
}

/** Start the dashboard inside a watcher (`up --watch --ui`, `watch --ui`). */
export function serveWatcherDashboard(
  model: SyncModel,
  engine: Engine,
  session: Session,
  port?: number,
): Promise<UiServer & { file: string }> {
  return serveDashboard({ model, engine, session, role: 'watcher', port });
}

/** Open a URL in the desktop's browser, if there is one; failures are only reported. */
function openBrowser(url: string, err: (l: string) => void): void {
  const cmd =
    process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(cmd, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => err(`composync: could not start ${cmd}; open the address yourself`));
    child.unref();
  } catch {
    err(`composync: could not start ${cmd}; open the address yourself`);
  }
}

/**
 * `composync ui [--port N] [--open]`: print (and open) the dashboard of the running watcher;
 * without one, serve it from this process until interrupted.
 */
export async function runUi(
  ctx: CliContext,
  o: { port?: string; open?: boolean },
): Promise<number> {
  const model = await loadProject(ctx);
  const port = parsePort(o.port);
  const live = await liveDashboard(model.projectDir);
  if (live) {
    ctx.out(live.url);
    ctx.err(
      `composync: the dashboard of the ${live.role === 'watcher' ? 'watcher' : 'dashboard process'} (pid ${live.pid})`,
    );
    if (o.open) openBrowser(live.url, ctx.err);
    return EXIT_OK;
  }
  const { session, engine } = await openSession(ctx, [], { model });
  let dash: (UiServer & { file: string }) | undefined;
  const stop = new Promise<void>((r) => {
    process.once('SIGINT', r);
    process.once('SIGTERM', r);
  });
  try {
    // attach every running container and load each rule's state, without syncing anything
    await session.start({ initialSync: false });
    dash = await serveDashboard({
      model,
      engine,
      session,
      role: 'standalone',
      port,
      refresh: async () => {
        await session.start({ initialSync: false });
      },
    });
    ctx.out(dash.url);
    ctx.err(
      'composync: no watcher runs: serving the dashboard from this process (it syncs only when a button asks); Ctrl+C stops it',
    );
    if (o.open) openBrowser(dash.url, ctx.err);
    await stop;
    return EXIT_OK;
  } finally {
    await dash?.close().catch(() => undefined);
    await session.close();
  }
}

/** `--port`: an integer from 1 to 65535 (absent: a free port). */
export function parsePort(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new UsageError(
      `invalid port: ${v}`,
      'Give a port number from 1 to 65535, or leave the option out for a free port.',
    );
  return n;
}
