/**
 * The session loop: wires the watcher, the batcher, the planner and the engine. Per service,
 * batches run one at a time; services run independently. Containers that start later (or are
 * recreated) are attached and get the initial sync of their rules.
 */
import { readFile } from 'node:fs/promises';
import { join, posix, relative, sep } from 'node:path';
import { planTriggers } from '../core/triggers.js';
import { Batcher } from '../core/batcher.js';
import { matchesGlob, PathFilter } from '../core/ignore.js';
import { triggerRoots } from './trigger-roots.js';
import { modeDirection, type ServiceSync, type SyncModel, type SyncRule } from '../core/model.js';
import { fromContainerRel } from '../core/paths.js';
import { sameContent } from '../core/tree.js';
import type { ContainerChannel, ContainerRef, Engine, Watcher } from '../core/ports.js';
import type { LogRecord } from './sync-log.js';
import { SyncLog } from './sync-log.js';
import { RuleSync, type SyncReport } from './rule-sync.js';
import { paths as files } from './files.js';
import { StatusWriter } from './status.js';

export type Reporter = (rec: LogRecord) => void;

export interface SessionOptions {
  model: SyncModel;
  engine: Engine;
  /** Only these services (empty: all with sync rules). */
  services?: string[];
  reporter?: Reporter;
  createWatcher?: (onChange: (path: string) => void, onError: (err: Error) => void) => Watcher;
  /** Build one service's image and recreate only its containers (compose adapter). */
  rebuild?: (service: string) => Promise<void>;
  /** Output of exec triggers, one line at a time, prefixed by the container. */
  output?: (line: string) => void;
}

interface Attached {
  ref: ContainerRef;
  channel: ContainerChannel;
  rules: RuleSync[];
  /** Stop functions of container-side change detection (reverse and two-way rules). */
  remoteWatches: (() => Promise<void>)[];
}

interface ServiceRuntime {
  svc: ServiceSync;
  containers: Map<string, Attached>;
  batcher?: Batcher<string>;
  queue: Promise<void>;
}

export class Session {
  readonly log: SyncLog;
  readonly status: StatusWriter;
  private readonly runtimes = new Map<string, ServiceRuntime>();
  private readonly filters = new Map<string, PathFilter>();
  private watcher?: Watcher;
  private stopEvents?: () => void;
  private stopping = false;
  private watching = false;

  constructor(private readonly opts: SessionOptions) {
    const { model } = opts;
    this.log = new SyncLog(files.syncLog(model.projectDir));
    this.status = new StatusWriter(files.status(model.projectDir), model);
    const only = opts.services?.length ? new Set(opts.services) : null;
    for (const svc of model.services) {
      if (only && !only.has(svc.name)) continue;
      this.runtimes.set(svc.name, { svc, containers: new Map(), queue: Promise.resolve() });
      for (const rule of svc.rules) this.filters.set(rule.id, new PathFilter(rule));
    }
  }

  get services(): ServiceSync[] {
    return [...this.runtimes.values()].map((r) => r.svc);
  }

  private emit(rec: Omit<LogRecord, 'ts'>): void {
    const full = this.log.write(rec);
    this.opts.reporter?.(full);
  }

  /** Read every rule's `.syncignore` into its filter. */
  private async loadSyncignores(): Promise<void> {
    await Promise.all(
      [...this.runtimes.values()].flatMap((rt) =>
        rt.svc.rules.map((r) => this.reloadSyncignore(r)),
      ),
    );
  }

  private async reloadSyncignore(rule: SyncRule): Promise<void> {
    if (rule.kind === 'file') return;
    const text = await readFile(join(rule.root, '.syncignore'), 'utf8').catch(() => null);
    this.filters.get(rule.id)!.setSyncignore(text);
  }

