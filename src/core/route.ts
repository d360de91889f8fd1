/**
 * Where a watch event goes: the typed events of a service's batch, one accumulator per batch,
 * and the pure routing of a changed local path to the rules and triggers it touches (as
 * compose's watchRule.Matches does for its rules). Paths carry no markers: a name may hold any
 * byte a file system allows.
 */
import { isAbsolute, relative, sep } from 'node:path';
import { matchesGlob } from './ignore.js';
import type { ServiceSync } from './model.js';

/** One event of a service's batch. Rules are named by their index in the service. */
export type BatchEvent =
  /** A rule-relative path changed (locally, or seen by polling the container). */
  | { kind: 'path'; rule: number; rel: string }
  /** Reconcile the whole rule: its ignore rules changed, or its root vanished or came back. */
  | { kind: 'rescan'; rule: number }
  /** The container-side watcher saw a directory change: entries may have come or gone. */
  | { kind: 'container-dir'; rule: number; rel: string }
  /** The container-side watcher saw a file change (its listing has sub-second mtimes). */
  | { kind: 'container-file'; rule: number; rel: string }
  /**
   * A project-relative path that may match the service's triggers; `synced` when a sync rule
   * of the service also carries it into the containers.
   */
  | { kind: 'trigger'; path: string; synced?: boolean };

/** The events of one batch of one service, gathered per rule. */
export class ServiceBatch {
  /** Rule-relative paths to reconcile, per rule. */
  readonly paths = new Map<number, Set<string>>();
  /** Directories the container-side watcher reported, per rule. */
  readonly containerDirs = new Map<number, Set<string>>();
  /** Files the container-side watcher reported, per rule (also in `paths`). */
  readonly containerFiles = new Map<number, Set<string>>();
  /** Rules to reconcile whole. */
  readonly rescans = new Set<number>();
  /** Project-relative paths for the triggers. */
  readonly triggered = new Set<string>();
  /** Those of them a sync rule carries (their triggers answer to what the sync changed). */
  readonly syncedTriggers = new Set<string>();
  private count = 0;

  add(e: BatchEvent): void {
    this.count++;
    const into = (m: Map<number, Set<string>>, rule: number, rel: string) => {
      let set = m.get(rule);
      if (!set) m.set(rule, (set = new Set()));
      set.add(rel);
    };
    switch (e.kind) {
      case 'path':
        into(this.paths, e.rule, e.rel);
        break;
      case 'rescan':
        this.rescans.add(e.rule);
        break;
      case 'container-dir':
        into(this.containerDirs, e.rule, e.rel);
        break;
      case 'container-file':
        into(this.containerFiles, e.rule, e.rel);
        into(this.paths, e.rule, e.rel);
        break;
      case 'trigger':
        this.triggered.add(e.path);
        if (e.synced) this.syncedTriggers.add(e.path);
        else this.syncedTriggers.delete(e.path);
        break;
    }
  }

  /** Events added (a batch is emitted only when it has some). */
  get size(): number {
    return this.count;
  }
}

/** The path of `abs` below `root` in posix form ('' for the root), or null when outside it. */
export function relativeTo(root: string, abs: string): string | null {
  const r = relative(root, abs);
  if (r === '') return '';
  if (r === '..' || r.startsWith('..' + sep) || isAbsolute(r) || /^[a-zA-Z]:/.test(r)) return null;
  return sep === '/' ? r : r.split(sep).join('/');
}

/** What routing needs of a service. */
export type RoutedService = Pick<ServiceSync, 'rules' | 'rebuild' | 'restart' | 'exec'>;

/**
 * The events a changed local path (absolute) makes for one service: a trigger event when it
 * matches a rebuild, restart or exec pattern (project-relative), and per rule whose root holds
 * it a path event; the rule's root itself, or its `.syncignore`, asks for a rescan.
 */
export function routeLocal(svc: RoutedService, projectDir: string, abs: string): BatchEvent[] {
  const out: BatchEvent[] = [];
  const projectRel = relativeTo(projectDir, abs);
  if (
    projectRel &&
    (matchesGlob(svc.rebuild, projectRel) ||
      svc.restart.some((r) => matchesGlob(r.paths, projectRel)) ||
      svc.exec.some((r) => matchesGlob(r.paths, projectRel)))
  )
    out.push({ kind: 'trigger', path: projectRel });
  svc.rules.forEach((rule, i) => {
    const rel = relativeTo(rule.root, abs);
    if (rel === null) return;
    // the root itself: it vanished or came back (renamed, unmounted): rescan the rule, whose
    // safety checks halt it rather than take a missing root for deletions
    if (rel === '') {
      if (rule.kind === 'dir') out.push({ kind: 'rescan', rule: i });
      return;
    }
    if (rule.kind === 'file' && rel !== rule.only) return;
    // its ignore rules changed: every path may now be in or out
    if (rel === '.syncignore' && rule.kind !== 'file') out.push({ kind: 'rescan', rule: i });
    out.push({ kind: 'path', rule: i, rel });
  });
  return out;
}
