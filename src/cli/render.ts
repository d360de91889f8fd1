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

/** Wrap `s` in an ANSI colour when `on`. */
export function paint(on: boolean, c: keyof typeof codes, s: string): string {
  return on ? `\x1b[${codes[c]}m${s}\x1b[0m` : s;
}

/** `999 B`, `1.2 kB`, `34 kB`, `5.6 MB`, `1.20 GB` (decimal units, as compose prints). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1000 * 1000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)} kB`;
  if (n < 1000 ** 3) return `${(n / 1000 ** 2).toFixed(1)} MB`;
  return `${(n / 1000 ** 3).toFixed(2)} GB`;
}

/** `1 file`, `3 files`. */
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** How long ago an ISO timestamp was: `just now`, `12s ago`, `5m ago`, `3h ago`, `2d ago`. */
export function formatAge(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (Number.isNaN(s)) return iso;
  if (s < 1) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/**
 * Columns padded to their widest cell, two spaces apart, no trailing blanks. `paintCell` may
 * colour a (padded) cell; widths are measured before.
 */
export function table(
  rows: string[][],
  paintCell: (row: number, col: number, text: string) => string = (_r, _c, t) => t,
): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r, ri) =>
    r
      .map((c, ci) => paintCell(ri, ci, ci === r.length - 1 ? c : c.padEnd(widths[ci]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** Totals of an initial sync (or any set of reports), for the summary line. */
export function syncTotals(reports: SyncReport[]) {
  const t = {
    rules: reports.length,
    containers: new Set(reports.map((r) => r.container)).size,
    files: 0,
    bytes: 0,
    deleted: 0,
    downloaded: 0,
    downloadedBytes: 0,
    deletedLocal: 0,
    conflicts: 0,
    problems: 0,
  };
  for (const r of reports) {
    t.files += r.uploaded;
    t.bytes += r.bytes;
    t.deleted += r.deleted;
    t.downloaded += r.downloaded;
    t.downloadedBytes += r.downloadedBytes;
    t.deletedLocal += r.deletedLocal;
    t.conflicts += r.conflicts.length;
    t.problems += r.problems.length;
  }
  return t;
}

/**
 * `12 files uploaded (34 kB), 0 deleted, 1 conflict` for a set of reports; downloads and local
 * deletions only when there were any.
 */
export function describeTotals(reports: SyncReport[]): string {
  const t = syncTotals(reports);
  return (
    `${plural(t.files, 'file')} uploaded (${formatBytes(t.bytes)}), ${t.deleted} deleted` +
    (t.downloaded ? `, ${t.downloaded} downloaded (${formatBytes(t.downloadedBytes)})` : '') +
    (t.deletedLocal ? `, ${t.deletedLocal} deleted locally` : '') +
    (t.conflicts ? `, ${plural(t.conflicts, 'conflict')}` : '') +
    (t.problems ? `, ${plural(t.problems, 'problem')}` : '')
  );
}

/** `(3 kB sent)` when compression made the upload smaller on the wire (remote engines). */
const sent = (rec: LogRecord) =>
  rec.wireBytes !== undefined && rec.wireBytes < (rec.bytes ?? 0)
    ? ` (${formatBytes(rec.wireBytes)} sent)`
    : '';

/** One line for a sync event: `web  ↑ 3 files 12 kB 18 ms`. */
export function renderRecord(rec: LogRecord, o: RenderOptions): string {
  const who = (rec.service ?? 'composync').padEnd(o.width ?? 0);
  const ms = rec.ms !== undefined ? ` ${rec.ms} ms` : '';
  switch (rec.event) {
    case 'sync':
      return `${paint(o.color, 'cyan', who)}  ↑ ${plural(rec.files ?? 0, 'file')} ${formatBytes(rec.bytes ?? 0)}${sent(rec)}${ms}`;
    case 'download':
      return `${paint(o.color, 'cyan', who)}  ↓ ${plural(rec.files ?? 0, 'file')} ${formatBytes(rec.bytes ?? 0)}${ms}`;
    case 'delete':
      return `${paint(o.color, 'cyan', who)}  ✕ ${plural(rec.files ?? 0, 'path')} deleted${ms}`;
    case 'conflict':
      return `${paint(o.color, 'yellow', who)}  ! ${rec.message}`;
    case 'problem':
      return `${paint(o.color, rec.level === 'error' ? 'red' : 'yellow', who)}  ! ${rec.message}`;
    default: {
      const c = rec.level === 'error' ? 'red' : rec.level === 'warn' ? 'yellow' : 'cyan';
      return `${paint(o.color, c, who)}  ${rec.message}${ms}`;
    }
  }
}

/** The plan of a dry run: a head line per rule and container, then one line per path. */
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
    if (r.halted) rows.push(`  halted    ${r.halted.reason}`);
    lines.push(`${head}: ${rows.length ? plural(rows.length, 'change') : 'in sync'}`, ...rows);
  }
  return lines;
}
