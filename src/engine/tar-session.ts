/**
 * The exec tar stream: one long-running `tar -x` per container, fed a never-ending tar.
 *
 * Each write appends its entries, then a marker: a volume header ('V'), which extracts to
 * nothing. GNU tar lists the marker's label with -v (and flushes every listing line); busybox
 * tar fully buffers its -v listing on a pipe, but warns "skipping header 'V'" on stderr right
 * away (flushing stdout first). tar is sequential, so when the marker shows up every earlier
 * entry has been extracted: the write is confirmed. GNU tar gets two markers because it prints
 * a member's line before applying the delayed metadata of the directories before it.
 *
 * With a shell in the image tar runs as `sh -c 'echo $$; exec tar ... 2>&1'`: the pid lets a
 * hung tar be killed, and one pipe keeps tar's errors in order with its listing, so an error
 * line belongs to the member listed just before it.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import type { Problem } from '../core/ports.js';
import { feedEntries, type FedEntry, type PreparedEntry } from './tar-entries.js';
import { TarPack, volumeHeader } from './tar-pack.js';
import { onLines } from '../lines.js';

/** The session is gone (tar exited, the stream broke, or it stopped responding). */
export class SessionDied extends Error {}

/** A process started in the container, as the session runs over it. */
export interface ExecStream {
  /** The connection: its writable side is the process's standard input; 'close' ends it. */
  conn: Duplex;
  stdout: Readable;
  stderr: Readable;
}

/** How the session reaches the container (the engine adapter provides it; tests a fake). */
export interface ExecIO {
  /** Start argv in the container as root with its standard input open. */
  open(argv: string[]): Promise<ExecStream>;
  /** Run argv in the container as root to its end (kills a hung tar by its pid). */
  run(argv: string[]): Promise<unknown>;
}

export interface TarSessionOptions {
  flavour: 'gnu' | 'busybox';
  /** The image has `sh`: wrap tar for its pid and a single ordered output stream. */
  shell: boolean;
  /** A write that makes no progress (no bytes in or out) for this long kills the session. */
  timeoutMs: number;
}

export interface SessionWrite {
  /** Entries tar extracted without complaint. */
  confirmed: FedEntry[];
  problems: Problem[];
  /** Bytes of tar stream sent for this write. */
  wireBytes: number;
}

const BUSYBOX_MARKER = "tar: warning: skipping header 'V'";

/** GNU tar's default ("escape") quoting of member names in the C locale. */
export function gnuQuote(name: string): string {
  const named: Record<number, string> = {
    7: 'a',
    8: 'b',
    9: 't',
    10: 'n',
    11: 'v',
    12: 'f',
    13: 'r',
  };
  let out = '';
  for (const c of Buffer.from(name, 'utf8')) {
    if (c === 0x5c) out += '\\\\';
    else if (c >= 0x20 && c < 0x7f) out += String.fromCharCode(c);
    else out += '\\' + (named[c] ?? c.toString(8).padStart(3, '0'));
  }
  return out;
}

/** Warnings that do not mean the member failed. */
const HARMLESS = [/ in the future$/, /Removing leading/, /Ignoring unknown extended header/];

interface Expected {
  text: string;
  /** The entry this listing line belongs to; undefined for markers. */
  entry?: PreparedEntry;
  final?: boolean;
}

class Batch {
  readonly expected: Expected[] = [];
  cursor = 0;
  current: PreparedEntry | undefined;
  /** tar's complaints, by container path of the member they follow. */
  readonly errors = new Map<string, string[]>();
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (err: Error) => void;
  settled = false;

  constructor() {
    this.done = new Promise<void>((res, rej) => {
      this.resolve = () => {
        this.settled = true;
        res();
      };
      this.reject = (err) => {
        this.settled = true;
        rej(err);
      };
    });
    // A failure before anyone awaits must not become an unhandled rejection.
    this.done.catch(() => undefined);
  }
}

export class TarSession {
  private batch: Batch | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private dead = false;
  private deathReason = '';
  private closing = false;
  private pid: number | undefined;
  private awaitingPid: boolean;
  private pidWaiter: ((ok: boolean) => void) | undefined;
  private readonly recent: string[] = [];
  private readonly nonce = randomBytes(4).toString('hex');
  private seq = 0;
  private lines = 0;
  private sent = 0;

