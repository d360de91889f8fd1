/**
 * The host side of the in-container probe (bench/probe.ts): starts it with `docker exec` in a
 * container and asks it when expected files are readable there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** CLOCK_MONOTONIC in ms: the same clock the probe reads inside the container. */
export const now = () => Number(process.hrtime.bigint()) / 1e6;

/** A file the probe waits for: its container path, size and SHA-1 of its content. */
export interface Expected {
  path: string;
  size: number;
  sha1: string;
}

interface Reply {
  id: number;
  armed?: number;
  done?: number;
  ok?: boolean;
  t?: number;
  bySweep?: number;
}

/** One armed wait: resolves with the moment the last file was complete in the container. */
export interface Armed {
  armedAt: number;
  done: Promise<Arrival>;
}

/** When the last file was complete; `bySweep`: files the probe found by polling, not inotify. */
export interface Arrival {
  t: number;
  ok: boolean;
  bySweep: number;
}

export class Probe {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, (r: Reply) => void>();
  private seq = 0;
  private stderr = '';

  private constructor(container: string) {
    const source = readFileSync(fileURLToPath(new URL('./probe.js', import.meta.url)), 'utf8');
    this.child = spawn(
      'docker',
      ['exec', '-i', container, 'node', '--input-type=module', '-e', source],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const r = JSON.parse(line) as Reply;
      this.waiting.get(r.id)?.(r);
    });
    this.child.on('close', (code) => {
      const err = { id: -1, ok: false, done: NaN } as Reply;
      for (const fn of this.waiting.values()) fn(err);
      this.waiting.clear();
      if (code) process.stderr.write(`bench: probe exited ${code}: ${this.stderr}\n`);
    });
  }

  /**
   * Start the probe in `container` and check that it reads the host's monotonic clock: its
   * answer must fall between the host's times before and after the round trip.
   */
  static async start(container: string): Promise<Probe> {
    const p = new Probe(container);
    for (let i = 0; i < 3; i++) {
      const t0 = now();
      const r = await p.request({ time: true });
      const t1 = now();
      if (i > 0 && !(r.t! >= t0 && r.t! <= t1))
        throw new Error(`the probe's clock is not the host's (${t0} <= ${r.t} <= ${t1} fails)`);
    }
    return p;
  }

  private request(body: object, onReply?: (r: Reply) => boolean, id = ++this.seq): Promise<Reply> {
    return new Promise((resolve) => {
      this.waiting.set(id, (r) => {
        if (onReply && !onReply(r)) return;
        this.waiting.delete(id);
        resolve(r);
      });
      this.child.stdin!.write(JSON.stringify({ id, ...body }) + '\n');
    });
  }

  /**
   * Arm a wait for `files`; resolves once the probe watches (so the caller may write).
   * `sizeOnly`: arrival is the moment the size is reached, content is verified afterwards.
   */
  async arm(files: Expected[], opts: { sizeOnly?: boolean; timeoutMs?: number } = {}) {
    let armed!: (t: number) => void;
    const armedP = new Promise<number>((r) => (armed = r));
    const id = ++this.seq;
    const reply = this.request(
      { files, sizeOnly: !!opts.sizeOnly },
      (r) => {
        if (r.armed !== undefined) {
          armed(r.armed);
          return false;
        }
        return true;
      },
      id,
    );
    const timeoutMs = opts.timeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const done = Promise.race([
      reply.then((r) => ({ t: r.done ?? NaN, ok: r.ok === true, bySweep: r.bySweep ?? 0 })),
      new Promise<Arrival>((resolve) => {
        timer = setTimeout(() => {
          this.waiting.delete(id);
          this.child.stdin!.write(JSON.stringify({ cancel: id }) + '\n');
          resolve({ t: NaN, ok: false, bySweep: 0 });
        }, timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    const armedAt = await Promise.race([armedP, done.then(() => NaN)]);
    return { armedAt, done } satisfies Armed;
  }

  close(): void {
    this.child.stdin!.end();
    this.child.kill();
  }
}
