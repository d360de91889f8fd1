/** `composync status [--json]`: live from a running watcher's status file, else last known. */
import { readFile } from 'node:fs/promises';
import { EXIT_OK } from '../errors.js';
import { paths } from '../session/files.js';
import type { StatusFile } from '../session/status.js';
import { loadProject } from './project.js';
import { formatBytes } from './render.js';
import type { CliContext } from './main.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export async function runStatus(ctx: CliContext, o: { json?: boolean }): Promise<number> {
  const model = await loadProject(ctx);
  const text = await readFile(paths.status(model.projectDir), 'utf8').catch(() => null);
  const status: StatusFile | null = text ? (JSON.parse(text) as StatusFile) : null;
  const live = !!status && status.watching && alive(status.pid);
  if (status && !live) {
    for (const r of status.rules)
      if (r.state === 'watching' || r.state === 'syncing') r.state = 'not watching';
  }
  const rules =
    status?.rules ??
    model.services.flatMap((s) =>
      s.rules.map((r) => ({
        service: s.name,
        rule: r.id,
        container: '',
        source: r.source,
        target: r.target,
        mode: r.mode,
        state: 'not watching' as const,
        lastSync: null,
        files: 0,
        bytes: 0,
        conflicts: [],
        problems: [],
      })),
    );
  if (o.json) {
    ctx.out(
      JSON.stringify(
        { project: model.projectName, live, watcherPid: live ? status!.pid : null, rules },
        null,
        2,
      ),
    );
    return EXIT_OK;
  }
  ctx.out(
    `project ${model.projectName}: ${live ? `watcher running (pid ${status!.pid})` : 'no watcher running; last known status'}`,
  );
  for (const r of rules) {
    ctx.out(
      `  ${r.service.padEnd(12)} ${r.rule.padEnd(14)} ${(r.container || '-').padEnd(24)} ${r.state.padEnd(12)} ` +
        `${r.files} files ${formatBytes(r.bytes)}  last sync ${r.lastSync ?? 'never'}` +
        (r.conflicts.length ? `  ${r.conflicts.length} conflicts` : '') +
        (r.problems.length ? `  ${r.problems.length} problems` : ''),
    );
    for (const c of r.conflicts) ctx.out(`      conflict ${c.path}: ${c.reason}`);
    for (const p of r.problems) ctx.out(`      problem  ${p.path}: ${p.message}`);
  }
  return EXIT_OK;
}
