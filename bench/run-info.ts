/**
 * The part of every result file that describes the run itself: the command, the machine, its
 * load, the engine and the composync commit measured.
 */
import { cpus, loadavg, release, totalmem } from 'node:os';
import { round, run } from './lib.js';
import type { RunInfo } from './report.js';
import { repoRoot } from './stack.js';

/** A run's description at its start (versions, machine, load); {@link finishRun} completes it. */
export async function startRun(
  kind: RunInfo['kind'],
  name: string,
  script: string,
): Promise<RunInfo> {
  const [server, compose, commit, dirty] = await Promise.all([
    run('docker', ['version', '--format', '{{.Server.Version}}']),
    run('docker', ['compose', 'version', '--short']),
    run('git', ['rev-parse', 'HEAD'], { cwd: repoRoot }),
    run('git', ['status', '--porcelain', '--', 'src', 'bin'], { cwd: repoRoot }),
  ]);
  if (server.code !== 0) throw new Error(`no Docker engine: ${server.stderr}`);
  return {
    name,
    kind,
    command: process.env.npm_lifecycle_event
      ? `npm run ${process.env.npm_lifecycle_event}`
      : ['node', script, ...process.argv.slice(2)].join(' '),
    startedAt: new Date().toISOString(),
    finishedAt: '',
    durationS: 0,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      memoryGb: round(totalmem() / 2 ** 30),
      kernel: release(),
      node: process.versions.node,
      loadavg: { start: loadavg().map((x) => round(x, 2)), end: [] },
    },
    engine: { server: server.stdout.trim(), compose: compose.stdout.trim().replace(/^v/, '') },
    composync: { commit: commit.stdout.trim(), dirty: dirty.stdout.trim() !== '' },
  };
}

/** Record the end of a run: its finishing time, duration and load. */
export function finishRun(info: RunInfo): void {
  const finished = new Date();
  info.finishedAt = finished.toISOString();
  info.durationS = Math.round((finished.getTime() - Date.parse(info.startedAt)) / 1000);
  info.machine.loadavg.end = loadavg().map((x) => round(x, 2));
}
