/** `composync logs sync [-f] [--json] [--since]` and `composync logs [SERVICE...] [-f]`. */
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { ComposeCli } from '../compose/cli.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../errors.js';
import { paths } from '../session/files.js';
import type { LogRecord } from '../session/sync-log.js';
import { checkServices, loadProject } from './project.js';
import { renderRecord } from './render.js';
import type { CliContext } from './main.js';

/** `90s`, `10m`, `2h`, `1d` → milliseconds. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(s.trim());
  if (!m)
    throw new UsageError(`invalid duration "${s}"`, 'Use a number and a unit: 30s, 10m, 2h, 1d.');
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms'];
  return Number(m[1]) * unit;
}

/**
 * `logs sync [SERVICE...]`: the sync log (human lines, or the JSON lines with --json), only
 * events of SERVICE when given; `logs [SERVICE...]`: `docker compose logs`.
 */
export async function runLogs(
  ctx: CliContext,
  args: string[],
  o: { follow?: boolean; json?: boolean; since?: string },
): Promise<number> {
  const since = o.since ? Date.now() - parseDuration(o.since) : 0;
  const model = await loadProject(ctx);
  const sync = args[0] === 'sync';
  const services = sync ? args.slice(1) : args;
  checkServices(model, services);
  if (!sync) {
    const compose = new ComposeCli(ctx.project);
    const h = compose.logs(args, {
      follow: o.follow,
      noColor: !ctx.color,
      onLine: (line) => ctx.out(line),
    });
    const stop = () => void h.stop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const code = await h.done;
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    return code === 0 || code === 130 || code === 143 ? EXIT_OK : EXIT_FAILED;
  }
  const only = services.length ? new Set(services) : null;
  const show = (line: string) => {
    if (!line.trim()) return;
    let rec: LogRecord;
    try {
      rec = JSON.parse(line) as LogRecord;
    } catch {
      return; // a line cut short by a crash: skip it
    }
    if (since && Date.parse(rec.ts) < since) return;
    if (only && (rec.service === undefined || !only.has(rec.service))) return;
    ctx.out(o.json ? line : `${rec.ts}  ${renderRecord(rec, { color: ctx.color, width: 10 })}`);
  };
  let stopped = !o.follow;
  const stop = () => (stopped = true);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await readSyncLog(paths.syncLog(model.projectDir), show, () => stopped);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return EXIT_OK;
}

/**
 * Pass every line of the sync log to `onLine`: the rotated file (`sync.log.1`) first, then the
 * current one; then, until `done()`, the lines appended since. A rotation while following is
 * noticed by the file's identity changing: the old file is read to its end first, so no line
 * is lost or repeated.
 */
export async function readSyncLog(
  path: string,
  onLine: (line: string) => void,
  done: () => boolean,
  pollMs = 200,
): Promise<void> {
  for (const l of (await readFile(`${path}.1`, 'utf8').catch(() => '')).split('\n')) onLine(l);
  let fh: FileHandle | null = null;
  let offset = 0;
  let partial = '';
  const drain = async () => {
    if (!fh) return;
    const { size } = await fh.stat();
    if (size < offset) offset = 0; // truncated in place
    while (offset < size) {
      const buf = Buffer.alloc(Math.min(size - offset, 1024 * 1024));
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      if (bytesRead === 0) break;
      offset += bytesRead;
      const lines = (partial + buf.subarray(0, bytesRead).toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    }
  };
  try {
    for (;;) {
      if (!fh) {
        fh = await open(path, 'r').catch(() => null);
        offset = 0;
      }
      await drain();
      if (done()) break;
      await new Promise((r) => setTimeout(r, pollMs));
      const now = await stat(path).catch(() => null);
      if (fh && (!now || now.ino !== (await fh.stat()).ino)) {
        await drain(); // the rest of the file that was rotated away
        if (partial) onLine(partial);
        partial = '';
        await fh.close();
        fh = null;
      }
    }
    if (partial) onLine(partial);
  } finally {
    await fh?.close();
  }
}
