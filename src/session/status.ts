/**
 * The live status file of a session (`.composync/status.json`): per rule and container, its
 * state and counters. A running watcher keeps it current (a write at most every 100 ms after a
 * change); when none runs it is the last known. {@link statusReport} turns it into what
 * `composync status` shows.
 */
import { readFile } from 'node:fs/promises';
import type { SyncModel } from '../core/model.js';
import type { Problem } from '../core/ports.js';
import type { RuleSync } from './rule-sync.js';
import { writeFileAtomic } from './files.js';

export type RuleState = 'watching' | 'syncing' | 'halted' | 'error' | 'stopped' | 'not watching';

/** A rule whose deletions are held back (core/safety), as the status file and report show it. */
export interface HaltStatus {
  /** The side whose deletions are held back. */
  side: 'local' | 'container';
  reason: string;
  /** The command that resumes the rule (applies what was held back). */
  command: string;
  since: string;
}

/** One rule in one container, as stored in the status file. */
export interface RuleStatus {
  service: string;
  rule: string;
  container: string;
  source: string;
  target: string;
  mode: string;
  state: RuleState;
  lastSync: string | null;
  files: number;
  bytes: number;
  /** Bytes sent to the engine for those files (after gzip on remote engines). */
  wireBytes?: number;
  conflicts: { path: string; reason: string }[];
  problems: Problem[];
  /** Set while the rule is halted in this container. */
  halted?: HaltStatus | null;
}

export interface StatusFile {
  project: string;
  pid: number;
  watching: boolean;
  /** The services the watcher covers (absent in files of one-shot commands). */
  services?: string[];
  updatedAt: string;
  rules: RuleStatus[];
}

/** True when a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The status file, or null when there is none (or it cannot be parsed). */
export async function readStatusFile(path: string): Promise<StatusFile | null> {
  const text = await readFile(path, 'utf8').catch(() => null);
  if (!text) return null;
  try {
    return JSON.parse(text) as StatusFile;
  } catch {
    return null;
  }
}

const keyOf = (r: RuleStatus) => `${r.rule}@${r.container}`;

/**
 * Keeps the status of one process's rules and containers and writes it atomically. A watcher
 * (after `write({ watching: true })`) writes soon after every change; others write when asked.
 */
export class StatusWriter {
  private readonly rules = new Map<string, RuleStatus>();
  private readonly sources = new Map<string, RuleSync>();
  private watching = false;
  private services: string[] | undefined;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly model: SyncModel,
  ) {}

  /** Record a change of one rule in one container; a watching writer writes it out soon. */
  update(
    rs: RuleSync,
    change: {
      state?: RuleState;
      files?: number;
      bytes?: number;
      wireBytes?: number;
      problems?: Problem[];
      /** The rule's halt after the change (null: not halted). */
      halted?: HaltStatus | null;
    },
  ): void {
    const key = `${rs.rule.id}@${rs.channel.container.name}`;
    let st = this.rules.get(key);
    if (!st) {
      st = {
        service: rs.rule.service,
        rule: rs.rule.id,
        container: rs.channel.container.name,
        source: rs.rule.source,
        target: rs.targetAbs,
        mode: rs.rule.mode,
        state: 'not watching',
        lastSync: null,
        files: 0,
        bytes: 0,
        conflicts: [],
        problems: [],
      };
      this.rules.set(key, st);
    }
    this.sources.set(key, rs);
    if (change.state) st.state = change.state;
    if (change.files !== undefined) {
      st.files += change.files;
      st.bytes += change.bytes ?? 0;
      if (change.wireBytes !== undefined) st.wireBytes = (st.wireBytes ?? 0) + change.wireBytes;
      st.lastSync = new Date().toISOString();
    }
    if (change.problems) st.problems = change.problems.slice(0, 50);
    if (change.halted !== undefined) st.halted = change.halted;
    // while watching, `status` must see every batch and every container start or stop
    if (this.watching) this.schedule();
  }

  /** Drop the entries of these rules (a reloaded model removed or replaced them). */
  forget(ruleIds: Set<string>): void {
    for (const [key, st] of this.rules) {
      if (!ruleIds.has(st.rule)) continue;
      this.rules.delete(key);
      this.sources.delete(key);
    }
  }

  /** Write soon (coalesces bursts of updates). */
  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.write();
    }, 100);
    this.timer.unref();
  }

  snapshot(): StatusFile {
    for (const [key, rs] of this.sources) this.rules.get(key)!.conflicts = [...rs.conflicts];
    return {
      project: this.model.projectName,
      pid: process.pid,
      watching: this.watching,
      ...(this.services ? { services: this.services } : {}),
      updatedAt: new Date().toISOString(),
      rules: [...this.rules.values()],
    };
  }

  /**
   * Write the file atomically. `watching: true` marks this process as the live watcher of
   * `services`; `watching: false` ends that and marks every rule `not watching` (errors stay).
   * Entries of other rules and containers already in the file are kept as last known. A
   * one-shot command never overwrites the file of a live watcher.
   */
  write(opts: { watching?: boolean; services?: string[] } = {}): Promise<void> {
    // this write covers what a scheduled one would: a stopped session writes nothing later
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (opts.services) this.services = opts.services;
    if (opts.watching !== undefined) {
      this.watching = opts.watching;
      if (!opts.watching)
        for (const r of this.rules.values())
          if (r.state !== 'error' && r.state !== 'halted') r.state = 'not watching';
    }
    const own = this.snapshot();
    this.chain = this.chain
      .then(async () => {
        const old = await readStatusFile(this.path);
        const oldIsLiveWatcher =
          old !== null && old.watching && old.pid !== process.pid && isAlive(old.pid);
        if (oldIsLiveWatcher && !own.watching) return;
        await writeFileAtomic(this.path, JSON.stringify(mergeStatus(own, old), null, 2));
      })
      .catch(() => undefined);
    return this.chain;
  }
}

