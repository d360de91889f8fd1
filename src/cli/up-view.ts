/**
 * What `up` and `watch` show while they run. Fed by the commands and by the session's reporter
 * callback; the session itself knows nothing of terminals.
 *
 * - On a terminal: a listr2 task list for the start (start the stack, the initial sync with a
 *   live count of files and bytes per service, then watching); once watching, one line per
 *   event interleaved with the service logs.
 * - Elsewhere (CI, pipes, files): the same events as plain lines, no spinners, no escape codes.
 */
import type { ListrTask } from 'listr2';
import type { SyncReport } from '../session/rule-sync.js';
import type { LogRecord } from '../session/sync-log.js';
import { describeTotals, formatBytes, paint, plural, renderRecord, syncTotals } from './render.js';

/** The start of `up` / `watch`, as phases the view runs and shows. */
export interface StartPlan {
  project: string;
  /** Services whose rules the initial sync covers: one progress line each on a terminal. */
  services: string[];
  /** `docker compose up`; absent for `watch --no-up`, which never starts anything. */
  startStack?: {
    wait: boolean;
    /**
     * Create the containers without starting them (`docker compose up --no-start`). When
     * given, it runs first, then the initial sync into the created containers, then `run`.
     */
    create?(progress: (text: string) => void): Promise<void>;
    /** Start the containers. @param progress receives compose's progress output as it comes */
    run(progress: (text: string) => void): Promise<void>;
  };
  /** Attach to the running containers and run the initial sync (only attach when `skip`). */
  initialSync: { skip: boolean; run(): Promise<SyncReport[]> };
  /** Start watching; resolves with the number of rules watched. */
  watch?: () => Promise<number>;
}

export interface UpView {
  /** Run the phases of `plan` in order, showing them; rejects with the first failure. */
  start(plan: StartPlan): Promise<SyncReport[]>;
  /** A sync event (the session's reporter callback). */
  event(rec: LogRecord): void;
  /** A service log line or exec output, already prefixed like compose (`web-1  | ...`). */
  log(line: string): void;
  /** A message of composync itself. */
  note(text: string): void;
  /** A warning or error message of composync itself (to stderr). */
  warn(text: string): void;
}

export interface ViewOptions {
  color: boolean;
  /** Width the service column of event lines is padded to. */
  width: number;
  out: (line: string) => void;
  err: (line: string) => void;
}

/** The view for the terminal (`tty`: listr2 task list) or for logs and CI (plain lines). */
export function createUpView(o: ViewOptions & { tty: boolean }): UpView {
  return o.tty ? new TerminalView(o) : new PlainView(o);
}

/** `initial sync done: 3 rules in 2 containers, 12 files uploaded (34 kB), 0 deleted`. */
export function initialSyncSummary(reports: SyncReport[], skipped: boolean): string {
  const t = syncTotals(reports);
  if (skipped) return `attached to ${plural(t.containers, 'container')}; initial sync skipped`;
  return (
    `initial sync done: ${plural(t.rules, 'rule')} in ${plural(t.containers, 'container')}, ` +
    describeTotals(reports)
  );
}

// always "rules": scripts and tests wait for /watching \d+ rules/
const watchingLine = (rules: number) => `watching ${rules} rules (Ctrl+C to stop)`;

/** Plain lines: stable, one per event, for CI logs and anything that is not a terminal. */
export class PlainView implements UpView {
  constructor(private readonly o: ViewOptions) {}

  async start(plan: StartPlan): Promise<SyncReport[]> {
    const stack = plan.startStack;
    if (stack) this.note(`starting ${plan.project}${stack.wait ? ' (waiting until healthy)' : ''}`);
    // with `create`: the containers are created, synced, then started
    if (stack?.create) await stack.create(() => undefined);
    else if (stack) await stack.run(() => undefined);
    const reports = await plan.initialSync.run();
    this.note(initialSyncSummary(reports, plan.initialSync.skip));
    if (stack?.create) await stack.run(() => undefined);
    if (plan.watch) this.note(watchingLine(await plan.watch()));
    return reports;
  }

  event(rec: LogRecord): void {
    const line = renderRecord(rec, { color: this.o.color, width: this.o.width });
    if (rec.level === 'error') this.o.err(line);
    else this.o.out(line);
  }

  log(line: string): void {
    this.o.out(line);
  }

  note(text: string): void {
    this.o.out(`composync: ${text}`);
  }

  warn(text: string): void {
    this.o.err(`composync: ${text}`);
  }
}

/** The subset of listr2's task wrapper this view drives. */
interface TaskHandle {
  title: string;
  output: string;
}

interface ServiceProgress {
  files: number;
  bytes: number;
  deleted: number;
  downloaded: number;
  conflicts: number;
  problems: number;
  /** Messages that are not counts (conflicts, problems) before the service's line was shown. */
  notes: string[];
  task?: TaskHandle;
}

const CURSOR_SHOW = '\x1b[?25h';

/**
 * The terminal: a listr2 task list while starting, then lines. While the list is on screen,
 * lines that are not progress wait and are printed after it, so they never tear the list.
 */
export class TerminalView implements UpView {
  private readonly plain: PlainView;
  private listing = false;
  private syncing = false;
  private held: (() => void)[] = [];
  private readonly progress = new Map<string, ServiceProgress>();

  constructor(private readonly o: ViewOptions) {
    this.plain = new PlainView(o);
  }

