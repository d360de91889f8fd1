/**
 * Reload while watching: an edit to a compose file in use, an override, or the env file
 * re-resolves the model (`docker compose config`, as at start) and hands it to the session,
 * which restarts the rules that changed. With `up --watch` (and `watch` without `--no-up`),
 * services whose compose configuration changed are created again, synced and started
 * (`docker compose up --no-start`, the initial sync, `docker compose up -d SERVICE`). A model
 * that no longer validates is reported, with its YAML path, and the previous one keeps running.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { ComposeCli } from '../compose/cli.js';
import { loadModel } from '../config/index.js';
import { DEFAULT_OVERRIDE_FILE_NAMES, findComposeFiles } from '../config/compose-files.js';
import { formatError } from '../errors.js';
import type { ModelChange, Session } from '../session/session.js';
import type { CliContext } from './main.js';

/** Quiet time after the last edit before the model is resolved again (editors write twice). */
const SETTLE_MS = 300;

export interface ModelWatch {
  close(): Promise<void>;
}

export interface ModelWatchOptions {
  /** The services the command was given (empty: all). */
  services: string[];
  /**
   * Bring services up again: create (recreating what changed), then `beforeStart`, then start.
   * Absent for `watch --no-up`, which starts nothing.
   */
  upOnReload?: (services: string[], beforeStart: () => Promise<void>) => Promise<void>;
}

/** The files whose edits change the model: compose files in use, overrides, env files. */
export function modelFiles(ctx: CliContext): string[] {
  const { files, projectDir } = findComposeFiles(ctx.project);
  const out = new Set(files);
  // an override that does not exist yet counts when compose looks for one (no -f, no COMPOSE_FILE)
  if (ctx.project.files.length === 0 && !ctx.project.env.COMPOSE_FILE && files[0])
    for (const n of DEFAULT_OVERRIDE_FILE_NAMES) out.add(join(dirname(files[0]), n));
  if (ctx.project.envFiles.length)
    for (const f of ctx.project.envFiles) out.add(resolve(ctx.project.cwd, f));
  else {
    out.add(join(projectDir, '.env'));
    out.add(join(resolve(ctx.project.cwd), '.env'));
  }
  return [...out];
}

/** Each service's compose configuration without composync's and compose watch's own keys. */
function serviceConfigs(yaml: string): Map<string, string> {
  const doc = parse(yaml, { maxAliasCount: -1 }) as { services?: Record<string, unknown> } | null;
  const out = new Map<string, string>();
  for (const [name, svc] of Object.entries(doc?.services ?? {})) {
    const rest = Object.fromEntries(
      Object.entries((svc ?? {}) as Record<string, unknown>).filter(
        ([k]) => !k.startsWith('x-') && k !== 'develop',
      ),
    );
    out.set(name, JSON.stringify(rest));
  }
  return out;
}

/** Start reloading the model on edits; `close()` stops (and waits for a reload under way). */
export function watchModel(ctx: CliContext, session: Session, o: ModelWatchOptions): ModelWatch {
  const compose = new ComposeCli(ctx.project);
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let watchers: FSWatcher[] = [];
  let watched = '';
  // the compose configuration the services run with, to tell which ones changed
  let baseline: Promise<Map<string, string> | null> = compose.config().then(
    (c) => serviceConfigs(c.yaml),
    () => null,
  );

  const info = (message: string) => session.report({ level: 'info', event: 'reload', message });
  const fail = (err: unknown) =>
    session.report({
      level: 'error',
      event: 'reload',
      message:
        `the compose model did not load, so the previous one keeps running: ` +
        (err instanceof Error ? err.message : formatError(err, false).text) +
        ' (fix it and save: composync reloads it)',
    });

  const schedule = () => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(reloadOnce).catch(fail);
    }, SETTLE_MS);
  };

  /** Watch the directories of the model's files (an editor may replace a file by renaming). */
  const follow = (files: string[]) => {
    const key = files.join('\n');
    if (key === watched || closed) return;
    watched = key;
    for (const w of watchers) w.close();
    watchers = [];
    const byDir = new Map<string, Set<string>>();
    for (const f of files) {
      const names = byDir.get(dirname(f)) ?? new Set<string>();
      byDir.set(dirname(f), names.add(basename(f)));
    }
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, (_event, name) => {
          if (name === null || names.has(name.toString())) schedule();
        });
        w.on('error', () => undefined);
        watchers.push(w);
      } catch {
        // a directory that does not exist holds no file of the model
      }
    }
  };

  const reloadOnce = async () => {
    if (closed) return;
    let cfg: { yaml: string; warnings: string[] };
    let model;
    try {
      cfg = await compose.config();
      ({ model } = await loadModel(ctx.project, { config: async () => cfg }));
    } catch (err) {
      fail(err);
      return;
    }
    follow(modelFiles(ctx));
    const change = await session.reload(model);
    const told = describe(change);
    const now = serviceConfigs(cfg.yaml);
    const before = await baseline;
    baseline = Promise.resolve(now);
    const wanted = (s: string) => o.services.length === 0 || o.services.includes(s);
    const recreate = before
      ? [...now.keys()].filter((s) => wanted(s) && before.get(s) !== now.get(s))
      : [];
    if (!told && recreate.length === 0) {
      info('compose model re-read: nothing composync or the services use changed');
      return;
    }
    if (told) info(`compose model changed: ${told}`);
    if (o.upOnReload && recreate.length) {
      info(`compose configuration of ${recreate.join(', ')} changed: bringing it up again`);
      await o.upOnReload(recreate, async () => {
        await session.syncBeforeStart(recreate);
      });
    }
  };

  follow(modelFiles(ctx));
  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      for (const w of watchers) w.close();
      watchers = [];
      await running.catch(() => undefined);
    },
  };
}

/** `rule web/0 changed, rule api/0 added: restarted with an initial sync`, or '' for none. */
function describe(c: ModelChange): string {
  if (c.rules.length === 0 && c.added.length + c.changed.length + c.removed.length === 0) return '';
  const parts = c.rules.map((r) =>
    r.change === 'removed' ? `rule ${r.id} removed (stopped)` : `rule ${r.id} ${r.change}`,
  );
  const restarted = [...c.changed, ...c.added];
  const triggersOnly = [...c.changed, ...c.added, ...c.removed].filter(
    (s) => !c.rules.some((r) => r.id.startsWith(`${s}/`)),
  );
  if (triggersOnly.length) parts.push(`triggers of ${triggersOnly.join(', ')} changed`);
  return (
    parts.join(', ') +
    (restarted.length ? `; ${restarted.join(', ')} attached again with an initial sync` : '')
  );
}
