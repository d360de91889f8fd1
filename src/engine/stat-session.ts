/**
 * The exec stat session: one long-running shell per container that answers stat requests, so
 * the check a one-way-safe edit makes of the container file costs a round trip on an open
 * stream (about 1 ms: the shell starts the image's `stat`) rather than an engine request (a
 * HEAD of the archive endpoint, 3-5 ms here) or a new exec (40-120 ms).
 *
 * A request is its paths, one per line, then an empty line; the shell runs `stat` on them and
 * prints `end` (no line of stat's format can be that; requests are answered one at a time). A path stat cannot read (missing, below a
 * file) prints nothing and is reported missing. Names with a newline cannot be asked this way
 * (the caller keeps them to the endpoint). The session checks at its start that the image has
 * `stat`, and dies (the caller falls back) when a request is not answered in time, as in a
 * paused container.
 */
import type { RemoteStat } from '../core/ports.js';
import { onLines } from '../lines.js';
import { chunkByBytes, MAX_ARGV_BYTES, parseStatLine, STAT_FORMAT } from './exec-tools.js';
import { SessionDied, type ExecIO, type ExecStream } from './tar-session.js';

export interface StatSessionOptions {
  /** A request (or the start) not answered in this long kills the session. */
  timeoutMs: number;
}

interface Pending {
  end: string;
  lines: string[];
  resolve: (lines: string[]) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class StatSession {
  private pending: Pending | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private dead = false;

  private constructor(
    private readonly exec: ExecStream,
    private readonly containerName: string,
    private readonly opts: StatSessionOptions,
  ) {}

  /** The shell program: a ready line, then a stat run per request, each ended by its line. */
  static script(): string {
    return [
      'command -v stat >/dev/null 2>&1 || exit 127',
      'set -f',
      'echo ready',
      'while :; do',
      '  set --',
      '  while IFS= read -r p; do [ -z "$p" ] && break; set -- "$@" "$p"; done',
      '  [ $# -eq 0 ] && exit 0',
      `  stat -c '${STAT_FORMAT}' -- "$@" 2>/dev/null`,
      '  echo end',
      'done',
    ].join('\n');
  }

  /** Start the shell in the container (as root) and wait for it to be ready. */
  static async open(
    io: ExecIO,
    containerName: string,
    opts: StatSessionOptions,
  ): Promise<StatSession> {
    const exec = await io.open(['sh', '-c', StatSession.script()]);
    return new StatSession(exec, containerName, opts).start();
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Stats of `paths` (absolute, without newlines): null for a path that is not there. */
  stat(paths: string[]): Promise<Map<string, RemoteStat | null>> {
    const run = () => this.ask(paths);
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** End the shell (it exits at the end of its input). */
  close(): void {
    if (this.dead) return;
    this.dead = true;
    this.exec.conn.end();
    this.exec.conn.destroy();
  }

  private async start(): Promise<StatSession> {
    onLines(this.exec.stdout, (line) => this.onLine(line));
    this.exec.stderr.resume();
    this.exec.conn.on('error', () => this.die('stream error'));
    this.exec.conn.on('close', () => this.die('the shell exited'));
    await this.request('ready', () => undefined);
    return this;
  }

  private async ask(paths: string[]): Promise<Map<string, RemoteStat | null>> {
    const out = new Map<string, RemoteStat | null>(paths.map((p) => [p, null]));
    const items = paths.map((norm) => ({ norm }));
    for (const chunk of chunkByBytes(items, MAX_ARGV_BYTES)) {
      const list = chunk.map((c) => c.norm);
      const lines = await this.request('end', () => this.exec.conn.write(list.join('\n') + '\n\n'));
      for (const line of lines) {
        const parsed = parseStatLine(line);
        if (parsed && out.has(parsed.path)) out.set(parsed.path, parsed.stat);
      }
    }
    return out;
  }

  private request(end: string, send: () => void): Promise<string[]> {
    if (this.dead)
      return Promise.reject(new SessionDied(`stat session in ${this.containerName} is closed`));
    return new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(
        () => this.die(`no answer in ${Math.round(this.opts.timeoutMs)} ms`),
        this.opts.timeoutMs,
      );
      this.pending = { end, lines: [], resolve, reject, timer };
      send();
    });
  }

  private onLine(line: string): void {
    const p = this.pending;
    if (!p) return;
    if (line === p.end) {
      clearTimeout(p.timer);
      this.pending = undefined;
      p.resolve(p.lines);
    } else p.lines.push(line);
  }

  private die(reason: string): void {
    const p = this.pending;
    this.pending = undefined;
    if (!this.dead) {
      this.dead = true;
      this.exec.conn.destroy();
    }
    if (p) {
      clearTimeout(p.timer);
      p.reject(new SessionDied(`stat session in ${this.containerName}: ${reason}`));
    }
  }
}