  async start(plan: StartPlan): Promise<SyncReport[]> {
    const { Listr, PRESET_TIMER } = await import('listr2');
    let reports: SyncReport[] = [];
    const timer = { timer: PRESET_TIMER };
    const tasks: ListrTask[] = [];
    for (const svc of plan.services) this.serviceProgress(svc);
    const stack = plan.startStack;
    const progressOf = (task: TaskHandle) => (text: string) => {
      const last = text.trim().split('\n').pop()?.trim();
      if (last) task.output = last;
    };
    const startTask: ListrTask | undefined = stack && {
      title: `Start ${plan.project}${stack.wait ? ' and wait until healthy' : ''}`,
      task: async (_, task) => {
        await stack.run(progressOf(task));
        task.title = `Started ${plan.project}`;
      },
      rendererOptions: { ...timer, outputBar: 1 },
    };
    const create = stack?.create;
    if (create) {
      tasks.push({
        title: `Create the containers of ${plan.project}`,
        task: async (_, task) => {
          await create(progressOf(task));
          task.title = `Created the containers of ${plan.project}`;
        },
        rendererOptions: { ...timer, outputBar: 1 },
      });
    } else if (startTask) tasks.push(startTask);
    const skip = plan.initialSync.skip;
    tasks.push({
      title: skip ? 'Attach to the containers' : 'Initial sync',
      task: (_, parent) => {
        this.syncing = true;
        const run = plan.initialSync.run().then((r) => {
          reports = r;
          this.syncing = false;
          parent.title = capitalize(initialSyncSummary(r, skip));
          for (const [svc, p] of this.progress) if (p.task) p.task.title = this.progressTitle(svc);
          return r;
        });
        run.catch(() => undefined); // the subtasks report the failure
        if (plan.services.length === 0) return run.then(() => undefined);
        return parent.newListr(
          plan.services.map((svc) => ({
            title: svc,
            task: async (_c, task) => {
              const p = this.serviceProgress(svc);
              p.task = task;
              task.title = this.progressTitle(svc);
              for (const n of p.notes.splice(0)) task.output = n;
              await run;
            },
            rendererOptions: { persistentOutput: true, outputBar: Infinity },
          })),
          { concurrent: true, exitOnError: true },
        );
      },
      rendererOptions: timer,
    });
    if (create && startTask) tasks.push(startTask);
    if (plan.watch) {
      const watch = plan.watch;
      tasks.push({
        title: 'Start watching',
        task: async (_, task) => {
          task.title = capitalize(watchingLine(await watch()));
        },
      });
    }

    const list = new Listr(tasks, {
      concurrent: false,
      exitOnError: true,
      registerSignalListeners: false,
      rendererOptions: { collapseSubtasks: false, showErrorMessage: true },
    });
    // Ctrl+C before watching starts: leave the terminal usable (the list hides the cursor).
    const interrupted = () => {
      process.stdout.write(`${CURSOR_SHOW}\n`);
      process.exit(130);
    };
    process.once('SIGINT', interrupted);
    this.listing = true;
    try {
      await list.run();
    } finally {
      process.off('SIGINT', interrupted);
      this.listing = false;
      this.syncing = false;
      const held = this.held;
      this.held = [];
      for (const show of held) show();
    }
    return reports;
  }

  private serviceProgress(svc: string): ServiceProgress {
    let p = this.progress.get(svc);
    if (!p) {
      p = { files: 0, bytes: 0, deleted: 0, downloaded: 0, conflicts: 0, problems: 0, notes: [] };
      this.progress.set(svc, p);
    }
    return p;
  }

  private progressTitle(svc: string): string {
    const p = this.serviceProgress(svc);
    const parts = [
      `${svc.padEnd(this.o.width)}  ${plural(p.files, 'file')} ${formatBytes(p.bytes)}`,
    ];
    if (p.deleted) parts.push(`${p.deleted} deleted`);
    if (p.downloaded) parts.push(`${p.downloaded} downloaded`);
    if (p.conflicts) parts.push(paint(this.o.color, 'yellow', plural(p.conflicts, 'conflict')));
    if (p.problems) parts.push(paint(this.o.color, 'red', plural(p.problems, 'problem')));
    return parts.join(', ');
  }

  event(rec: LogRecord): void {
    const p = rec.service !== undefined ? this.progress.get(rec.service) : undefined;
    if (this.syncing && p && rec.service !== undefined) {
      if (rec.event === 'sync') {
        p.files += rec.files ?? 0;
        p.bytes += rec.bytes ?? 0;
      } else if (rec.event === 'download') p.downloaded += rec.files ?? 0;
      else if (rec.event === 'delete') p.deleted += rec.files ?? 0;
      else if (rec.event === 'conflict') p.conflicts++;
      else if (rec.event === 'problem') p.problems++;
      const counted = rec.event === 'sync' || rec.event === 'download' || rec.event === 'delete';
      const note = counted ? null : rec.message;
      if (p.task) {
        p.task.title = this.progressTitle(rec.service);
        if (note) p.task.output = note;
      } else if (note) p.notes.push(note);
      return;
    }
    this.whenListed(() => this.plain.event(rec));
  }

  log(line: string): void {
    this.whenListed(() => this.plain.log(line));
  }

  note(text: string): void {
    this.whenListed(() => this.plain.note(text));
  }

  warn(text: string): void {
    this.whenListed(() => this.plain.warn(text));
  }

  private whenListed(show: () => void): void {
    if (this.listing) this.held.push(show);
    else show();
  }
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
