/**
 * The system limits a watch per directory runs into, and what the watcher tells the user when
 * it does: how many watches the roots need, the limit, the command that raises it, and what
 * composync does meanwhile (it polls). On Linux every `fs.watch` of a directory is one inotify
 * watch, counted against `fs.inotify.max_user_watches` for all of the user's processes together;
 * the whole process shares one inotify instance (`fs.inotify.max_user_instances`).
 */
import fs from 'node:fs';
import type { ErrnoError } from './backend.js';

/** What limits watching here; null where the system does not say (or has no such limit). */
export interface WatchLimits {
  /** `fs.inotify.max_user_watches`, or a user namespace's lower `user.max_inotify_watches`. */
  maxUserWatches: number | null;
  /** `fs.inotify.max_user_instances`, or a user namespace's lower `user.max_inotify_instances`. */
  maxUserInstances: number | null;
  /** The sysctls that set them (a user namespace has limits of its own, below its parent's). */
  watchesKey?: string;
  instancesKey?: string;
  /** File descriptors this process has open. */
  openFiles: number | null;
  /** Its soft limit on open files (`ulimit -n`). */
  openFilesLimit: number | null;
}

const readNumber = (file: string): number | null => {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
};

/** The limits of this machine and process, from /proc (all null elsewhere). */
export function readWatchLimits(): WatchLimits {
  if (process.platform !== 'linux')
    return { maxUserWatches: null, maxUserInstances: null, openFiles: null, openFilesLimit: null };
  let openFiles: number | null = null;
  let openFilesLimit: number | null = null;
  try {
    openFiles = fs.readdirSync('/proc/self/fd').length;
    const limits = fs.readFileSync('/proc/self/limits', 'utf8');
    const soft = /^Max open files\s+(\d+)/m.exec(limits)?.[1];
    if (soft) openFilesLimit = Number(soft);
  } catch {
    // not readable: say less
  }
  const watches = lower('fs.inotify.max_user_watches', 'user.max_inotify_watches');
  const instances = lower('fs.inotify.max_user_instances', 'user.max_inotify_instances');
  return {
    maxUserWatches: watches.value,
    maxUserInstances: instances.value,
    watchesKey: watches.key,
    instancesKey: instances.key,
    openFiles,
    openFilesLimit,
  };
}

/** The lower of the machine's limit and this user namespace's (the same in the first one). */
function lower(machine: string, namespace: string): { value: number | null; key: string } {
  const file = (key: string) => `/proc/sys/${key.replace(/\./g, '/')}`;
  const m = readNumber(file(machine));
  const ns = readNumber(file(namespace));
  return ns !== null && (m === null || ns < m)
    ? { value: ns, key: namespace }
    : { value: m, key: machine };
}

/** How far the roots reach, and how the polling that replaces the watches runs. */
export interface WatchExtent {
  /** Directories below the roots (the roots included): one watch each. */
  dirs: number;
  files: number;
  /** Milliseconds between two polls of a file. */
  pollMs: number;
}

const n = (x: number) => x.toLocaleString('en-US');

/** A value to raise a limit to: twice what is needed, a power of two, and at least `floor`. */
export function suggestedLimit(needed: number, floor: number): number {
  let v = floor;
  while (v < 2 * needed) v *= 2;
  return v;
}

/** `sysctl` now, and a file in /etc/sysctl.d that sets it at every boot. */
function raiseLimit(key: string, value: number): string {
  return (
    `  sudo sysctl ${key}=${value}\n` +
    'and to keep it after a reboot:\n' +
    `  echo ${key}=${value} | sudo tee /etc/sysctl.d/90-composync.conf\n` +
    '(in a container or Docker Desktop, on the machine or VM that runs the kernel). Then restart ' +
    'composync.'
  );
}

function polling(x: WatchExtent): string {
  const every = x.pollMs >= 1000 ? `${Math.round(x.pollMs / 100) / 10} s` : `${x.pollMs} ms`;
  return (
    `composync polls instead: it still sees every change, but each file is looked at only ` +
    `every ${every} (${n(x.files)} files), so changes arrive that much later and polling ` +
    'costs CPU.'
  );
}

/**
 * The message for running out of watches (ENOSPC, EMFILE, ENFILE) after `held` watches were in
 * place; `extent` is what the polling that took over found.
 */
export function exhaustedMessage(
  err: ErrnoError,
  held: number,
  extent: WatchExtent,
  limits: WatchLimits,
): string {
  const linux = limits.maxUserWatches !== null;
  if (err.code === 'ENOSPC' && linux) {
    const limit = limits.maxUserWatches!;
    const key = limits.watchesKey ?? 'fs.inotify.max_user_watches';
    // the limit is reached for the user as a whole: what composync did not hold, others do
    const others = Math.max(0, limit - held);
    const value = suggestedLimit(extent.dirs + others, 524_288);
    return (
      `out of inotify watches: watching needs one per directory, ${n(extent.dirs)} here, and ` +
      `the limit ${key} is ${n(limit)} for all of this user's processes together` +
      (others > 0 ? ` (about ${n(others)} of them held by other programs). ` : '. ') +
      `${polling(extent)} To watch instead, raise the limit:\n${raiseLimit(key, value)}`
    );
  }
  const { openFiles, openFilesLimit, maxUserInstances } = limits;
  // an inotify instance is a file descriptor: EMFILE is the instance limit unless the
  // process is at its open-file limit
  if (
    err.code === 'EMFILE' &&
    maxUserInstances !== null &&
    openFiles !== null &&
    openFilesLimit !== null &&
    openFiles < openFilesLimit - 16
  ) {
    const key = limits.instancesKey ?? 'fs.inotify.max_user_instances';
    const value = suggestedLimit(maxUserInstances, 1024);
    return (
      `out of inotify instances: composync needs one, and other programs of this user hold all ` +
      `${n(maxUserInstances)} that ${key} allows. ${polling(extent)} To watch instead, raise ` +
      `the limit:\n${raiseLimit(key, value)}`
    );
  }
  if (err.code === 'ENOSPC')
    return (
      `the system limit on file watches was reached (${err.message}) with ${n(held)} in place, ` +
      `for ${n(extent.dirs)} directories. ${polling(extent)}`
    );
  return (
    `too many open files while watching (${err.message}${
      openFilesLimit !== null ? `; the limit is ${n(openFilesLimit)}` : ''
    }). ${polling(extent)} Raise the open-file limit (\`ulimit -n\`) and restart composync ` +
    'to watch instead.'
  );
}

/**
 * A warning when the watches in place are close to the limit, so the fallback to polling that
 * a few more directories would bring is no surprise; null when they are not.
 */
export function nearLimitMessage(held: number, limits: WatchLimits): string | null {
  const limit = limits.maxUserWatches;
  if (limit === null || held < 0.9 * limit) return null;
  const key = limits.watchesKey ?? 'fs.inotify.max_user_watches';
  return (
    `${n(held)} inotify watches (one per directory) are in place, close to the limit ` +
    `${key} of ${n(limit)} for all of this user's processes: past it, composync falls back ` +
    'to polling, which is slower. Raise the limit now:\n' +
    raiseLimit(key, suggestedLimit(held, 524_288))
  );
}
