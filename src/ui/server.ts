/**
 * The dashboard's HTTP server: one page (src/ui/static), its live data as server-sent events,
 * and the few actions it offers (resolve a conflict, verify, sync or resume a service).
 *
 * Who can use it: the server listens on 127.0.0.1 only, and every URL carries a random
 * 192-bit token as its first path segment (`/TOKEN/...`), so the page's own relative URLs
 * carry it and nothing else on the machine or in the browser can guess one (403 otherwise).
 * A request whose Host is not this loopback address is refused too (DNS rebinding). Requests
 * that change something are POSTs that must also carry the token in the `X-Composync-Token`
 * header and a JSON body: a form or an image on another site cannot send either without a
 * CORS preflight, which this server never grants.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Mode, SyncModel } from '../core/model.js';
import { modeDirection } from '../core/modes.js';
import type { Engine } from '../core/ports.js';
import { PathFilter } from '../core/ignore.js';
import { RuleSync } from '../session/rule-sync.js';
import type { Session } from '../session/session.js';
import { paths, composyncDir } from '../session/files.js';
import { LOG_EVENTS, type LogRecord } from '../session/sync-log.js';
import { isAlive, readStatusFile, statusReport, type StatusFile } from '../session/status.js';
import { readSyncLog } from '../cli/cmd-logs.js';
import { verifyOne } from '../cli/cmd-verify.js';
import { UsageError } from '../errors.js';
import { isRulePath, readVersions } from './versions.js';

/** The page's files: a fixed list, never a path taken from the URL. */
const STATIC: Record<string, string> = {
  '': 'index.html',
  'index.html': 'index.html',
  'app.js': 'app.js',
  'style.css': 'style.css',
};
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};
/** Shipped with the package (package.json `files`): dist/src/ui → src/ui/static. */
export const STATIC_DIR = fileURLToPath(new URL('../../../src/ui/static/', import.meta.url));

/** Events kept for a page that connects (the newest; the log file has the rest). */
const BACKLOG = 1000;
const MAX_BODY = 64 * 1024;

export interface UiServerOptions {
  model: SyncModel;
  engine: Engine;
  session: Session;
  /**
   * `watcher`: this process watches and syncs (up --watch --ui, watch --ui); `standalone`:
   * `composync ui` without a watcher, which reconciles only when asked.
   */
  role: 'watcher' | 'standalone';
  /** 0 or absent: a free port. */
  port?: number;
  /** Before an action of a standalone server: reload the state (another command may have synced). */
  refresh?: () => Promise<void>;
}

