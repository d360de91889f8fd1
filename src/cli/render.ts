/**
 * Plain-line rendering of sync events, for terminals and CI logs alike: one concise line per
 * event, `web  ↑ 3 files 12 kB 18 ms`. Colour only on a terminal and never with NO_COLOR.
 */
import type { LogRecord } from '../session/sync-log.js';
import type { SyncReport } from '../session/rule-sync.js';

export interface RenderOptions {
  color: boolean;
  /** Width the service column is padded to. */
  width?: number;
}

const codes = { red: 31, yellow: 33, green: 32, cyan: 36, dim: 2 } as const;

export function paint(on: boolean, c: keyof typeof codes, s: string): string {
  return on ? `\x1b[${codes[c]}m${s}\x1b[0m` : s;
}

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1000 * 1000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)} kB`;
  if (n < 1000 ** 3) return `${(n / 1000 ** 2).toFixed(1)} MB`;
  return `${(n / 1000 ** 3).toFixed(2)} GB`;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** One line for a sync event. */
export function renderRecord(rec: LogRecord, o: RenderOptions): string {
  const who = (rec.service ?? 'composync').padEnd(o.width ?? 0);
  const ms = rec.ms !== undefined ? ` ${rec.ms} ms` : '';
  switch (rec.event) {
    case 'sync':
      return `${paint(o.color, 'cyan', who)}  ↑ ${plural(rec.files ?? 0, 'file')} ${formatBytes(rec.bytes ?? 0)}${ms}`;
    case 'download':
      return `${paint(o.color, 'cyan', who)}  ↓ ${plural(rec.files ?? 0, 'file')} ${formatBytes(rec.bytes ?? 0)}${ms}`;
    case 'delete':
      return `${paint(o.color, 'cyan', who)}  ✕ ${plural(rec.files ?? 0, 'path')} deleted${ms}`;
    case 'conflict':
      return `${paint(o.color, 'yellow', who)}  ! ${rec.message}`;
    case 'problem':
      return `${paint(o.color, rec.level === 'error' ? 'red' : 'yellow', who)}  ! ${rec.message}`;
    default:
      return `${paint(o.color, 'cyan', who)}  ${rec.message}`;
  }
}

/** The plan of a dry run, one line per path. */
export function renderPlan(reports: SyncReport[], service: (rule: string) => string): string[] {
  const lines: string[] = [];
  for (const r of reports) {
    const p = r.plan;
    const head = `${service(r.rule)} ${r.rule} → ${r.container}`;
    const rows = [
      ...p.upload.map((x) => `  upload    ${x}`),
      ...p.deleteRemote.map((x) => `  delete    ${x}  (in the container)`),
      ...p.download.map((x) => `  download  ${x}`),
      ...p.deleteLocal.map((x) => `  delete    ${x}  (locally)`),
      ...p.conflicts.map((c) => `  conflict  ${c.path}: ${c.reason}`),
    ];
    lines.push(`${head}: ${rows.length ? plural(rows.length, 'change') : 'in sync'}`, ...rows);
  }
  return lines;
}
