/**
 * Which trigger actions a batch of changed paths sets off for one service. Pure.
 * Each action runs at most once per batch, however many files or rules match.
 */
import { matchesGlob } from './ignore.js';
import type { ExecRule, ServiceSync } from './model.js';

export interface TriggerPlan {
  rebuild: boolean;
  /** A plain restart (wins over signals: the process is replaced anyway). */
  restart: boolean;
  /** Signals for PID 1, each once, in rule order. */
  signals: string[];
  exec: ExecRule[];
}

/** `changed`: paths relative to the project directory (posix). */
export function planTriggers(svc: ServiceSync, changed: readonly string[]): TriggerPlan {
  const hit = (patterns: readonly string[]) => changed.some((p) => matchesGlob(patterns, p));
  const plan: TriggerPlan = { rebuild: false, restart: false, signals: [], exec: [] };
  if (changed.length === 0) return plan;
  plan.rebuild = svc.rebuild.length > 0 && hit(svc.rebuild);
  for (const r of svc.restart) {
    if (!hit(r.paths)) continue;
    if (!r.signal) plan.restart = true;
    else if (!plan.signals.includes(r.signal)) plan.signals.push(r.signal);
  }
  if (plan.restart) plan.signals = [];
  plan.exec = svc.exec.filter((e) => hit(e.paths));
  return plan;
}

/** The part of a glob before its first segment with a wildcard: `web/src/**\/*.ts` → `web/src`. */
export function staticPrefix(pattern: string): string {
  const segs = pattern.replace(/^\.\//, '').split('/');
  const out: string[] = [];
  for (const s of segs) {
    if (/[*?[\]{}]/.test(s)) break;
    out.push(s);
  }
  return out.join('/');
}