  /**
   * Attach to every running container of the services and run the initial sync of each rule
   * (unless `initialSync` is false). Returns one report per rule and container.
   */
  async start(
    opts: { initialSync?: boolean; dryRun?: boolean; force?: boolean } = {},
  ): Promise<SyncReport[]> {
    await this.opts.engine.ping();
    await this.loadSyncignores();
    const names = [...this.runtimes.keys()];
    const containers = names.length
      ? await this.opts.engine.listContainers(this.opts.model.projectName, names)
      : [];
    for (const rt of this.runtimes.values()) {
      const running = containers.filter((c) => c.service === rt.svc.name && c.running);
      if (running.length === 0 && rt.svc.rules.length) {
        this.emit({
          level: 'warn',
          event: 'problem',
          service: rt.svc.name,
          message: `service ${rt.svc.name} has no running container: its changes wait until one starts`,
        });
      }
    }
    const reports = await Promise.all(
      [...this.runtimes.values()].map((rt) =>
        this.enqueue(rt, async () => {
          // Replicas attach and sync concurrently (the engine adapter bounds the calls).
          const mine = containers.filter((c) => c.service === rt.svc.name && c.running);
          const out = await Promise.all(mine.map((c) => this.attach(rt, c, opts)));
          return out.flat();
        }),
      ),
    );
    await this.status.write();
    return reports.flat();
  }

  /** Attach one container and (optionally) run the initial sync of its rules. */
  private async attach(
    rt: ServiceRuntime,
    ref: ContainerRef,
    opts: { initialSync?: boolean; dryRun?: boolean; force?: boolean },
  ): Promise<SyncReport[]> {
    const old = rt.containers.get(ref.id);
    if (old) await old.channel.close().catch(() => undefined);
    const channel = await this.opts.engine.attach(ref);
    const rules = rt.svc.rules.map(
      (r) => new RuleSync(r, channel, this.opts.model, this.filters.get(r.id)!),
    );
    for (const rs of rules) await rs.open();
    const attached: Attached = { ref, channel, rules, remoteWatches: [] };
    rt.containers.set(ref.id, attached);
    const reports: SyncReport[] = [];
    if (opts.initialSync === false) return reports;
    for (const rs of rules) {
      if (rs.rule.initialSync === 'disabled' && !opts.dryRun) continue;
      this.status.update(rs, { state: 'syncing' });
      const rep = await rs.initialSync({ dryRun: opts.dryRun, force: opts.force });
      reports.push(rep);
      if (!opts.dryRun) this.record(rt.svc.name, rs, rep, 'initial');
    }
    if (this.watching) await this.watchRemote(rt, attached);
    return reports;
  }

  /**
   * Container-side change detection for the rules that move files down: an exec loop in the
   * container where the image allows it, else a periodic scan through the archive endpoint
   * (its interval grows with the time a scan takes, so the cost stays bounded).
   */
  private async watchRemote(rt: ServiceRuntime, a: Attached): Promise<void> {
    for (const [i, rs] of a.rules.entries()) {
      if (modeDirection(rs.rule.mode) === 'up') continue;
      const file = rs.rule.kind === 'file';
      const dir = file ? posix.dirname(rs.targetAbs) : rs.targetAbs;
      const onChanges = (changes: { path: string; dir: boolean }[]) => {
        for (const c of changes) {
          const sub = posix.relative(rs.targetAbs, c.path);
          if (sub.startsWith('..')) continue;
          const rel = fromContainerRel(rs.rule, sub);
          if (rel === null) continue;
          if (c.dir && !file) rt.batcher?.add(`${i}\0\x01${rel}`);
          else if (rel !== '') rt.batcher?.add(`${i}\0\x02${rel}`);
        }
      };
      // about 0.5 s for ordinary trees, up to 5 s for 100,000 entries: one find per interval
      const intervalMs = Math.max(500, Math.min(5000, rs.base.size / 20));
      const stop = await a.channel.watchChanges(dir, { intervalMs }, onChanges).catch(() => null);
      a.remoteWatches.push(stop ?? this.pollRemote(rt, i, rs));
    }
  }

