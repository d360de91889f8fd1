/** Shared steps of the commands: load the model, check services, open the engine and session. */
import { ComposeCli } from '../compose/cli.js';
import { loadModel } from '../config/index.js';
import { createEngine } from '../engine/index.js';
import type { SyncModel } from '../core/model.js';
import type { Engine } from '../core/ports.js';
import { SyncFailedError, UsageError } from '../errors.js';
import { Session, type Reporter } from '../session/session.js';
import { renderRecord } from './render.js';
import type { CliContext } from './main.js';

export interface Opened {
  model: SyncModel;
  engine: Engine;
  session: Session;
}

/** Load and validate the compose project's sync model; compose's warnings go to stderr. */
export async function loadProject(ctx: CliContext): Promise<SyncModel> {
  const { model, warnings } = await loadModel(ctx.project);
  for (const w of warnings) ctx.err(`composync: warning: ${w}`);
  return model;
}

/** Unknown service names are a usage error (exit 2), as with compose. */
export function checkServices(model: SyncModel, services: string[]): void {
  const unknown = services.filter((s) => !model.allServices.includes(s));
  if (unknown.length) {
    throw new UsageError(
      `no such service: ${unknown.join(', ')}`,
      `Services of project ${model.projectName}: ${model.allServices.join(', ') || '(none)'}.`,
    );
  }
}

/**
 * For commands that only sync (`sync`, `verify`): every named service must exist and have
 * sync rules (else exit 2). Returns the services with rules the command covers.
 */
export function syncedServices(model: SyncModel, services: string[]): string[] {
  checkServices(model, services);
  const withRules = model.services.filter((s) => s.rules.length > 0).map((s) => s.name);
  const without = services.filter((s) => !withRules.includes(s));
  if (without.length) {
    throw new UsageError(
      `service ${without.join(', ')} has no sync rules (x-sync or develop.watch): nothing to do`,
      `Services with sync rules: ${withRules.join(', ') || '(none)'}. See \`composync config\`.`,
    );
  }
  return services.length ? services : withRules;
}

/**
 * One-shot commands need a running container for every service they cover: a stopped
 * service is a failure (exit 1) that says which container is in which state.
 */
export async function requireRunning(
  engine: Engine,
  model: SyncModel,
  services: string[],
  command: string,
): Promise<void> {
  if (services.length === 0) return;
  await engine.ping();
  const containers = await engine.listContainers(model.projectName, services);
  const idle = services.filter((s) => !containers.some((c) => c.service === s && c.running));
  if (idle.length === 0) return;
  const why = idle.map((s) => {
    const mine = containers.filter((c) => c.service === s);
    return mine.length
      ? `${s} (${mine.map((c) => `container ${c.name} is ${c.state}`).join(', ')})`
      : `${s} (no container: never started, or removed)`;
  });
  const names = idle.join(' ');
  throw new SyncFailedError(
    `${idle.length === 1 ? 'service' : 'services'} ${why.join('; ')} ` +
      `${idle.length === 1 ? 'has' : 'have'} no running container, so there is nothing to ${command} into`,
    {
      hint: `Start ${idle.length === 1 ? 'it' : 'them'} with \`composync up ${names}\` (or \`docker compose start ${names}\`), then run \`composync ${command}\` again.`,
    },
  );
}

/**
 * The engine adapter for the context's environment; `--debug` prints every engine call.
 * `engineId`: the engine the docker CLI reaches, when the caller already asked (see openSession).
 */
export function openEngine(ctx: CliContext, engineId?: ReturnType<ComposeCli['engineId']>): Engine {
  return createEngine(ctx.project.env, {
    debug: ctx.debug ? (line) => ctx.err(`composync: debug: ${line}`) : undefined,
    // never sync into another engine than the one compose created the containers on
    expectedEngine: () => engineId ?? new ComposeCli(ctx.project).engineId(),
  });
}

/**
 * Load (unless given) the model, check the services, and open the engine and a session.
 * `reporter` receives every sync event and `output` the output of exec triggers; by default
 * both are printed as lines.
 */
export async function openSession(
  ctx: CliContext,
  services: string[],
  o: {
    model?: SyncModel;
    reporter?: Reporter;
    output?: (line: string) => void;
    /** After a rebuild, remove the image it replaced when it is dangling (`watch --prune`). */
    prune?: boolean;
  } = {},
): Promise<Opened> {
  const { reporter } = o;
  // `docker info` (which engine compose reaches: 0.1-0.5 s) runs beside the model's loading
  // instead of before the first engine call; it never rejects
  const engineId = new ComposeCli(ctx.project).engineId();
  const m = o.model ?? (await loadProject(ctx));
  checkServices(m, services);
  const engine = openEngine(ctx, engineId);
  const width = serviceWidth(m);
  const compose = new ComposeCli(ctx.project);
  const session = new Session({
    model: m,
    engine,
    services,
    rebuild: async (service, beforeStart) => {
      // only this service: never its dependencies, and only its containers are recreated;
      // they are created first and started once their files are in
      const before = o.prune ? await compose.imageIds(service).catch(() => []) : [];
      await compose.build(service);
      await compose.create([service], { noDeps: true, forceRecreate: true });
      await beforeStart();
      await compose.up([service], { noDeps: true });
      if (before.length) await compose.pruneDangling(before);
    },
    output: o.output ?? ((line) => ctx.out(line)),
    reporter:
      reporter ??
      ((rec) => {
        const line = renderRecord(rec, { color: ctx.color, width });
        if (rec.level === 'error') ctx.err(line);
        else ctx.out(line);
      }),
  });
  return { model: m, engine, session };
}

/** Width of the service column in event lines. */
export function serviceWidth(model: SyncModel): number {
  return Math.max(8, ...model.services.map((s) => s.name.length));
}