export interface UiServer {
  /** The page's address, token included. */
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const SECURITY_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

/** Start the dashboard's server on 127.0.0.1; resolves once it listens. */
export async function startUiServer(opts: UiServerOptions): Promise<UiServer> {
  const { model, engine, session } = opts;
  const token = randomBytes(24).toString('base64url');
  const tokenBuf = Buffer.from(token);
  const clients = new Set<ServerResponse>();
  const backlog: LogRecord[] = [];
  let closed = false;
  let port = 0;

  const sameToken = (s: string | undefined) => {
    const b = Buffer.from(s ?? '');
    return b.length === tokenBuf.length && timingSafeEqual(b, tokenBuf);
  };

  const send = (res: ServerResponse, event: string, data: unknown) =>
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const broadcast = (event: string, data: unknown) => {
    for (const c of clients) send(c, event, data);
  };

  // --- the sync log: followed from the file, so every writer's events show (this process,
  // another command), across rotations
  const onLine = (line: string) => {
    if (!line.trim()) return;
    let rec: LogRecord;
    try {
      rec = JSON.parse(line) as LogRecord;
    } catch {
      return;
    }
    backlog.push(rec);
    // trimmed now and then, not per line: the whole log is read at start
    if (backlog.length > 2 * BACKLOG) backlog.splice(0, backlog.length - BACKLOG);
    broadcast('log', [rec]);
  };
  const tail = readSyncLog(paths.syncLog(model.projectDir), onLine, () => closed, 100).catch(
    () => undefined,
  );

  // --- the state: the status file (rewritten by the watcher after every change) and the
  // engine's container list
  const services = session.services.filter((s) => s.rules.length > 0);
  let containers: { name: string; service: string; state: string; running: boolean }[] = [];
  let lastState = '';
  const refreshContainers = async () => {
    const list = await engine
      .listContainers(
        model.projectName,
        services.map((s) => s.name),
      )
      .catch(() => null);
    if (list)
      containers = list.map((c) => ({
        name: c.name,
        service: c.service,
        state: c.state,
        running: c.running,
      }));
  };
  const buildState = async () => {
    const file = await readStatusFile(paths.status(model.projectDir));
    const live = !!file && file.watching && isAlive(file.pid);
    const report = statusReport(model, file, live);
    const otherWatcher = live && file!.pid !== process.pid ? file!.pid : null;
    const actions =
      opts.role === 'watcher'
        ? { enabled: true }
        : otherWatcher
          ? {
              enabled: false,
              reason: `a watcher (pid ${otherWatcher}) runs without the dashboard: it shows here live, but only that watcher may change files; stop it and run \`composync watch --ui\` to resolve conflicts here`,
            }
          : { enabled: true };
    return {
      project: model.projectName,
      role: opts.role,
      live,
      watcherPid: report.watcherPid,
      updatedAt: report.updatedAt,
      actions,
      kinds: LOG_EVENTS,
      services: services.map((s) => ({
        name: s.name,
        containers: containers.filter((c) => c.service === s.name),
        rules: report.rules
          .filter((r) => r.service === s.name)
          .map((r) => ({
            ...r,
            direction: modeDirection(r.mode as Mode),
            halted: haltsOf(file, r.rule),
          })),
      })),
    };
  };
  const pushState = async (force = false) => {
    const st = await buildState().catch(() => null);
    if (!st) return;
    const json = JSON.stringify(st);
    if (!force && json === lastState) return;
    lastState = json;
    broadcast('state', st);
  };
  let pending: NodeJS.Timeout | null = null;
  const soon = () => {
    if (pending || closed) return;
    pending = setTimeout(() => {
      pending = null;
      void pushState();
    }, 50);
  };
  let watcher: FSWatcher | null = null;
  await mkdir(composyncDir(model.projectDir), { recursive: true }).catch(() => undefined);
  try {
    // the status file is replaced by a rename: watch its directory
    watcher = watch(composyncDir(model.projectDir), () => soon());
  } catch {
    watcher = null; // not there yet: the timer below catches up
  }
  let lastMtime = 0;
  // a fallback for file systems without change events, and the container list
  const timer = setInterval(() => {
    void (async () => {
      const st = await stat(paths.status(model.projectDir)).catch(() => null);
      if (st && st.mtimeMs !== lastMtime) {
        lastMtime = st.mtimeMs;
        soon();
      }
      if (clients.size) {
        await refreshContainers();
        soon();
      }
    })();
  }, 1000);
  timer.unref();
  await refreshContainers();
  lastState = JSON.stringify(await buildState());

  // --- actions
  const findRule = (rule: unknown, container: unknown): RuleSync => {
    const rs = session
      .attachedRules()
      .find((r) => r.rule.id === rule && r.channel.container.name === container);
    if (!rs)
      throw new HttpError(404, `no rule ${String(rule)} in a container ${String(container)}`);
    return rs;
  };
  const conflictOf = (rs: RuleSync, path: unknown): string => {
    if (typeof path !== 'string' || !isRulePath(path))
      throw new HttpError(400, 'path: a path relative to the rule, without . or .. segments');
    // only a recorded conflict can be read or resolved: the diff view is no file browser
    if (!rs.conflicts.some((c) => c.path === path))
      throw new HttpError(404, `${path} is not a conflict of ${rs.rule.id} (any more)`);
    return path;
  };
  const requireActions = async () => {
    const { actions } = await buildState();
    if (!actions.enabled) throw new HttpError(409, actions.reason ?? 'read-only');
    await opts.refresh?.();
  };

  const verify = async () => {
    const out = [];
    const locals = new Map<string, ReturnType<RuleSync['scanLocal']>>();
    for (const rs of session.attachedRules()) {
      const rule = rs.rule;
      const syncignore =
        rule.kind === 'file'
          ? null
          : await readFile(join(rule.root, '.syncignore'), 'utf8').catch(() => null);
      const filter = new PathFilter(rule, syncignore);
      // a fresh RuleSync without state, as `composync verify` uses: every file is hashed
      const fresh = new RuleSync(rule, rs.channel, model, filter);
      if (!locals.has(rule.id)) locals.set(rule.id, fresh.scanLocal());
      out.push(await verifyOne(fresh, rule, filter, locals.get(rule.id)!));
    }
    return { project: model.projectName, drift: out.some((r) => r.drift), results: out };
  };

  const api = async (req: IncomingMessage, route: string, url: URL): Promise<unknown> => {
    if (req.method === 'GET') {
      if (route === 'state') return buildState();
      if (route === 'diff') {
        const rs = findRule(url.searchParams.get('rule'), url.searchParams.get('container'));
        return readVersions(rs, conflictOf(rs, url.searchParams.get('path')));
      }
      throw new HttpError(404, `no such endpoint: GET ${route}`);
    }
    if (req.method !== 'POST') throw new HttpError(405, 'GET or POST only');
    const body = await readJson(req);
    if (route === 'resolve') {
      const keep = body.keep;
      if (keep !== 'local' && keep !== 'container' && keep !== 'both')
        throw new HttpError(400, 'keep: local, container or both');
      await requireActions();
      const rs = findRule(body.rule, body.container);
      const path = conflictOf(rs, body.path);
      const res = await session.resolveConflict(rs.rule.id, rs.channel.container.name, path, keep);
      void pushState();
      return {
        ok: res.report.problems.length === 0,
        copy: res.copy,
        problems: res.report.problems,
        uploaded: res.report.uploaded,
        downloaded: res.report.downloaded,
        deleted: res.report.deleted + res.report.deletedLocal,
      };
    }
    if (route === 'verify') return verify();
    if (route === 'sync') {
      const service = body.service;
      if (typeof service !== 'string' || !services.some((s) => s.name === service))
        throw new HttpError(400, 'service: one of the synced services');
      await requireActions();
      const reps = await session.syncService(service, { force: body.force === true });
      void pushState();
      return {
        ok: reps.every((r) => r.problems.length === 0),
        conflicts: reps.reduce((n, r) => n + r.conflicts.length, 0),
        problems: reps.flatMap((r) => r.problems),
      };
    }
    throw new HttpError(404, `no such endpoint: POST ${route}`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    // DNS rebinding: a page of another name resolving to 127.0.0.1 sends its own Host
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`)
      throw new HttpError(403, 'forbidden: unexpected Host');
    const [, first, ...rest] = url.pathname.split('/');
    if (!sameToken(first)) throw new HttpError(403, 'forbidden: the URL lacks the token');
    if (req.method === 'POST') {
      const header = req.headers['x-composync-token'];
      if (!sameToken(Array.isArray(header) ? header[0] : header))
        throw new HttpError(403, 'forbidden: a POST must carry the token in X-Composync-Token');
      const origin = req.headers.origin;
      if (origin && origin !== `http://${host}`)
        throw new HttpError(403, 'forbidden: another origin');
    }
    const sub = rest.join('/');
    if (sub === 'api/events' && req.method === 'GET') {
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'Content-Type': 'text/event-stream; charset=utf-8',
        Connection: 'keep-alive',
      });
      res.write('retry: 1000\n\n');
      await refreshContainers();
      const st = await buildState();
      lastState = JSON.stringify(st);
      send(res, 'state', st);
      // the backlog and then every new record, in one synchronous step: none lost or twice
      send(res, 'log', backlog.slice(-BACKLOG));
      if (res.destroyed || closed) return;
      clients.add(res);
      res.on('close', () => clients.delete(res));
      return;
    }
    if (sub.startsWith('api/')) {
      const out = await api(req, sub.slice(4), url);
      res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'application/json' });
      res.end(JSON.stringify(out));
      return;
    }
    const file = STATIC[sub];
    if (file === undefined || req.method !== 'GET') throw new HttpError(404, 'not found');
    const body = await readFile(join(STATIC_DIR, file));
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': TYPES[file.split('.').pop()!] ?? 'application/octet-stream',
    });
    res.end(body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof Error ? err.message : String(err);
      if (!res.headersSent)
        res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: message }));
    });
  });
  // keep the SSE connections from holding the process: a comment every 15 s keeps proxies
  // and the browser from giving up on a quiet stream
  const keepAlive = setInterval(() => {
    for (const c of clients) c.write(': keep-alive\n\n');
  }, 15_000);
  keepAlive.unref();

  const stopAll = async () => {
    closed = true;
    clearInterval(timer);
    clearInterval(keepAlive);
    if (pending) clearTimeout(pending);
    watcher?.close();
    await tail;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
  } catch (err) {
    await stopAll();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES')
      throw new UsageError(
        `the dashboard cannot listen on 127.0.0.1:${opts.port}: ${code === 'EADDRINUSE' ? 'the port is in use' : 'permission denied'}`,
        'Choose another port, or leave the option out for a free one.',
      );
    throw err;
  }
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/${token}/`,
    port,
    token,
    close: async () => {
      for (const c of clients) c.end();
      clients.clear();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await stopAll();
    },
  };
}

/** A rule's halts, from the status file (written by the watcher when a rule halts). */
function haltsOf(
  file: StatusFile | null,
  rule: string,
): { container: string; side: string; reason: string; command: string }[] {
  const out = [];
  for (const e of file?.rules ?? []) {
    if (e.rule !== rule) continue;
    const h = (e as { halted?: unknown }).halted;
    if (h && typeof h === 'object') {
      const x = h as Record<string, unknown>;
      out.push({
        container: e.container,
        side: typeof x.side === 'string' ? x.side : '',
        reason: typeof x.reason === 'string' ? x.reason : 'halted',
        command: typeof x.command === 'string' ? x.command : `composync sync --force ${e.service}`,
      });
    } else if ((e.state as string) === 'halted') {
      out.push({
        container: e.container,
        side: '',
        reason: 'halted',
        command: `composync sync --force ${e.service}`,
      });
    }
  }
  return out;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/json'))
    throw new HttpError(415, 'a POST body must be application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new HttpError(413, 'body too large');
    chunks.push(c);
  }
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // below
  }
  throw new HttpError(400, 'the body is not a JSON object');
}