  private pollRemote(rt: ServiceRuntime, i: number, rs: RuleSync): () => Promise<void> {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const tick = async () => {
      const t0 = performance.now();
      try {
        const tree = await rs.scanRemote();
        const base = rs.base;
        for (const [rel, e] of tree) {
          const b = base.get(rel);
          if (!b || !sameContent(e, b)) rt.batcher?.add(`${i}\0${rel}`);
        }
        for (const rel of base.keys()) if (!tree.has(rel)) rt.batcher?.add(`${i}\0${rel}`);
      } catch {
        // the container went away: its events detach it
      }
      if (!stopped) timer = setTimeout(tick, Math.max(2000, (performance.now() - t0) * 10));
    };
    timer = setTimeout(tick, 2000);
    return async () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  private detach(rt: ServiceRuntime, id: string): void {
    const a = rt.containers.get(id);
    if (!a) return;
    rt.containers.delete(id);
    for (const stop of a.remoteWatches) void stop().catch(() => undefined);
    void a.channel.close().catch(() => undefined);
    for (const rs of a.rules) this.status.update(rs, { state: 'stopped' });
  }

  /**
   * `push` / `pull` of every rule in every running container of the services (see
   * RuleSync.transfer), then report.
   */
  async transfer(
    kind: 'push' | 'pull',
    opts: { raw?: boolean; skipPull?: boolean; dryRun?: boolean; force?: boolean },
  ): Promise<SyncReport[]> {
    await this.start({ initialSync: false });
    const out: SyncReport[] = [];
    for (const rt of this.runtimes.values()) {
      for (const a of rt.containers.values()) {
        for (const rs of a.rules) {
          const rep = await rs.transfer(kind, opts);
          if (!opts.dryRun) this.record(rt.svc.name, rs, rep, 'batch');
          out.push(rep);
        }
      }
    }
    await this.status.write();
    return out;
  }

  /** Report one sync: the sync log, the screen and the status file. */
  private record(service: string, rs: RuleSync, rep: SyncReport, kind: 'initial' | 'batch'): void {
    const base = { service, container: rep.container, rule: rep.rule };
    if (rep.uploaded || (kind === 'initial' && !rep.deleted)) {
      this.emit({
        ...base,
        level: 'info',
        event: 'sync',
        files: rep.uploaded,
        bytes: rep.bytes,
        wireBytes: rep.wireBytes,
        ms: Math.round(rep.ms),
        via: rep.via,
        message:
          kind === 'initial'
            ? `initial sync: ${rep.uploaded} files uploaded to ${rs.targetAbs}`
            : `${rep.uploaded} files uploaded`,
      });
    }
    if (rep.downloaded) {
      this.emit({
        ...base,
        level: 'info',
        event: 'download',
        files: rep.downloaded,
        bytes: rep.downloadedBytes,
        ms: Math.round(rep.ms),
        message: `${rep.downloaded} entries downloaded from the container`,
      });
    }
    if (rep.deletedLocal) {
      this.emit({
        ...base,
        level: 'info',
        event: 'delete',
        files: rep.deletedLocal,
        ms: Math.round(rep.ms),
        message: `${rep.deletedLocal} paths deleted locally`,
      });
    }
    if (rep.deleted) {
      this.emit({
        ...base,
        level: 'info',
        event: 'delete',
        files: rep.deleted,
        ms: Math.round(rep.ms),
        message: `${rep.deleted} paths deleted in the container`,
      });
    }
    for (const c of rep.conflicts) {
      this.emit({
        ...base,
        level: 'warn',
        event: 'conflict',
        paths: [c.path],
        message: `conflict: ${c.path}: ${c.reason}; left as it is on both sides`,
      });
    }
    for (const p of rep.problems) {
      this.emit({
        ...base,
        level: 'error',
        event: 'problem',
        paths: [p.path],
        message: `${p.path}: ${p.message}`,
      });
    }
    this.status.update(rs, {
      state: rep.problems.length ? 'error' : 'watching',
      files: rep.uploaded + rep.deleted + rep.downloaded + rep.deletedLocal,
      bytes: rep.bytes + rep.downloadedBytes,
      wireBytes: rep.wireBytes,
      problems: rep.problems,
    });
    this.status.schedule();
  }

  private enqueue<T>(rt: ServiceRuntime, job: () => Promise<T>): Promise<T> {
    const run = rt.queue.then(job);
    rt.queue = run.then(
      () => undefined,
      (err) => this.fail(rt, err),
    );
    return run;
  }

  private fail(rt: ServiceRuntime, err: unknown): void {
    this.emit({
      level: 'error',
      event: 'problem',
      service: rt.svc.name,
      message: `service ${rt.svc.name}: ${errorText(err)}`,
    });
  }

  /**
   * Watch the local sources and trigger paths. Called before the initial sync by `up --watch`
   * and `watch`, so an edit made while the initial sync runs is not lost: its batch queues
   * behind the initial sync. Idempotent.
   */
  async watchLocal(opts: { poll?: boolean } = {}): Promise<void> {
    if (this.watcher || this.stopping) return;
    const { model } = this.opts;
    await this.loadSyncignores();
    const onError = (err: Error) =>
      this.emit({ level: 'warn', event: 'problem', message: `watcher: ${err.message}` });
    const onChange = (abs: string) => this.onChange(abs);
    this.watcher = this.opts.createWatcher
      ? this.opts.createWatcher(onChange, onError)
      : await defaultWatcher(onChange, onError, opts.poll);

    const byRoot = new Map<string, SyncRule[]>();
    for (const rt of this.runtimes.values()) {
      rt.batcher = new Batcher<string>({
        debounce: rt.svc.debounce,
        maxWait: rt.svc.maxWait,
        // the promise holds the next batch back while this one runs, so a burst coalesces
        onBatch: (keys) => this.enqueue(rt, () => this.runBatch(rt, keys)),
      });
      for (const r of rt.svc.rules) byRoot.set(r.root, [...(byRoot.get(r.root) ?? []), r]);
    }
    for (const [root, rules] of byRoot) {
      await this.watcher.add(root, (abs) => {
        const rel = toRel(root, abs);
        return rel !== null && rel !== '' && rules.every((r) => this.skipDir(r, rel));
      });
    }
    // trigger paths outside every sync source are watched on their own
    const roots = triggerRoots(this.services, model.projectDir);
    for (const t of roots) {
      if (byRoot.has(t.root)) continue;
      await this.watcher.add(t.root, (abs) => {
        const rel = toRel(t.root, abs);
        if (rel === null || rel === '') return false;
        return t.shallow || rel === '.git' || rel.endsWith('/.git') || rel === '.composync';
      });
    }
  }

  /** Watch local sources, container starts and container-side changes, until stop(). */
  async watch(opts: { poll?: boolean } = {}): Promise<void> {
    const { model, engine } = this.opts;
    await this.watchLocal(opts);
    this.stopEvents = await engine.events(model.projectName, (e) => {
      const rt = this.runtimes.get(e.service);
      if (!rt || this.stopping) return;
      if (e.action === 'start') {
        void this.enqueue(rt, async () => {
          const [ref] = (await engine.listContainers(model.projectName, [e.service])).filter(
            (c) => c.id === e.containerId && c.running,
          );
          if (!ref) return;
          this.emit({
            level: 'info',
            event: 'start',
            service: e.service,
            container: ref.name,
            message: `container ${ref.name} started: syncing it`,
          });
          await this.attach(rt, ref, { initialSync: true });
          await this.status.write();
        });
      } else if (e.action === 'die' || e.action === 'destroy' || e.action === 'stop') {
        void this.enqueue(rt, async () => this.detach(rt, e.containerId));
      }
    });

    this.watching = true;
    for (const rt of this.runtimes.values())
      for (const a of rt.containers.values()) await this.watchRemote(rt, a);
    for (const rt of this.runtimes.values())
      for (const rs of [...rt.containers.values()].flatMap((c) => c.rules))
        this.status.update(rs, { state: 'watching' });
    await this.status.write({ watching: true, services: [...this.runtimes.keys()] });
  }

  private skipDir(rule: SyncRule, rel: string): boolean {
    if (rule.kind === 'file') return true;
    return this.filters.get(rule.id)!.canSkipDir(rel);
  }

  private onChange(abs: string): void {
    if (this.stopping) return;
    const projectRel = toRel(this.opts.model.projectDir, abs);
    for (const rt of this.runtimes.values()) {
      const { svc } = rt;
      if (
        projectRel &&
        (matchesGlob(svc.rebuild, projectRel) ||
          svc.restart.some((r) => matchesGlob(r.paths, projectRel)) ||
          svc.exec.some((r) => matchesGlob(r.paths, projectRel)))
      ) {
        rt.batcher?.add(`t\0${projectRel}`);
      }
      rt.svc.rules.forEach((rule, i) => {
        const rel = toRel(rule.root, abs);
        if (rel === null || rel === '') return;
        if (rule.kind === 'file' && rel !== rule.only) return;
        // an empty path asks for a full reconcile of the rule: its ignore rules changed
        if (rel === '.syncignore' && rule.kind !== 'file') rt.batcher?.add(`${i}\0`);
        rt.batcher?.add(`${i}\0${rel}`);
      });
    }
  }

  /**
   * Apply one batch of a service in the fixed order: rebuild (and nothing else: the new
   * container gets the initial sync), else sync every rule into every attached container, then
   * restart or signal, then exec.
   */
  private async runBatch(rt: ServiceRuntime, keys: Set<string>): Promise<void> {
    const byRule = new Map<number, Set<string>>();
    const remoteDirs = new Map<number, Set<string>>();
    // files the container-side watcher saw change (its listing has sub-second mtimes)
    const remoteFiles = new Map<number, Set<string>>();
    const full = new Set<number>();
    const triggered: string[] = [];
    for (const k of keys) {
      const z = k.indexOf('\0');
      const rel = k.slice(z + 1);
      if (k.startsWith('t\0')) {
        triggered.push(rel);
        continue;
      }
      const i = Number(k.slice(0, z));
      if (rel === '') full.add(i);
      else if (rel.startsWith('\x01')) {
        remoteDirs.set(i, (remoteDirs.get(i) ?? new Set()).add(rel.slice(1)));
      } else if (rel.startsWith('\x02')) {
        remoteFiles.set(i, (remoteFiles.get(i) ?? new Set()).add(rel.slice(1)));
        byRule.set(i, (byRule.get(i) ?? new Set()).add(rel.slice(1)));
      } else byRule.set(i, (byRule.get(i) ?? new Set()).add(rel));
    }
    const triggers = planTriggers(rt.svc, triggered);
    if (triggers.rebuild) return this.rebuild(rt);

    for (const i of full) {
      const rule = rt.svc.rules[i]!;
      await this.reloadSyncignore(rule);
      await this.watcher?.refresh(rule.root);
    }
    const changed = new Map<string, string[]>();
    // Every container of the service at once (the engine adapter bounds the calls in flight):
    // one slow, paused or failing replica does not hold back the others.
    await Promise.all(
      [...rt.containers.values()].map(async (a) => {
        const paths: string[] = [];
        changed.set(a.ref.id, paths);
        for (const [i, rs] of a.rules.entries()) {
          try {
            let rep: SyncReport | null = null;
            if (full.has(i)) rep = await rs.initialSync();
            else if (byRule.has(i) || remoteDirs.has(i)) {
              rep = await rs.applyBatch(new Set(byRule.get(i)), {
                remoteDirs: remoteDirs.get(i),
                remoteFiles: remoteFiles.get(i),
              });
            }
            if (rep) {
              this.record(rt.svc.name, rs, rep, 'batch');
              paths.push(...rep.changedPaths);
            }
          } catch (err) {
            this.status.update(rs, { state: 'error' });
            this.fail(rt, err);
          }
        }
      }),
    );
    if (!triggers.restart && !triggers.signals.length && !triggers.exec.length) return;
    await Promise.all(
      [...rt.containers.values()].map((a) =>
        this.runTriggers(rt, a.ref, triggers, changed.get(a.ref.id) ?? []),
      ),
    );
  }

  private async runTriggers(
    rt: ServiceRuntime,
    ref: ContainerRef,
    t: ReturnType<typeof planTriggers>,
    changedPaths: string[],
  ): Promise<void> {
    const { engine } = this.opts;
    const base = { service: rt.svc.name, container: ref.name };
    const timed = async (fn: () => Promise<void>) => {
      const t0 = performance.now();
      await fn();
      return Math.round(performance.now() - t0);
    };
    try {
      if (t.restart) {
        const ms = await timed(() => engine.restart(ref.id));
        this.emit({
          ...base,
          level: 'info',
          event: 'restart',
          ms,
          message: `restarted ${ref.name}`,
        });
      }
      for (const sig of t.signals) {
        const ms = await timed(() => engine.kill(ref.id, sig));
        this.emit({
          ...base,
          level: 'info',
          event: 'signal',
          ms,
          message: `sent ${sig} to ${ref.name}`,
        });
      }
    } catch (err) {
      this.emit({ ...base, level: 'error', event: 'problem', message: errorText(err) });
    }
    const prefix = `${rt.svc.name}-${ref.number}`;
    for (const e of t.exec) {
      const argv = typeof e.command === 'string' ? ['sh', '-c', e.command] : e.command;
      const t0 = performance.now();
      try {
        const r = await engine.exec(ref.id, argv, {
          user: e.user,
          workdir: e.workdir,
          env: { ...e.env, COMPOSYNC_CHANGED_FILES: changedPaths.join('\n') },
        });
        for (const line of r.output.replace(/\n$/, '').split('\n')) {
          if (line) this.opts.output?.(`${prefix}  | ${line}`);
        }
        const ms = Math.round(performance.now() - t0);
        const cmd = Array.isArray(e.command) ? e.command.join(' ') : e.command;
        this.emit({
          ...base,
          level: r.exitCode === 0 ? 'info' : 'error',
          event: 'exec',
          ms,
          message:
            r.exitCode === 0
              ? `exec \`${cmd}\` done`
              : `exec \`${cmd}\` failed with exit code ${r.exitCode}; syncing goes on`,
        });
      } catch (err) {
        this.emit({ ...base, level: 'error', event: 'problem', message: errorText(err) });
      }
    }
  }

  /** Build the service's image and recreate only its containers; they sync when they start. */
  private async rebuild(rt: ServiceRuntime): Promise<void> {
    const base = { service: rt.svc.name };
    if (!this.opts.rebuild) return;
    this.emit({ ...base, level: 'info', event: 'rebuild', message: `rebuilding ${rt.svc.name}` });
    const t0 = performance.now();
    try {
      await this.opts.rebuild(rt.svc.name);
      this.emit({
        ...base,
        level: 'info',
        event: 'rebuild',
        ms: Math.round(performance.now() - t0),
        message: `rebuilt ${rt.svc.name} and recreated its containers`,
      });
    } catch (err) {
      this.emit({
        ...base,
        level: 'error',
        event: 'problem',
        message: `rebuild of ${rt.svc.name} failed: ${errorText(err)}`,
      });
    }
  }

  /** Stop watching: finish the batch in flight and what is pending, save state, close. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.stopEvents?.();
    await this.watcher?.close();
    for (const rt of this.runtimes.values()) rt.batcher?.flush();
    await Promise.all([...this.runtimes.values()].map((rt) => rt.queue));
    for (const rt of this.runtimes.values()) {
      for (const a of rt.containers.values()) {
        for (const stop of a.remoteWatches) await stop().catch(() => undefined);
        for (const rs of a.rules) await rs.save().catch(() => undefined);
        await a.channel.close().catch(() => undefined);
      }
      rt.batcher?.dispose();
    }
    await this.status.write({ watching: false });
    await this.log.flush();
  }

  /** Close channels without watching (one-shot commands). */
  async close(): Promise<void> {
    for (const rt of this.runtimes.values())
      for (const a of rt.containers.values()) await a.channel.close().catch(() => undefined);
    await this.log.flush();
  }

  /** The rules attached to running containers (one per rule and container; the dashboard). */
  attachedRules(): RuleSync[] {
    return [...this.runtimes.values()].flatMap((rt) =>
      [...rt.containers.values()].flatMap((a) => a.rules),
    );
  }

  /**
   * Apply the user's decision on a conflict (see RuleSync.resolveConflict) in the service's
   * queue, so it never runs beside a batch; recorded like a batch, plus a `conflict` event
   * naming the choice.
   */
  async resolveConflict(
    ruleId: string,
    container: string,
    path: string,
    keep: 'local' | 'container' | 'both',
  ): Promise<{ report: SyncReport; copy?: string }> {
    const rs = this.attachedRules().find(
      (r) => r.rule.id === ruleId && r.channel.container.name === container,
    );
    const rt = rs && this.runtimes.get(rs.rule.service);
    if (!rs || !rt) throw new Error(`rule ${ruleId} is not attached to a container ${container}`);
    return this.enqueue(rt, async () => {
      const res = await rs.resolveConflict(path, keep);
      this.record(rt.svc.name, rs, res.report, 'batch');
      const what = {
        local: 'kept the local version',
        container: 'kept the container version',
        both: `kept both: the local version, and the container's as ${res.copy}`,
      }[keep];
      const failed = res.report.problems.length > 0;
      this.emit({
        service: rt.svc.name,
        container,
        rule: ruleId,
        level: failed ? 'error' : 'info',
        event: 'conflict',
        paths: [path],
        message: failed
          ? `conflict not resolved: ${path}: ${res.report.problems[0]!.message}`
          : `conflict resolved: ${path}: ${what}`,
      });
      await this.status.write();
      return res;
    });
  }

  /**
   * One reconcile of a service's rules in each attached container, as `composync sync
   * [--force] SERVICE` does, in the service's queue (the dashboard's retry and resume).
   */
  async syncService(service: string, opts: { force?: boolean } = {}): Promise<SyncReport[]> {
    const rt = this.runtimes.get(service);
    if (!rt) throw new Error(`service ${service} is not synced by this session`);
    return this.enqueue(rt, async () => {
      const out: SyncReport[] = [];
      for (const a of rt.containers.values()) {
        for (const rs of a.rules) {
          const rep = await rs.initialSync({ force: opts.force });
          this.record(rt.svc.name, rs, rep, 'initial');
          out.push(rep);
        }
      }
      await this.status.write();
      return out;
    });
  }
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Rule-relative posix path of an absolute path, or null when outside. */
function toRel(root: string, abs: string): string | null {
  const r = relative(root, abs);
  if (r === '') return '';
  if (r.startsWith('..') || r.startsWith(sep) || /^[a-zA-Z]:/.test(r)) return null;
  return sep === '/' ? r : r.split(sep).join('/');
}

async function defaultWatcher(
  onChange: (p: string) => void,
  onError: (e: Error) => void,
  poll?: boolean,
): Promise<Watcher> {
  const { createWatcher } = await import('../watch/index.js');
  return createWatcher({ onChange, onError, poll });
}
