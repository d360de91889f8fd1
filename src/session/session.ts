/**
 * The session loop: wires the watcher, the batcher, the planner and the engine. Per service,
 * batches run one at a time; services run independently. Containers that start later (or are
 * recreated) are attached and get the initial sync of their rules.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join, posix } from 'node:path';
import { planTriggers } from '../core/triggers.js';
import { Batcher, type Clock } from '../core/batcher.js';
import { relativeTo, routeLocal, ServiceBatch, type BatchEvent } from '../core/route.js';
import { matchesGlob, PathFilter } from '../core/ignore.js';
import { triggerRoots } from './trigger-roots.js';
import type { ExecRule, ServiceSync, SyncModel, SyncRule } from '../core/model.js';
import { modeDirection } from '../core/modes.js';
import { fromContainerRel } from '../core/paths.js';
import { sameContent } from '../core/tree.js';
import type { ContainerChannel, ContainerRef, Engine, Watcher } from '../core/ports.js';
import type { LogRecord } from './sync-log.js';
import { SyncLog } from './sync-log.js';
import { RuleSync, type SyncReport } from './rule-sync.js';
import { paths as files } from './files.js';
import { StatusWriter } from './status.js';
import { serveRequests, type ResumeOutcome } from './requests.js';

export type Reporter = (rec: LogRecord) => void;

export interface SessionOptions {
  model: SyncModel;
  engine: Engine;
  /** Only these services (empty: all with sync rules). */
  services?: string[];
  reporter?: Reporter;
  createWatcher?: (onChange: (path: string) => void, onError: (err: Error) => void) => Watcher;
  /**
   * Build one service's image and recreate only its containers (compose adapter): create them,
   * call `beforeStart` (the initial sync into the created containers), then start them.
   */
  rebuild?: (service: string, beforeStart: () => Promise<void>) => Promise<void>;
  /** Output of exec triggers, one line at a time, prefixed by the container. */
  output?: (line: string) => void;
  /** The batches' time source (tests advance a manual one instead of sleeping). */
  clock?: Clock;
}

/**
 * The leading edge's window: an edit of a synced file after an idle period goes out this many
 * ms after its first event (the quiet period applies to everything else and to what follows).
 */
const LEADING_MS = 1;
/** A leading batch holds at most this many paths (an editor saves one file, or a few). */
const LEADING_MAX_PATHS = 16;

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
  batcher?: Batcher<BatchEvent, ServiceBatch>;
  queue: Promise<void>;
}

export class Session {
  readonly log: SyncLog;
  readonly status: StatusWriter;
  private readonly runtimes = new Map<string, ServiceRuntime>();
  private readonly filters = new Map<string, PathFilter>();
  private watcher?: Watcher;
  /** Roots the local watcher watches (rule sources and trigger roots). */
  private readonly watchedRoots = new Set<string>();
  private stopEvents?: () => void;
  private stopRequests?: () => void;
  private stopping = false;
  private watching = false;
  /** Containers whose files were synced before they started (see syncBeforeStart). */
  private readonly syncedBeforeStart = new Set<string>();
  /** Containers that had their initial sync already: the next one reports only news. */
  private readonly presynced = new Set<string>();

  /** The sync model in force: the one given, then each one {@link reload} takes. */
  private model: SyncModel;

  constructor(private readonly opts: SessionOptions) {
    const { model } = opts;
    this.model = model;
    this.log = new SyncLog(files.syncLog(model.projectDir));
    this.status = new StatusWriter(files.status(model.projectDir), model);
    for (const svc of model.services) if (this.covers(svc.name)) this.addRuntime(svc);
  }

  /** The session covers this service (all of them unless it was given some). */
  private covers(service: string): boolean {
    return !this.opts.services?.length || this.opts.services.includes(service);
  }

  private addRuntime(svc: ServiceSync): ServiceRuntime {
    const rt: ServiceRuntime = { svc, containers: new Map(), queue: Promise.resolve() };
    this.runtimes.set(svc.name, rt);
    for (const rule of svc.rules) this.filters.set(rule.id, new PathFilter(rule));
    return rt;
  }

