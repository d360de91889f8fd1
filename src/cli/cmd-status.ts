/** `composync status [--json]`: live from a running watcher's status file, else last known. */
import { EXIT_OK } from '../errors.js';
import { paths } from '../session/files.js';
import { isAlive, readStatusFile, statusReport, type StatusReport } from '../session/status.js';
import { loadProject } from './project.js';
import { formatAge, formatBytes, paint, table } from './render.js';
import type { CliContext } from './main.js';

/** Status of every rule of the project: `live` when a watcher runs and keeps it current. */
export async function runStatus(ctx: CliContext, o: { json?: boolean }): Promise<number> {
  const model = await loadProject(ctx);
  const file = await readStatusFile(paths.status(model.projectDir));
  const live = !!file && file.watching && isAlive(file.pid);
  const report = statusReport(model, file, live);
  if (o.json) ctx.out(JSON.stringify(report, null, 2));
  else
    for (const line of renderStatus(report, { color: ctx.color, now: Date.now() })) ctx.out(line);
  return EXIT_OK;
}

/** The human form of a status report: a head line, one table row per rule, then details. */
export function renderStatus(r: StatusReport, o: { color: boolean; now: number }): string[] {
  const head = r.live
    ? `project ${r.project}: live, watcher running (pid ${r.watcherPid})`
    : `project ${r.project}: not live, no watcher running; last known status` +
      (r.updatedAt ? ` (${formatAge(r.updatedAt, o.now)})` : ' (never synced)');
  const stateColor = (s: string) =>
    s === 'error' || s === 'halted' ? 'red' : s === 'watching' || s === 'syncing' ? 'green' : 'dim';
  const rows = r.rules.map((x) => [
    x.service,
    x.rule,
    x.containers.map((c) => c.name).join(',') || '-',
    x.mode,
    x.state,
    x.lastSync ? formatAge(x.lastSync, o.now) : 'never',
    String(x.files),
    formatBytes(x.bytes),
    x.wireBytes ? formatBytes(x.wireBytes) : '-',
    String(x.conflicts.length),
    String(x.problems.length),
  ]);
  const lines = table(
    [
      [
        'SERVICE',
        'RULE',
        'CONTAINERS',
        'MODE',
        'STATE',
        'LAST SYNC',
        'FILES',
        'BYTES',
        'ON THE WIRE',
        'CONFLICTS',
        'PROBLEMS',
      ],
      ...rows,
    ],
    (row, col, text) =>
      row > 0 && col === 4 ? paint(o.color, stateColor(text.trim()), text) : text,
  );
  const out = [head, lines[0]!];
  r.rules.forEach((x, i) => {
    out.push(lines[i + 1]!);
    for (const h of x.halted) out.push(`    halted    ${h.container}  ${h.reason}`);
    for (const c of x.conflicts) out.push(`    conflict  ${c.container}  ${c.path}: ${c.reason}`);
    for (const p of x.problems) out.push(`    problem   ${p.container}  ${p.path}: ${p.message}`);
  });
  return out;
}
