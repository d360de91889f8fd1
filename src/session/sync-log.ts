/**
 * The sync event log: JSON lines in `.composync/logs/sync.log` with the fields of SPEC §5.
 * Rotated by size (one previous file kept, `sync.log.1`) so it cannot grow without bound.
 */
import { appendFile, mkdir, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export const LOG_EVENTS = [
  'sync',
  'delete',
  'download',
  'conflict',
  'restart',
  'signal',
  'rebuild',
  'exec',
  'problem',
  'start',
  'stop',
  'reload',
] as const;
export type LogEvent = (typeof LOG_EVENTS)[number];

export interface LogRecord {
  ts: string;
  level: 'info' | 'warn' | 'error';
  service?: string;
  container?: string;
  rule?: string;
  event: LogEvent;
  files?: number;
  bytes?: number;
  ms?: number;
  message: string;
  /** Which transport carried an upload: `archive` (endpoint) or `tar-stream` (exec tar). */
  via?: string;
  /** Bytes sent to the engine for an upload (after gzip on remote engines), beside `bytes`. */
  wireBytes?: number;
  /** Paths concerned (at most a few, for problems and conflicts). */
  paths?: string[];
}

export const MAX_LOG_BYTES = 10 * 1024 * 1024;

/** Environment variable that overrides {@link MAX_LOG_BYTES} (bytes; tests use a few kB). */
export const MAX_LOG_BYTES_ENV = 'COMPOSYNC_SYNC_LOG_MAX_BYTES';

/**
 * The rotation size: `COMPOSYNC_SYNC_LOG_MAX_BYTES` when it is a positive integer, else
 * {@link MAX_LOG_BYTES}.
 */
export function maxLogBytes(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env[MAX_LOG_BYTES_ENV]);
  return Number.isInteger(n) && n > 0 ? n : MAX_LOG_BYTES;
}

export class SyncLog {
  private chain: Promise<void> = Promise.resolve();
  private size = -1;

  /** @param maxBytes rotate before a line would make the file larger than this */
  constructor(
    readonly path: string,
    private readonly maxBytes = maxLogBytes(),
  ) {}

  /** Append a record; writes are serialised and never throw (a log must not stop a sync). */
  write(rec: Omit<LogRecord, 'ts'>): LogRecord {
    const full: LogRecord = { ts: new Date().toISOString(), ...rec };
    const line = JSON.stringify(full) + '\n';
    this.chain = this.chain.then(() => this.append(line)).catch(() => undefined);
    return full;
  }

  /** Wait for pending writes. */
  flush(): Promise<void> {
    return this.chain;
  }

  private async append(line: string): Promise<void> {
    if (this.size < 0) {
      await mkdir(dirname(this.path), { recursive: true });
      this.size = (await stat(this.path).catch(() => null))?.size ?? 0;
    }
    const bytes = Buffer.byteLength(line);
    if (this.size + bytes > this.maxBytes && this.size > 0) {
      await rename(this.path, `${this.path}.1`).catch(() => undefined);
      this.size = 0;
    }
    await appendFile(this.path, line);
    this.size += bytes;
  }
}
