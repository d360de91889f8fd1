/**
 * `composync verify [SERVICE...] [--json]`: compare every rule's local source with each running
 * container's target by content hash (core/verify.ts decides what is drift), print each
 * difference, exit 1 on drift. Read-only on both sides: no state is loaded or saved, so every
 * local file is hashed afresh and the container side is read through the archive endpoint.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PathFilter } from '../core/ignore.js';
import type { Mode, SyncRule } from '../core/model.js';
import { modeDirection } from '../core/modes.js';
import type { ContainerChannel, Problem } from '../core/ports.js';
import type { Tree } from '../core/tree.js';
import { verifyTrees, type DriftEntry, type VerifyResult } from '../core/verify.js';
import { EXIT_FAILED, EXIT_OK } from '../errors.js';
import { RuleSync } from '../session/rule-sync.js';
import { loadProject, openEngine, requireRunning, syncedServices } from './project.js';
import { paint, plural } from './render.js';
import type { CliContext } from './main.js';

/** One rule in one container, as `verify --json` prints it. */
export interface RuleVerification extends VerifyResult {
  service: string;
  rule: string;
  container: string;
  source: string;
  /** The container path compared. */
  target: string;
  mode: string;
  /** Local files that could not be read: the rule cannot be verified (counts as drift). */
  problems: Problem[];
  ms: number;
}

/** The output of `verify --json`. */
export interface VerifyReport {
  project: string;
  drift: boolean;
  results: RuleVerification[];
}

/**
 * Verify every rule of `services` (default: all with sync rules) in each running container;
 * resolves to 1 on any drift or unreadable local file, 0 when everything matches.
 */
export async function runVerify(
  ctx: CliContext,
  services: string[],
  o: { json?: boolean },
): Promise<number> {
  const model = await loadProject(ctx);
  const covered = syncedServices(model, services);
  const engine = openEngine(ctx);
  await requireRunning(engine, model, covered, 'verify');
  const containers = (await engine.listContainers(model.projectName, covered)).filter(
    (c) => c.running,
  );
  const rules = model.services.filter((s) => covered.includes(s.name)).flatMap((s) => s.rules);
  const filters = new Map<string, PathFilter>();
  const locals = new Map<string, Promise<{ tree: Tree; problems: Problem[] }>>();
  for (const rule of rules) {
    const syncignore =
      rule.kind === 'file'
        ? null
        : await readFile(join(rule.root, '.syncignore'), 'utf8').catch(() => null);
    filters.set(rule.id, new PathFilter(rule, syncignore));
  }

  const channels: ContainerChannel[] = [];
  let results: RuleVerification[];
  try {
    results = (
      await Promise.all(
        containers.map(async (ref) => {
          const channel = await engine.attach(ref);
          channels.push(channel);
          const out: RuleVerification[] = [];
          for (const rule of rules.filter((r) => r.service === ref.service)) {
            const rs = new RuleSync(rule, channel, model, filters.get(rule.id)!);
            // one local scan per rule, shared by the rule's containers
            if (!locals.has(rule.id)) locals.set(rule.id, rs.scanLocal());
            out.push(await verifyOne(rs, rule, filters.get(rule.id)!, locals.get(rule.id)!));
          }
          return out;
        }),
      )
    ).flat();
  } finally {
    await Promise.all(channels.map((c) => c.close().catch(() => undefined)));
  }
  results.sort((a, b) =>
    a.rule === b.rule ? (a.container < b.container ? -1 : 1) : a.rule < b.rule ? -1 : 1,
  );
  const report: VerifyReport = {
    project: model.projectName,
    drift: results.some((r) => r.drift),
    results,
  };
  if (o.json) ctx.out(JSON.stringify(report, null, 2));
  else for (const line of renderVerify(report, ctx.color)) ctx.out(line);
  return report.drift ? EXIT_FAILED : EXIT_OK;
}

/** Verify one rule in one container (also the dashboard's verify button). */
export async function verifyOne(
  rs: RuleSync,
  rule: SyncRule,
  filter: PathFilter,
  local: Promise<{ tree: Tree; problems: Problem[] }>,
): Promise<RuleVerification> {
  const t0 = performance.now();
  const [l, remote] = await Promise.all([local, rs.scanRemote()]);
  const result = verifyTrees({
    local: l.tree,
    remote,
    mode: rule.mode,
    noUp: (rel, isDir) => filter.excluded(rel, isDir, 'up'),
    noDown: (rel, isDir) => filter.excluded(rel, isDir, 'down'),
  });
  return {
    service: rule.service,
    rule: rule.id,
    container: rs.channel.container.name,
    source: rule.source,
    target: rs.targetAbs,
    mode: rule.mode,
    ...result,
    drift: result.drift || l.problems.length > 0,
    problems: l.problems,
    ms: Math.round(performance.now() - t0),
  };
}

/** Where a missing and an extra path are, per direction of the rule. */
const WHERE = {
  up: ['not in the container', 'only in the container'],
  down: ['not locally', 'only locally'],
  both: ['only locally', 'only in the container'],
} as const;

/** At most this many paths per kind of difference on screen (`--json` lists them all). */
const SHOWN = 50;

/** The human form: one head line per rule and container, its differences, a verdict. */
export function renderVerify(r: VerifyReport, color: boolean): string[] {
  const out: string[] = [];
  const entry = (e: DriftEntry) =>
    `${e.path}${e.kind === 'dir' ? '/' : ''}` +
    (e.reason ? ` (${e.reason === 'kind' ? 'file or directory differs' : e.reason})` : '') +
    (e.below ? ` (and ${plural(e.below, 'entry', 'entries')} below)` : '');
  const list = (label: string, entries: DriftEntry[], note = '') => {
    for (const e of entries.slice(0, SHOWN)) out.push(`  ${label.padEnd(9)}  ${entry(e)}${note}`);
    if (entries.length > SHOWN) out.push(`  ... and ${entries.length - SHOWN} more ${label}`);
  };
  for (const v of r.results) {
    const counts = [
      v.missing.length && `${v.missing.length} missing`,
      v.different.length && `${v.different.length} different`,
      v.extra.length && `${v.extra.length} extra${v.extraIsDrift ? '' : ' (kept by the mode)'}`,
      v.problems.length && plural(v.problems.length, 'unreadable local file'),
    ].filter(Boolean);
    const verdict = v.drift
      ? paint(color, 'red', `drift: ${counts.join(', ')}`)
      : paint(color, 'green', 'in sync') + (counts.length ? `, ${counts.join(', ')}` : '');
    out.push(
      `${v.rule} ${v.source} → ${v.container}:${v.target} (${v.mode}): ${verdict} ` +
        `[${plural(v.compared, 'path')}, ${v.ms} ms]`,
    );
    const [missing, extra] = WHERE[modeDirection(v.mode as Mode)];
    list('missing', v.missing, ` (${missing})`);
    list('different', v.different);
    list('extra', v.extra, ` (${extra}${v.extraIsDrift ? '' : `; ${v.mode} keeps it: not drift`})`);
    for (const p of v.problems) out.push(`  problem    ${p.path}: ${p.message}`);
  }
  const bad = r.results.filter((v) => v.drift).length;
  out.push(
    r.results.length === 0
      ? 'composync: verify: no rules to compare'
      : bad
        ? `composync: verify: drift in ${bad} of ${plural(r.results.length, 'rule and container', 'rules and containers')}; \`composync sync --dry-run\` shows what a sync would change`
        : `composync: verify: no drift in ${plural(r.results.length, 'rule and container', 'rules and containers')}`,
  );
  return out;
}