  private constructor(
    private readonly io: ExecIO,
    private readonly containerName: string,
    private readonly exec: ExecStream,
    private readonly pack: TarPack,
    private readonly opts: TarSessionOptions,
  ) {
    this.awaitingPid = opts.shell;
  }

  /** The argv that runs the container's tar for this flavour. */
  static argv(opts: Pick<TarSessionOptions, 'flavour' | 'shell'>): string[] {
    // GNU: -b 1 so each 512-byte block is read (and acted on) as it arrives; -P so symlinks
    // with absolute or '..' targets are created at once instead of as placeholders at exit.
    const tarArgv =
      opts.flavour === 'gnu'
        ? ['tar', '-x', '-v', '-f', '-', '-C', '/', '-b', '1', '--numeric-owner', '-P']
        : ['tar', '-x', '-v', '-f', '-', '-C', '/'];
    return opts.shell ? ['sh', '-c', 'echo "$$"; exec "$@" 2>&1', 'sh', ...tarArgv] : tarArgv;
  }

  /** Start tar in the container (as root) through `io` and wait until it runs. */
  static async open(
    io: ExecIO,
    containerName: string,
    opts: TarSessionOptions,
  ): Promise<TarSession> {
    const exec = await io.open(TarSession.argv(opts));
    const pack = new TarPack();
    const session = new TarSession(io, containerName, exec, pack, opts);
    session.wire();
    if (opts.shell) {
      let timer: NodeJS.Timeout | undefined;
      const ok = await new Promise<boolean>((resolve) => {
        session.pidWaiter = resolve;
        timer = setTimeout(() => resolve(false), opts.timeoutMs);
      });
      clearTimeout(timer);
      if (!ok) {
        session.kill(`tar did not start: ${session.deathReason || 'no answer'}`);
        throw new SessionDied(`tar session in ${containerName} did not start: ${session.tail()}`);
      }
    }
    return session;
  }

