/** Shared steps of the commands: load the model, check services, open the engine and session. */
import { ComposeCli } from '../compose/cli.js';
import { loadModel } from '../config/index.js';
import { createEngine } from '../engine/index.js';
import type { SyncModel } from '../core/model.js';
import type { Engine } from '../core/ports.js';
import { UsageError } from '../errors.js';
import { Session } from '../session/session.js';
import { renderRecord } from './render.js';
import type { CliContext } from './main.js';

export interface Opened {
  model: SyncModel;
  engine: Engine;
  session: Session;
}

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

export async function openSession(
  ctx: CliContext,
  services: string[],
  model?: SyncModel,
): Promise<Opened> {
  const m = model ?? (await loadProject(ctx));
  checkServices(m, services);
  const engine = createEngine(ctx.project.env, {
    // never sync into another engine than the one compose created the containers on
    expectedEngine: () => new ComposeCli(ctx.project).engineId(),
  });
  const width = Math.max(8, ...m.services.map((s) => s.name.length));
  const compose = new ComposeCli(ctx.project);
  const session = new Session({
    model: m,
    engine,
    services,
    rebuild: async (service) => {
      // only this service: never its dependencies, and only its containers are recreated
      await compose.build(service);
      await compose.up([service], { noDeps: true, forceRecreate: true });
    },
    output: (line) => ctx.out(line),
    reporter: (rec) => {
      const line = renderRecord(rec, { color: ctx.color, width });
      if (rec.level === 'error') ctx.err(line);
      else ctx.out(line);
    },
  });
  return { model: m, engine, session };
}
