/** `composync logs sync [-f] [--json] [--since]` and `composync logs [SERVICE...] [-f]`. */
import { open, readFile, stat } from 'node:fs/promises';
import { ComposeCli } from '../compose/cli.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../errors.js';
import { paths } from '../session/files.js';
import type { LogRecord } from '../session/sync-log.js';
import { loadProject } from './project.js';
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

export async function runLogs(
  ctx: CliContext,
  args: string[],
  o: { follow?: boolean; json?: boolean; since?: string },
): Promise<number> {
  const model = await loadProject(ctx);
  if (args[0] !== 'sync') {
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
  const since = o.since ? Date.now() - parseDuration(o.since) : 0;
  const file = paths.syncLog(model.projectDir);
  const show = (line: string) => {
    if (!line.trim()) return;
    let rec: LogRecord;
    try {
      rec = JSON.parse(line) as LogRecord;
    } catch {
      return;
    }
    if (since && Date.parse(rec.ts) < since) return;
    ctx.out(o.json ? line : `${rec.ts}  ${renderRecord(rec, { color: ctx.color, width: 10 })}`);
  };
  const older = await readFile(`${file}.1`, 'utf8').catch(() => '');
  const text = await readFile(file, 'utf8').catch(() => '');
  for (const l of (older + text).split('\n')) show(l);
  if (!o.follow) return EXIT_OK;

  let offset = Buffer.byteLength(text);
  let partial = '';
  let stopped = false;
  const stop = () => (stopped = true);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  while (!stopped) {
    const size = (await stat(file).catch(() => null))?.size ?? 0;
    if (size < offset) offset = 0; // rotated
    if (size > offset) {
      const fh = await open(file, 'r');
      const buf = Buffer.alloc(size - offset);
      await fh.read(buf, 0, buf.length, offset);
      await fh.close();
      offset = size;
      const lines = (partial + buf.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) show(l);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return EXIT_OK;
}
