/**
 * Small helpers of the benchmark harness: child processes, statistics, /proc readings, and
 * generated file trees.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { now } from './probe-client.js';

export { now };

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
  /** Peak RSS in MB (VmHWM, read every 20 ms until the process ends; 0 if never read). */
  peakRssMb: number;
}

/** Run a command to completion (never throws on a non-zero exit); `ms` is its wall time. */
export function run(
  cmd: string,
  args: string[],
  opts: {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    timeoutMs?: number;
    /** Called with the child's pid once it runs (to sample its /proc entries). */
    onSpawn?: (pid: number) => void;
  } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const t0 = now();
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    let peakRssMb = 0;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30 * 60_000);
    // VmHWM only grows: the last reading before the process ends is its peak (to 20 ms)
    const sampler = setInterval(() => {
      try {
        // an exited, not yet reaped process has no VmHWM (NaN)
        const peak = child.pid ? memoryMb(child.pid).peak : NaN;
        if (Number.isFinite(peak)) peakRssMb = Math.max(peakRssMb, peak);
      } catch {
        // gone between two readings
      }
    }, 20);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearInterval(sampler);
      resolve({ code: code ?? -1, stdout, stderr, ms: now() - t0, peakRssMb });
    });
  });
}

/** Like {@link run}, but throws with the output when the command fails. */
export async function mustRun(
  cmd: string,
  args: string[],
  opts: Parameters<typeof run>[2] = {},
): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr || r.stdout}`);
  return r;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Nearest-rank percentile of the finite values; NaN when there are none. */
export function percentile(xs: number[], p: number): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length, Math.max(1, rank)) - 1]!;
}

/** p50, p95 and max of a sample of milliseconds, plus how many samples never completed. */
export interface Distribution {
  samples: number[];
  p50: number;
  p95: number;
  max: number;
  lost: number;
}

export function distribution(samples: number[]): Distribution {
  const ok = samples.filter(Number.isFinite);
  return {
    samples: samples.map((x) => round(x)),
    p50: round(percentile(ok, 50)),
    p95: round(percentile(ok, 95)),
    max: round(ok.length ? Math.max(...ok) : NaN),
    lost: samples.length - ok.length,
  };
}

export const round = (x: number, digits = 1) =>
  Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : NaN;

/** The median of the finite values (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** CPU seconds (user + system) a process has used, from /proc/PID/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name may hold spaces: fields are counted after its closing parenthesis
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / clockTicks;
}

// USER_HZ is 100 on every Linux architecture Node runs on.
const clockTicks = 100;

/** VmRSS and VmHWM (peak) of a process, in MB, from /proc/PID/status. */
export function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1]);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** Reset a process's peak RSS (VmHWM) to its current RSS; false where the kernel refuses. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** The inotify instances a process holds and the watches on them, from /proc/PID/fd{,info}. */
export function inotifyUse(pid: number): { instances: number; watches: number } {
  let instances = 0;
  let watches = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target = '';
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    if (target !== 'anon_inode:inotify') continue;
    instances++;
    const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    watches += (info.match(/^inotify wd:/gm) ?? []).length;
  }
  return { instances, watches };
}

/** The kernel's inotify limits (per user): /proc/sys/fs/inotify/*; NaN where unreadable. */
export function inotifyLimits(): {
  maxUserWatches: number;
  maxUserInstances: number;
  maxQueuedEvents: number;
} {
  const read = (name: string) => {
    try {
      return Number(readFileSync(`/proc/sys/fs/inotify/${name}`, 'utf8').trim());
    } catch {
      return NaN;
    }
  };
  return {
    maxUserWatches: read('max_user_watches'),
    maxUserInstances: read('max_user_instances'),
    maxQueuedEvents: read('max_queued_events'),
  };
}

export const sha1 = (buf: Buffer) => createHash('sha1').update(buf).digest('hex');

/** A generated file: its path relative to the tree root, size and SHA-1. */
export interface TreeFile {
  rel: string;
  size: number;
  sha1: string;
}

const POOL = randomBytes(4 * 1024 * 1024);

/**
 * Content for one file: a first line naming the file and a tag, then a window of a random pool
 * (so files differ and do not compress away), `size` bytes in all.
 */
export function content(rel: string, tag: string, size: number): Buffer {
  const head = Buffer.from(`${rel} ${tag}\n`);
  const buf = Buffer.allocUnsafe(size);
  const n = head.copy(buf, 0, 0, Math.min(head.length, size));
  let at = n;
  let from = (sha1(head).charCodeAt(0) * 7919 + size * 31) % (POOL.length - 1);
  while (at < size) {
    const len = Math.min(size - at, POOL.length - from);
    POOL.copy(buf, at, from, from + len);
    at += len;
    from = 0;
  }
  return buf;
}

/**
 * Write a tree of `files` files spread over `dirs` directories (two levels when there are more
 * than 50 directories, as in a source tree), sizes spread evenly around `avgSize`.
 */
export function writeTree(
  root: string,
  opts: { files: number; dirs: number; avgSize: number; tag: string },
): TreeFile[] {
  const out: TreeFile[] = [];
  const top = Math.min(opts.dirs, 50);
  const dirName = (d: number) =>
    opts.dirs > 50
      ? `m${String(d % top).padStart(2, '0')}/d${String(d).padStart(4, '0')}`
      : `d${String(d).padStart(2, '0')}`;
  for (let d = 0; d < opts.dirs; d++) mkdirSync(join(root, dirName(d)), { recursive: true });
  for (let i = 0; i < opts.files; i++) {
    const rel = `${dirName(i % opts.dirs)}/f${String(i).padStart(6, '0')}.txt`;
    // sizes from avg/4 to 7avg/4: a mean of avgSize
    const size = Math.round(opts.avgSize * (0.25 + 1.5 * (((i * 7919) % 1000) / 999)));
    const buf = content(rel, opts.tag, size);
    writeFileSync(join(root, rel), buf);
    out.push({ rel, size, sha1: sha1(buf) });
  }
  return out;
}