  get services(): ServiceSync[] {
    return [...this.runtimes.values()].map((r) => r.svc);
  }

  /** Record an event of the caller's (a model reload) in the sync log and on screen. */
  report(rec: Omit<LogRecord, 'ts'>): void {
    this.emit(rec);
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
      ? await this.opts.engine.listContainers(this.model.projectName, names)
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
    for (const c of containers) {
      if (!c.running || !this.syncedBeforeStart.delete(c.id)) continue;
      this.emit({
        level: 'info',
        event: 'start',
        service: c.service,
        container: c.name,
        message: `container ${c.name} started on the files synced before it`,
      });
    }
    const reports = await Promise.all(
      [...this.runtimes.values()].map((rt) =>
        this.enqueue(rt, async () => {
          // Replicas attach and sync concurrently (the engine adapter bounds the calls).
          const mine = containers.filter((c) => c.service === rt.svc.name && c.running);
          const out = await Promise.all(
            mine.map((c) => (this.keepPresynced(rt, c, opts) ? [] : this.attach(rt, c, opts))),
          );
          return out.flat();
        }),
      ),
    );
    await this.status.write();
    return reports.flat();
  }

  /**
   * The initial sync into the containers of the services that exist and do not run yet
   * (`up` creates them first, with `docker compose up --no-start`), so their processes start
   * on the synced files. Only the archive endpoint reaches a container that is not running:
   * deletions and rules whose target lies on a tmpfs (not mounted yet) wait for the initial
   * sync that follows the start ({@link start}, or the container's start event while
   * watching). Nothing stays attached. Containers of the services that run already (compose
   * left them as they were) get their initial sync here too, so the reports cover them all.
   */
  async syncBeforeStart(services: string[] = []): Promise<SyncReport[]> {
    const rts = [...this.runtimes.values()].filter(
      (rt) => rt.svc.rules.length && (services.length === 0 || services.includes(rt.svc.name)),
    );
    if (rts.length === 0) return [];
    await this.opts.engine.ping();
    await this.loadSyncignores();
    const containers = await this.opts.engine.listContainers(
      this.model.projectName,
      rts.map((rt) => rt.svc.name),
    );
    const reports = await Promise.all(
      rts.map((rt) => this.enqueue(rt, () => this.syncNotStarted(rt, containers))),
    );
    await this.status.write();
    return reports.flat();
  }

  /** {@link syncBeforeStart} of one service, inside its queue. */
  private async syncNotStarted(
    rt: ServiceRuntime,
    containers: ContainerRef[],
  ): Promise<SyncReport[]> {
    const running = containers.filter((c) => c.service === rt.svc.name && c.running);
    const ran = await Promise.all(
      running.map(async (c) => {
        const reports = await this.attach(rt, c, { initialSync: true });
        this.presynced.add(c.id);
        return reports;
      }),
    );
    const idle = containers.filter(
      (c) =>
        c.service === rt.svc.name && !c.running && (c.state === 'created' || c.state === 'exited'),
    );
    const out = await Promise.all(
      idle.map(async (ref) => {
        const channel = await this.opts.engine.attach(ref, { notStarted: true });
        const reports: SyncReport[] = [];
        try {
          const tmpfs = channel.info.notStarted?.tmpfs ?? [];
          for (const rule of rt.svc.rules) {
            if (rule.initialSync === 'disabled') continue;
            const rs = new RuleSync(rule, channel, this.model, this.filters.get(rule.id)!);
            await rs.open({ reconcile: true });
            // a tmpfs is mounted at start: what is written under it now would be hidden
            if (tmpfs.some((m) => rs.targetAbs === m || rs.targetAbs.startsWith(`${m}/`))) continue;
            this.status.update(rs, { state: 'syncing' });
            const rep = await rs.initialSync();
            const deferred = rep.problems.filter((p) => p.deferred).length;
            rep.problems = rep.problems.filter((p) => !p.deferred);
            reports.push(rep);
            this.record(rt.svc.name, rs, rep, 'initial', { beforeStart: true, deferred });
          }
          this.syncedBeforeStart.add(ref.id);
          this.presynced.add(ref.id);
        } finally {
          await channel.close().catch(() => undefined);
        }
        return reports;
      }),
    );
    return [...ran.flat(), ...out.flat()];
  }

