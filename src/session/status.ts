/**
 * The live status file of a session (`.composync/status.json`): per rule and container, its
 * state and counters. A running watcher keeps it current; when none runs it is the last known.
 */
import type { SyncModel } from '../core/model.js';
import type { Problem } from '../core/ports.js';
import type { RuleSync } from './rule-sync.js';
import { writeFileAtomic } from './files.js';

export type RuleState = 'watching' | 'syncing' | 'error' | 'stopped' | 'not watching';

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
  conflicts: { path: string; reason: string }[];
  problems: Problem[];
}

export interface StatusFile {
  project: string;
  pid: number;
  watching: boolean;
  updatedAt: string;
  rules: RuleStatus[];
}

export class StatusWriter {
  private readonly rules = new Map<string, RuleStatus>();
  private readonly sources = new Map<string, RuleSync>();
  private watching = false;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly model: SyncModel,
  ) {}

  update(
    rs: RuleSync,
    change: { state?: RuleState; files?: number; bytes?: number; problems?: Problem[] },
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
      st.lastSync = new Date().toISOString();
    }
    if (change.problems) st.problems = change.problems.slice(0, 50);
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
      updatedAt: new Date().toISOString(),
      rules: [...this.rules.values()],
    };
  }

  write(opts: { watching?: boolean } = {}): Promise<void> {
    if (opts.watching !== undefined) {
      this.watching = opts.watching;
      if (!opts.watching)
        for (const r of this.rules.values()) if (r.state !== 'error') r.state = 'not watching';
    }
    const data = JSON.stringify(this.snapshot(), null, 2);
    this.chain = this.chain.then(() => writeFileAtomic(this.path, data)).catch(() => undefined);
    return this.chain;
  }
}
