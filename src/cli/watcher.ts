/**
 * One watcher per project: its pid file (`.composync/watcher.pid`), claiming it, stopping the
 * watcher, and starting it in the background (`--detach`) with its lines in
 * `.composync/logs/watcher.log`.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_FAILED, EXIT_OK, SyncFailedError } from '../errors.js';
import { paths } from '../session/files.js';
import type { CliContext } from './main.js';

/** A detached watcher's log above this size is moved to `watcher.log.1` when the next starts. */
const WATCHER_LOG_MAX_BYTES = 10 * 1024 * 1024;

/** Set in the environment of a watcher started with `--detach`. */
export const DETACHED_ENV = 'COMPOSYNC_DETACHED';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, owned by someone else
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The pid of the watcher that runs for the project, or null (a stale pid file is removed). */
export async function runningWatcher(projectDir: string): Promise<number | null> {
  const file = paths.pid(projectDir);
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  if (pid && pid !== process.pid && alive(pid)) return pid;
  if (pid && pid !== process.pid) await rm(file, { force: true });
  return null;
}

function alreadyWatched(project: string, pid: number): SyncFailedError {
  return new SyncFailedError(`project ${project} is already watched by composync (pid ${pid})`, {
    hint: 'One watcher per project: `composync watch --stop` stops it (so does `composync down`), `composync status` shows what it does.',
  });
}

/** Fail (exit 1) when another watcher runs for the project. */
export async function assertNoWatcher(projectDir: string, project: string): Promise<void> {
  const pid = await runningWatcher(projectDir);
  if (pid !== null) throw alreadyWatched(project, pid);
}

/**
 * Make this process the project's watcher: write its pid, exclusively, so two watchers started
 * at the same moment cannot both run. Throws (exit 1) naming the pid that watches already.
 */
export async function claimWatcher(projectDir: string, project: string): Promise<void> {
  const file = paths.pid(projectDir);
  await mkdir(dirname(file), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(file, String(process.pid), { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 3) throw err;
      const pid = await runningWatcher(projectDir);
      if (pid !== null) throw alreadyWatched(project, pid);
      const own = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (own === process.pid) return;
    }
  }
}

/** Give up the pid file, if it is this process's. */
export async function releaseWatcher(projectDir: string): Promise<void> {
  const file = paths.pid(projectDir);
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  if (pid === process.pid) await rm(file, { force: true });
}

/**
 * Ask the project's watcher to stop (SIGTERM: it finishes the batch in flight and saves its
 * state) and wait up to `timeoutMs` for it to exit. Returns its pid, or null when none ran.
 */
export async function stopWatcher(projectDir: string, timeoutMs = 15_000): Promise<number | null> {
  const pid = await runningWatcher(projectDir);
  if (pid === null) return null;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) {
    throw new SyncFailedError(
      `the watcher (pid ${pid}) did not stop within ${timeoutMs / 1000} s`,
      {
        hint: `It may be stuck in an engine call: \`kill ${pid}\` again, or \`kill -9 ${pid}\`.`,
      },
    );
  }
  await rm(paths.pid(projectDir), { force: true });
  return pid;
}

/** `composync watch --stop`. */
export async function runStop(ctx: CliContext, projectDir: string) {
  const pid = await stopWatcher(projectDir);
  ctx.out(
    pid === null
      ? `composync: no watcher runs for ${projectDir}`
      : `composync: stopped the watcher of ${projectDir} (pid ${pid})`,
  );
  return EXIT_OK;
}

/**
 * Start the same command in the background, without `--detach`: a process of its own session
 * (it survives the terminal and the shell that started it), its output appended to
 * `.composync/logs/watcher.log`. Shows that output until the watcher watches (then exit 0) or
 * exits (then its exit code).
 */
export async function runDetached(
  ctx: CliContext,
  projectDir: string,
  argv: string[],
): Promise<number> {
  const logFile = paths.watcherLog(projectDir);
  await mkdir(dirname(logFile), { recursive: true });
  // one previous file kept, as for the sync log: a watcher restarted daily does not fill the disk
  if (((await stat(logFile).catch(() => null))?.size ?? 0) > WATCHER_LOG_MAX_BYTES)
    await rename(logFile, `${logFile}.1`).catch(() => undefined);
  const from = (await stat(logFile).catch(() => null))?.size ?? 0;
  const fd = openSync(logFile, 'a');
  const bin = fileURLToPath(new URL('../../../bin/composync.js', import.meta.url));
  const child = spawn(process.execPath, [bin, ...argv.filter((a) => a !== '--detach')], {
    cwd: process.cwd(),
    env: { ...process.env, [DETACHED_ENV]: '1' },
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  let exit: number | null = null;
  child.on('exit', (code, signal) => (exit = code ?? (signal ? 128 : EXIT_FAILED)));
  child.on('error', () => (exit = EXIT_FAILED));
  child.unref();
  const pid = child.pid;
  // a Ctrl+C while it starts stops it too: nothing is left behind half-started
  const interrupt = () => {
    if (pid) process.kill(pid, 'SIGTERM');
  };
  process.once('SIGINT', interrupt);
  let pos = from;
  let seen = '';
  const show = async () => {
    const h = await open(logFile, 'r');
    try {
      const { size } = await h.stat();
      if (size <= pos) return;
      const buf = Buffer.alloc(size - pos);
      await h.read(buf, 0, buf.length, pos);
      pos = size;
      const text = buf.toString('utf8');
      seen += text;
      const lines = text.split('\n');
      if (!text.endsWith('\n')) {
        // keep an incomplete last line for the next read
        const last = lines.pop()!;
        pos -= Buffer.byteLength(last);
        seen = seen.slice(0, seen.length - last.length);
      } else lines.pop();
      for (const l of lines) ctx.out(l);
    } finally {
      await h.close();
    }
  };
  try {
    for (;;) {
      await show();
      if (/^composync: watching \d+ rules/m.test(seen)) {
        ctx.out(
          `composync: watching in the background (pid ${pid}); its output goes to ` +
            `${relative(process.cwd(), logFile) || logFile}. \`composync watch --stop\` stops it.`,
        );
        return EXIT_OK;
      }
      if (exit !== null) {
        await show();
        ctx.err(`composync: the watcher exited (code ${exit}) before it was watching`);
        return exit || EXIT_FAILED;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    process.off('SIGINT', interrupt);
  }
}