  /**
   * A container that ran before `up` and was reconciled by {@link syncBeforeStart} moments ago
   * (still attached, same id, so compose left it running) needs no second initial sync when
   * every rule of its service moves files up: what changed locally since is in the watcher's
   * batches, and a container-side change is checked as every write checks it. The second
   * reconcile had doubled the start of `watch` (25-40 s each on a million files). Rules that
   * move files down reconcile again: the container side may have changed in between.
   */
  private keepPresynced(
    rt: ServiceRuntime,
    c: ContainerRef,
    opts: { dryRun?: boolean; force?: boolean },
  ): boolean {
    if (opts.dryRun || opts.force || !rt.containers.has(c.id) || !this.presynced.has(c.id))
      return false;
    if (rt.svc.rules.some((r) => modeDirection(r.mode) !== 'up')) return false;
    this.presynced.delete(c.id);
    return true;
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
      (r) => new RuleSync(r, channel, this.model, this.filters.get(r.id)!),
    );
    // a rule reconciled right after it opens lists its container side while its state loads
    const reconciles = (rs: RuleSync) =>
      opts.initialSync !== false && (rs.rule.initialSync !== 'disabled' || !!opts.dryRun);
    for (const rs of rules) await rs.open({ reconcile: reconciles(rs) });
    const attached: Attached = { ref, channel, rules, remoteWatches: [] };
    rt.containers.set(ref.id, attached);
    const reports: SyncReport[] = [];
    // a container synced before it started has its records already: only news are told
    const presynced = this.presynced.delete(ref.id);
    if (opts.initialSync === false) return reports;
    for (const rs of rules) {
      if (rs.rule.initialSync === 'disabled' && !opts.dryRun) continue;
      this.status.update(rs, { state: 'syncing' });
      const rep = await rs.initialSync({ dryRun: opts.dryRun, force: opts.force });
      reports.push(rep);
      if (!opts.dryRun) this.record(rt.svc.name, rs, rep, presynced ? 'batch' : 'initial');
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
          if (c.dir && !file) rt.batcher?.add({ kind: 'container-dir', rule: i, rel });
          else if (rel !== '') rt.batcher?.add({ kind: 'container-file', rule: i, rel });
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
          if (!b || !sameContent(e, b)) rt.batcher?.add({ kind: 'path', rule: i, rel });
        }
        for (const rel of base.keys())
          if (!tree.has(rel)) rt.batcher?.add({ kind: 'path', rule: i, rel });
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
   * Resume halted rules: a forced reconcile of every rule of the services (all when empty) in
   * every attached container, queued behind the batch in flight. What a halt held back is
   * applied. Used by `composync sync --force` while this session watches.
   */
  async resume(services: string[] = []): Promise<SyncReport[]> {
    const unknown = services.filter((s) => !this.runtimes.has(s));
    if (unknown.length) throw new Error(`this watcher does not cover ${unknown.join(', ')}`);
    const names = services.length ? services : [...this.runtimes.keys()];
    const reports = await Promise.all(names.map((n) => this.syncService(n, { force: true })));
    return reports.flat();
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
  private record(
    service: string,
    rs: RuleSync,
    rep: SyncReport,
    kind: 'initial' | 'batch',
    o: { beforeStart?: boolean; deferred?: number } = {},
  ): void {
    const base = { service, container: rep.container, rule: rep.rule };
    const waiting = o.deferred ? `; ${o.deferred} deletions wait until it runs` : '';
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
        message: o.beforeStart
          ? `initial sync before the container starts: ${rep.uploaded} files uploaded to ${rs.targetAbs}${waiting}`
          : kind === 'initial'
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
      state: rs.halted ? 'halted' : rep.problems.length ? 'error' : 'watching',
      halted: rs.halted && {
        side: rs.halted.side,
        reason: rs.halted.reason,
        command: rs.halted.command,
        since: rs.halted.since,
      },
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
    await this.loadSyncignores();
    const onError = (err: Error) =>
      this.emit({ level: 'warn', event: 'problem', message: `watcher: ${err.message}` });
    const onChange = (abs: string) => this.onChange(abs);
    this.watcher = this.opts.createWatcher
      ? this.opts.createWatcher(onChange, onError)
      : await defaultWatcher(onChange, onError, opts.poll);

    for (const rt of this.runtimes.values()) this.startBatcher(rt);
    await this.watchRoots();
  }

  private startBatcher(rt: ServiceRuntime): void {
    rt.batcher = new Batcher<BatchEvent, ServiceBatch>({
      debounce: rt.svc.debounce,
      maxWait: rt.svc.maxWait,
      create: () => new ServiceBatch(),
      clock: this.opts.clock,
      leading: { ms: Math.min(LEADING_MS, rt.svc.debounce), eager: (b) => this.eager(rt, b) },
      // the promise holds the next batch back while this one runs, so a burst coalesces
      onBatch: (batch) => this.enqueue(rt, () => this.runBatch(rt, batch)),
    });
  }

  /**
   * May this batch go out on the leading edge, before the quiet period? Only an edit of files
   * every container already holds from an earlier sync (the edit loop): sending it again is
   * harmless if the file is still being written (its next event sends it once more), while new
   * paths (a burst, a checkout) gather into one batch, and anything that sets off a trigger,
   * which must not fire twice for one save, waits for quiet.
   */
  private eager(rt: ServiceRuntime, b: ServiceBatch): boolean {
    if (b.triggered.size || b.rescans.size || b.containerDirs.size || b.containerFiles.size)
      return false;
    let n = 0;
    for (const [i, rels] of b.paths) {
      n += rels.size;
      if (n > LEADING_MAX_PATHS) return false;
      for (const rel of rels) if (!this.heldEverywhere(rt, i, rel)) return false;
    }
    return n > 0 && rt.containers.size > 0;
  }

  /**
   * The rule `rule` of every attached container, when each holds `rel` as a file from an
   * earlier sync and is not halted; null otherwise.
   */
  private heldEverywhere(rt: ServiceRuntime, rule: number, rel: string): RuleSync[] | null {
    const rules: RuleSync[] = [];
    for (const a of rt.containers.values()) {
      const rs = a.rules[rule];
      if (!rs || rs.halted || rs.base.get(rel)?.kind !== 'file') return null;
      rules.push(rs);
    }
    return rules;
  }

  /**
   * Watch every rule's root and every trigger root not watched yet. What a root's watch skips
   * is asked of the rules in force at the time, so a reloaded model's rules apply to it.
   */
  private async watchRoots(): Promise<void> {
    const watcher = this.watcher;
    if (!watcher) return;
    const rulesAt = (root: string) =>
      [...this.runtimes.values()].flatMap((rt) => rt.svc.rules.filter((r) => r.root === root));
    const ruleRoots = new Set(
      [...this.runtimes.values()].flatMap((rt) => rt.svc.rules.map((r) => r.root)),
    );
    for (const root of ruleRoots) {
      if (this.watchedRoots.has(root)) continue;
      this.watchedRoots.add(root);
      await watcher.add(root, (abs) => {
        const rel = relativeTo(root, abs);
        return rel !== null && rel !== '' && rulesAt(root).every((r) => this.skipDir(r, rel));
      });
    }
    // trigger paths outside every sync source are watched on their own
    for (const t of triggerRoots(this.services, this.model.projectDir)) {
      if (ruleRoots.has(t.root) || this.watchedRoots.has(t.root)) continue;
      this.watchedRoots.add(t.root);
      await watcher.add(t.root, (abs) => {
        const rel = relativeTo(t.root, abs);
        if (rel === null || rel === '') return false;
        return t.shallow || rel === '.git' || rel.endsWith('/.git') || rel === '.composync';
      });
    }
  }

  /** Watch local sources, container starts and container-side changes, until stop(). */
  async watch(opts: { poll?: boolean } = {}): Promise<void> {
    const { engine } = this.opts;
    const model = this.model;
    await this.watchLocal(opts);
    this.stopEvents = await engine.events(model.projectName, (e) => {
      const rt = this.runtimes.get(e.service);
      if (!rt || this.stopping) return;
      if (e.kind === 'started') {
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
            message: this.syncedBeforeStart.delete(ref.id)
              ? `container ${ref.name} started on the files synced before it`
              : `container ${ref.name} started: syncing it`,
          });
          await this.attach(rt, ref, { initialSync: true });
          await this.status.write();
        });
      } else {
        void this.enqueue(rt, async () => this.detach(rt, e.containerId));
      }
    });

    // `composync sync --force` from another process resumes halted rules here
    this.stopRequests = await serveRequests(model.projectDir, async (req) =>
      (await this.resume(req.services)).map(outcomeOf),
    );

    this.watching = true;
    for (const rt of this.runtimes.values())
      for (const a of rt.containers.values()) await this.watchRemote(rt, a);
    for (const rt of this.runtimes.values())
      for (const rs of [...rt.containers.values()].flatMap((c) => c.rules))
        this.status.update(rs, { state: 'watching' });
    await this.status.write({ watching: true, services: [...this.runtimes.keys()] });
  }

  /**
   * Take a new sync model while watching (the compose files or the env file changed). A
   * service whose rules or triggers are unchanged goes on as it is; one whose rules or
   * triggers changed is stopped (the batch in flight finishes, pending changes are dropped:
   * the initial sync covers them) and attached again with an initial sync of its new rules;
   * one with no rules any more stops; a new one with rules is attached. Returns what changed.
   */
  async reload(model: SyncModel): Promise<ModelChange> {
    const change: ModelChange = { added: [], changed: [], removed: [], rules: [] };
    if (this.stopping) return change;
    const next = new Map(
      model.services.filter((s) => this.covers(s.name) && hasWork(s)).map((s) => [s.name, s]),
    );
    for (const [name, rt] of this.runtimes) {
      const svc = next.get(name);
      if (svc && sameService(svc, rt.svc)) continue;
      (svc ? change.changed : change.removed).push(name);
      change.rules.push(...ruleChanges(rt.svc, svc));
    }
    for (const [name, svc] of next) {
      if (this.runtimes.has(name)) continue;
      change.added.push(name);
      change.rules.push(...ruleChanges(undefined, svc));
    }
    this.model = model;
    for (const name of [...change.changed, ...change.removed]) {
      const rt = this.runtimes.get(name)!;
      await this.stopRuntime(rt);
      this.runtimes.delete(name);
    }
    const started = [...change.changed, ...change.added].map((n) => this.addRuntime(next.get(n)!));
    if (started.length === 0) return change;
    await Promise.all(
      started.map(async (rt) => Promise.all(rt.svc.rules.map((r) => this.reloadSyncignore(r)))),
    );
    if (this.watcher) {
      for (const rt of started) this.startBatcher(rt);
      await this.watchRoots();
    }
    const containers = await this.opts.engine.listContainers(
      this.model.projectName,
      started.map((rt) => rt.svc.name),
    );
    await Promise.all(
      started.map((rt) =>
        this.enqueue(rt, async () => {
          const mine = containers.filter((c) => c.service === rt.svc.name && c.running);
          await Promise.all(mine.map((c) => this.attach(rt, c, { initialSync: true })));
        }),
      ),
    );
    await this.status.write({ services: [...this.runtimes.keys()] });
    return change;
  }

  /** Stop one service's part of the session: its batcher, its container channels, its watches. */
  private async stopRuntime(rt: ServiceRuntime): Promise<void> {
    rt.batcher?.dispose();
    rt.batcher = undefined;
    await rt.queue;
    for (const a of rt.containers.values()) {
      for (const stop of a.remoteWatches) await stop().catch(() => undefined);
      for (const rs of a.rules) await rs.save().catch(() => undefined);
      await a.channel.close().catch(() => undefined);
    }
    this.status.forget(new Set(rt.svc.rules.map((r) => r.id)));
    rt.containers.clear();
  }

  private skipDir(rule: SyncRule, rel: string): boolean {
    if (rule.kind === 'file') return true;
    return this.filters.get(rule.id)!.canSkipDir(rel);
  }

  private onChange(abs: string): void {
    if (this.stopping) return;
    for (const rt of this.runtimes.values()) {
      const events = routeLocal(rt.svc, this.model.projectDir, abs);
      // a trigger path that a rule also syncs up answers to what that sync changes
      const synced = events.some((e) => {
        if (e.kind !== 'path') return false;
        const rule = rt.svc.rules[e.rule]!;
        return (
          modeDirection(rule.mode) !== 'down' &&
          !this.filters.get(rule.id)!.excluded(e.rel, false, 'up')
        );
      });
      // the first event after an idle period: an edit of a synced file may go out on the
      // leading edge, so the container check of its file starts now, beside the window
      const first = rt.batcher?.idle === true;
      for (const e of events) rt.batcher?.add(e.kind === 'trigger' ? { ...e, synced } : e);
      if (first && events.length === 1 && events[0]!.kind === 'path')
        this.prefetch(rt, events[0]!.rule, events[0]!.rel);
    }
  }

  /** Ask every container about a synced file's path now (see RemoteView.prefetch). */
  private prefetch(rt: ServiceRuntime, rule: number, rel: string): void {
    for (const rs of this.heldEverywhere(rt, rule, rel) ?? []) rs.prefetchRemote([rel]);
  }

  /**
   * Apply one batch of a service in the fixed order: rebuild (and nothing else: the new
   * container gets the initial sync), else sync every rule into every attached container, then
   * restart or signal, then exec.
   */
  private async runBatch(rt: ServiceRuntime, batch: ServiceBatch): Promise<void> {
    const triggers = planTriggers(rt.svc, [...batch.triggered]);
    if (triggers.rebuild) return this.rebuild(rt);

    for (const i of batch.rescans) {
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
            if (batch.rescans.has(i)) rep = await rs.initialSync();
            else if (batch.paths.has(i) || batch.containerDirs.has(i)) {
              rep = await rs.applyBatch(new Set(batch.paths.get(i)), {
                remoteDirs: batch.containerDirs.get(i),
                remoteFiles: batch.containerFiles.get(i),
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
    // Set off only by synced paths, triggers fire where the sync changed something: an editor's
    // second event for a file already sent (a batch that moves nothing) runs no exec again.
    const bySyncOnly = [...batch.triggered].every((p) => batch.syncedTriggers.has(p));
    const fires = (id: string) => !bySyncOnly || (changed.get(id)?.length ?? 0) > 0;
    const inContainer = { ...triggers, exec: triggers.exec.filter((e) => e.on !== 'host') };
    await Promise.all(
      [...rt.containers.values()]
        .filter((a) => fires(a.ref.id))
        .map((a) => this.runTriggers(rt, a.ref, inContainer, changed.get(a.ref.id) ?? [])),
    );
    if (bySyncOnly && ![...rt.containers.keys()].some(fires)) return;
    // host hooks: once per batch, after every container confirmed it (and ran its triggers)
    for (const e of triggers.exec) {
      if (e.on !== 'host') continue;
      const local = [...batch.triggered]
        .filter((p) => matchesGlob(e.paths, p))
        .map((p) => join(this.model.projectDir, ...p.split('/')));
      await this.runHostExec(rt, e, local);
    }
  }

  /**
   * An exec trigger with `on: host`: the command runs on this machine (an array without a
   * shell, a string with `sh -c`) in its workdir (the project directory by default), with
   * COMPOSYNC_CHANGED_FILES holding the local paths that set it off, one per line. Its output
   * is shown prefixed by `SERVICE (host)`; a failure is reported and syncing goes on.
   */
  private async runHostExec(rt: ServiceRuntime, e: ExecRule, changedFiles: string[]) {
    const argv = typeof e.command === 'string' ? ['sh', '-c', e.command] : e.command;
    const cmd = Array.isArray(e.command) ? e.command.join(' ') : e.command;
    const prefix = `${rt.svc.name} (host)`;
    const t0 = performance.now();
    const r = await runLocal(argv, {
      cwd: e.workdir ?? this.model.projectDir,
      env: { ...process.env, ...e.env, COMPOSYNC_CHANGED_FILES: changedFiles.join('\n') },
      onLine: (line) => this.opts.output?.(`${prefix}  | ${line}`),
    });
    const ms = Math.round(performance.now() - t0);
    const base = { service: rt.svc.name, level: 'info' as const, event: 'exec' as const, ms };
    if (r.error) {
      this.emit({
        ...base,
        level: 'error',
        message: `host exec \`${cmd}\` could not run: ${r.error}; syncing goes on`,
      });
    } else if (r.code !== 0) {
      this.emit({
        ...base,
        level: 'error',
        message: `host exec \`${cmd}\` failed with exit code ${r.code}; syncing goes on`,
      });
    } else this.emit({ ...base, message: `host exec \`${cmd}\` done` });
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
    const prefix = `${rt.svc.name}-${ref.replica}`;
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
      await this.opts.rebuild(rt.svc.name, async () => {
        // the new containers are created, not started: their files go in first (this runs
        // inside the service's queue, so it calls the queue's job directly)
        try {
          const containers = await this.opts.engine.listContainers(this.model.projectName, [
            rt.svc.name,
          ]);
          await this.syncNotStarted(rt, containers);
        } catch (err) {
          // the containers start all the same: the sync after their start catches up
          this.emit({
            ...base,
            level: 'error',
            event: 'problem',
            message: `sync before the start of the rebuilt ${rt.svc.name} failed: ${errorText(err)}; it starts anyway and is synced once it runs`,
          });
        }
      });
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
    this.stopRequests?.();
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

const outcomeOf = (r: SyncReport): ResumeOutcome => ({
  rule: r.rule,
  container: r.container,
  uploaded: r.uploaded,
  deleted: r.deleted,
  downloaded: r.downloaded,
  deletedLocal: r.deletedLocal,
  conflicts: r.conflicts.length,
  problems: r.problems,
  halted: !!r.halted,
});

/** What {@link Session.reload} changed: services, and per rule what became of it. */
export interface ModelChange {
  added: string[];
  changed: string[];
  removed: string[];
  rules: { id: string; change: 'added' | 'changed' | 'removed' }[];
}

/** A service the session has something to do for: sync rules or triggers. */
const hasWork = (s: ServiceSync) =>
  s.rules.length > 0 || s.rebuild.length > 0 || s.restart.length > 0 || s.exec.length > 0;

/** Same rules, triggers and batching (the model is plain data: its JSON says it all). */
function sameService(a: ServiceSync, b: ServiceSync): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function ruleChanges(
  before: ServiceSync | undefined,
  after: ServiceSync | undefined,
): ModelChange['rules'] {
  const out: ModelChange['rules'] = [];
  const old = new Map((before?.rules ?? []).map((r) => [r.id, JSON.stringify(r)]));
  const now = new Map((after?.rules ?? []).map((r) => [r.id, JSON.stringify(r)]));
  for (const [id, json] of now) {
    if (!old.has(id)) out.push({ id, change: 'added' });
    else if (old.get(id) !== json) out.push({ id, change: 'changed' });
  }
  for (const id of old.keys()) if (!now.has(id)) out.push({ id, change: 'removed' });
  return out;
}

/**
 * Run a command on this machine to its end, each line of its output (stdout and stderr) to
 * `onLine`. Never rejects: a command that cannot start comes back as `error`.
 */
function runLocal(
  argv: string[],
  o: { cwd: string; env: NodeJS.ProcessEnv; onLine: (line: string) => void },
): Promise<{ code: number; error?: string }> {
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn(argv[0]!, argv.slice(1), {
        cwd: o.cwd,
        env: o.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      resolve({ code: -1, error: errorText(err) });
      return;
    }
    createInterface({ input: child.stdout }).on('line', o.onLine);
    createInterface({ input: child.stderr }).on('line', o.onLine);
    let error: string | undefined;
    child.on('error', (err) => (error = err.message));
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal ? 128 : -1), ...(error ? { error } : {}) }),
    );
  });
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

async function defaultWatcher(
  onChange: (p: string) => void,
  onError: (e: Error) => void,
  poll?: boolean,
): Promise<Watcher> {
  const { createWatcher } = await import('../watch/index.js');
  return createWatcher({ onChange, onError, poll });
}