/** `own` plus the entries of `old` it does not cover, whose live states are no longer live. */
export function mergeStatus(own: StatusFile, old: StatusFile | null): StatusFile {
  if (!old || old.project !== own.project) return own;
  const mine = new Set(own.rules.map(keyOf));
  const kept = old.rules
    .filter((r) => !mine.has(keyOf(r)))
    .map((r): RuleStatus => (isLiveState(r.state) ? { ...r, state: 'not watching' } : r));
  return { ...own, rules: [...own.rules, ...kept] };
}

const isLiveState = (s: RuleState) => s === 'watching' || s === 'syncing';

// -----------------------------------------------------------------------------------------------
// What `composync status` reports

/** One container of a rule, in a status report. */
export interface ContainerStatus {
  name: string;
  state: RuleState;
  lastSync: string | null;
  files: number;
  bytes: number;
  conflicts: number;
  problems: number;
  halted: HaltStatus | null;
}

/** One rule of the model with its containers, in a status report. */
export interface RuleReport {
  service: string;
  rule: string;
  source: string;
  /** The container path (resolved against the WORKDIR once a container was seen). */
  target: string;
  mode: string;
  /**
   * The most telling state of its containers: halted, error, syncing, watching, stopped, not
   * watching.
   */
  state: RuleState;
  containers: ContainerStatus[];
  /** Latest sync over its containers. */
  lastSync: string | null;
  /** Files (written or deleted) and bytes moved, summed over its containers. */
  files: number;
  bytes: number;
  /** Bytes sent to the engine for them (after gzip on remote engines). */
  wireBytes: number;
  conflicts: { container: string; path: string; reason: string }[];
  problems: { container: string; path: string; message: string }[];
  /** The containers in which the rule is halted, with why and the command that resumes it. */
  halted: ({ container: string } & HaltStatus)[];
}

/** The output of `composync status --json`. */
export interface StatusReport {
  project: string;
  /** True while a watcher runs and keeps this current; false: the last known status. */
  live: boolean;
  watcherPid: number | null;
  updatedAt: string | null;
  rules: RuleReport[];
}

const STATE_RANK: Record<RuleState, number> = {
  halted: 5,
  error: 4,
  syncing: 3,
  watching: 2,
  stopped: 1,
  'not watching': 0,
};

/**
 * Build the report of every rule of `model` from the status file. `live` says whether the
 * file's watcher still runs; when it does not, no rule is `watching` or `syncing` any more.
 * Rules the file does not know: `stopped` when a live watcher covers their service (it has no
 * running container), else `not watching`.
 */
export function statusReport(
  model: SyncModel,
  file: StatusFile | null,
  live: boolean,
): StatusReport {
  const entries = file && file.project === model.projectName ? file.rules : [];
  const covered = new Set(live ? (file?.services ?? []) : []);
  const rules: RuleReport[] = [];
  for (const svc of model.services) {
    for (const rule of svc.rules) {
      const mine = entries
        .filter((e) => e.rule === rule.id)
        .sort((a, b) => (a.container < b.container ? -1 : a.container > b.container ? 1 : 0));
      const containers = mine.map((e): ContainerStatus => ({
        name: e.container,
        state: live || !isLiveState(e.state) ? e.state : 'not watching',
        lastSync: e.lastSync,
        files: e.files,
        bytes: e.bytes,
        conflicts: e.conflicts.length,
        problems: e.problems.length,
        halted: e.halted ?? null,
      }));
      const none: RuleState = covered.has(svc.name) ? 'stopped' : 'not watching';
      const state = containers.reduce<RuleState>(
        (s, c) => (STATE_RANK[c.state] > STATE_RANK[s] ? c.state : s),
        containers.length ? 'not watching' : none,
      );
      const lastSync = mine.reduce<string | null>(
        (t, e) => (e.lastSync && (!t || e.lastSync > t) ? e.lastSync : t),
        null,
      );
      rules.push({
        service: svc.name,
        rule: rule.id,
        source: rule.source,
        target: mine[0]?.target ?? rule.target,
        mode: rule.mode,
        state,
        containers,
        lastSync,
        files: mine.reduce((n, e) => n + e.files, 0),
        bytes: mine.reduce((n, e) => n + e.bytes, 0),
        wireBytes: mine.reduce((n, e) => n + (e.wireBytes ?? 0), 0),
        conflicts: mine.flatMap((e) => e.conflicts.map((c) => ({ container: e.container, ...c }))),
        problems: mine.flatMap((e) => e.problems.map((p) => ({ container: e.container, ...p }))),
        halted: mine.flatMap((e) => (e.halted ? [{ container: e.container, ...e.halted }] : [])),
      });
    }
  }
  return {
    project: model.projectName,
    live,
    watcherPid: live && file ? file.pid : null,
    updatedAt: file?.updatedAt ?? null,
    rules,
  };
}