  private get socket(): Duplex {
    return this.exec.conn;
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Write entries through the stream; serialized with other writes of this session. */
  write(prepared: PreparedEntry[]): Promise<SessionWrite> {
    const run = () => this.runBatch(prepared);
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** End the stream (tar then exits); kills it if it does not exit promptly. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.chain;
    if (this.dead) return;
    const closed = new Promise<void>((resolve) => {
      if (this.socket.destroyed) resolve();
      this.socket.once('close', () => resolve());
    });
    this.pack.finalize();
    const timer = setTimeout(() => this.kill('closed'), 2000);
    await closed;
    clearTimeout(timer);
    this.dead = true;
  }

  private wire(): void {
    const take = (line: string) => this.onLine(line.replace(/\r$/, ''));
    onLines(this.exec.stdout, take);
    onLines(this.exec.stderr, take);
    this.pack.pipe(this.socket);
    this.pack.on('data', (chunk: unknown) => (this.sent += (chunk as Buffer).length));
    this.pack.on('error', () => undefined);
    this.socket.on('error', (e: Error) => this.die(`stream error: ${e.message}`));
    this.socket.on('close', () => this.die('tar exited'));
  }

  private onLine(line: string): void {
    this.lines++;
    if (this.awaitingPid) {
      this.awaitingPid = false;
      if (/^\d+$/.test(line)) {
        this.pid = Number(line);
        this.pidWaiter?.(true);
        return;
      }
      this.remember(line);
      this.pidWaiter?.(false);
      return;
    }
    this.remember(line);
    const b = this.batch;
    if (!b || b.settled) return;
    const exp = b.expected[b.cursor];
    if (exp && line === exp.text) {
      this.consume(b, b.cursor);
      return;
    }
    const markerAt = b.expected.findIndex((e, i) => i >= b.cursor && !e.entry && e.text === line);
    if (markerAt !== -1) {
      this.consume(b, markerAt);
      return;
    }
    if (!line.startsWith('tar: ') && exp?.entry) {
      // A listing line we did not predict exactly (quoting): it is still the next member's.
      this.consume(b, b.cursor);
      return;
    }
    if (HARMLESS.some((re) => re.test(line))) return;
    const owner = b.current ?? b.expected[b.cursor]?.entry;
    if (!owner) return;
    const list = b.errors.get(owner.path) ?? [];
    list.push(line.replace(/^tar: /, ''));
    b.errors.set(owner.path, list);
  }

  private consume(b: Batch, index: number): void {
    const exp = b.expected[index]!;
    b.cursor = index + 1;
    if (exp.entry) b.current = exp.entry;
    if (exp.final) b.resolve();
  }

  private remember(line: string): void {
    this.recent.push(line);
    if (this.recent.length > 20) this.recent.shift();
  }

  private tail(): string {
    return this.recent.slice(-5).join(' | ') || '(no output)';
  }

  private die(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    this.deathReason = reason;
    this.pidWaiter?.(false);
    this.pack.destroy();
    if (!this.closing && this.batch && !this.batch.settled)
      this.batch.reject(
        new SessionDied(`tar session in ${this.containerName}: ${reason}: ${this.tail()}`),
      );
  }

  /** Tear the session down; a tar that may still be running is killed by its pid. */
  private kill(reason: string): void {
    const pid = this.pid;
    this.die(reason);
    this.socket.destroy();
    if (pid !== undefined)
      void this.io.run(['sh', '-c', 'kill -9 "$1"', 'sh', String(pid)]).catch(() => undefined);
  }

  private async runBatch(prepared: PreparedEntry[]): Promise<SessionWrite> {
    if (this.dead)
      throw new SessionDied(`tar session in ${this.containerName}: ${this.deathReason}`);
    const b = new Batch();
    this.batch = b;
    const sentBefore = this.sent;
    const quote = this.opts.flavour === 'gnu' ? gnuQuote : (s: string) => s;
    const problems: Problem[] = [];
    const labels =
      this.opts.flavour === 'gnu'
        ? [`composync-${this.nonce}-${++this.seq}a`, `composync-${this.nonce}-${this.seq}b`]
        : [BUSYBOX_MARKER];

    const expect = (p: PreparedEntry) => {
      for (const text of quote(p.name).split('\n')) b.expected.push({ text, entry: p });
    };
    const feed = (async () => {
      const fed = await feedEntries(this.pack, prepared, problems, expect);
      // tar sets a directory's metadata once it is done with it (busybox: at once; GNU: when
      // a member outside it comes), and members written into it later move its mtime on.
      // Sending the directories again at the end restores them, as the endpoint does.
      const dirs = fed.filter((f) => f.entry.kind === 'dir');
      if (dirs.length > 0 && dirs.length < fed.length)
        await feedEntries(this.pack, dirs, [], expect);
      labels.forEach((label, i) => {
        b.expected.push({ text: label, final: i === labels.length - 1 });
        this.pack.append(volumeHeader(label));
      });
      this.pack.flush();
      return fed;
    })();
    feed.catch((err: Error) =>
      b.reject(new SessionDied(`tar session in ${this.containerName}: ${err.message}`)),
    );

    const watchdog = this.watch(b);
    try {
      await b.done;
      const fed = await feed;
      const confirmed: FedEntry[] = [];
      for (const f of fed) {
        const errors = b.errors.get(f.path);
        if (errors) problems.push({ path: f.path, message: `tar: ${errors.join('; ')}` });
        else confirmed.push(f);
      }
      return { confirmed, problems, wireBytes: this.sent - sentBefore };
    } finally {
      clearInterval(watchdog);
      this.batch = undefined;
    }
  }

  /** Kill the session when a write makes no progress for `timeoutMs`. */
  private watch(b: Batch): NodeJS.Timeout {
    let last = -1;
    let since = Date.now();
    // bytesWritten counts what the socket accepted: it stalls when tar stops reading (a
    // connection that is not a socket counts what was packed).
    const progress = () =>
      ((this.socket as Partial<Socket>).bytesWritten ?? this.sent) + this.lines;
    const timer = setInterval(
      () => {
        const now = progress();
        if (now !== last) {
          last = now;
          since = Date.now();
          return;
        }
        if (Date.now() - since > this.opts.timeoutMs && !b.settled)
          this.kill(`no progress for ${Math.round(this.opts.timeoutMs / 1000)} s`);
      },
      Math.max(20, Math.min(1000, this.opts.timeoutMs / 10)),
    );
    timer.unref();
    return timer;
  }
}
