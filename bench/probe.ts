/**
 * The in-container probe: runs inside a benchmark container (`node` in composync/node, fed this
 * compiled file with `node --input-type=module -e`) and reports the moment expected content is
 * readable there. It uses only node's built-ins.
 *
 * Protocol, JSON lines: the host writes `{"id":1,"files":[{"path","size","sha1"}],"sizeOnly"}`;
 * the probe answers `{"id":1,"armed":T}` once it watches, then `{"id":1,"done":T,"ok":true}`
 * where T is the moment the last file was seen complete. `{"id":2,"time":true}` answers
 * `{"id":2,"t":T}` (the host checks that both sides read the same clock); `{"cancel":1}` drops
 * a wait the host gave up on.
 *
 * T is CLOCK_MONOTONIC in ms (`process.hrtime`): a container shares the host's kernel and, with
 * no time namespace, its monotonic clock, so host and probe times subtract directly.
 *
 * Changes are noticed through inotify on the files' directories (a write inside the container's
 * overlay, by tar or by the engine, raises events like any other), with a sweep of the pending
 * files as a safety net: every millisecond while a few files are pending, more rarely for many,
 * so the probe itself costs little CPU. With `sizeOnly` a file counts as arrived when its size is
 * reached (tar writes sequentially); its content is hashed afterwards and reported as `ok`, so
 * hashing a large file does not delay the arrival time.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

interface Want {
  path: string;
  size: number;
  sha1: string;
}

interface Request {
  id: number;
  files?: Want[];
  sizeOnly?: boolean;
  time?: boolean;
  cancel?: number;
}

const now = () => Number(process.hrtime.bigint()) / 1e6;
const send = (msg: object) => process.stdout.write(JSON.stringify(msg) + '\n');
const sha1 = (buf: Buffer) => createHash('sha1').update(buf).digest('hex');

async function sha1File(path: string): Promise<string> {
  const h = createHash('sha1');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

class Job {
  private readonly pending = new Map<string, Want>();
  private readonly dirs = new Map<string, Set<string>>();
  private readonly watchers = new Map<string, FSWatcher>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private lastSeen = 0;
  private finished = false;
  /** Files first seen complete by a sweep rather than on an event (inotify missed them). */
  private bySweep = 0;
  private sweeping = false;

  constructor(private readonly req: Request) {
    for (const f of req.files ?? []) {
      this.pending.set(f.path, f);
      const d = dirname(f.path);
      let names = this.dirs.get(d);
      if (!names) this.dirs.set(d, (names = new Set()));
      names.add(f.path);
    }
  }

  start(): void {
    this.attach();
    send({ id: this.req.id, armed: now() });
    for (const p of [...this.pending.keys()]) this.check(p);
    this.sweepTimer = setTimeout(() => this.sweep(), 1);
  }

  /** Watch every pending directory, or its nearest existing ancestor to see it appear. */
  private attach(): void {
    for (const d of this.dirs.keys()) {
      if ([...this.dirs.get(d)!].every((p) => !this.pending.has(p))) continue;
      for (let dir = d; ; dir = dirname(dir)) {
        if (this.watchers.has(dir)) break;
        try {
          const w = watch(dir, (_e, name) => this.onEvent(dir, name));
          w.on('error', () => undefined);
          this.watchers.set(dir, w);
          break;
        } catch {
          if (dir === '/') break;
        }
      }
    }
  }

  private onEvent(dir: string, name: string | Buffer | null): void {
    if (this.finished) return;
    const mine = this.dirs.get(dir);
    if (name && mine) {
      const p = join(dir, String(name));
      if (this.pending.has(p)) this.check(p);
    } else if (mine) {
      for (const p of mine) if (this.pending.has(p)) this.check(p);
    }
    // a directory below may have appeared: watch it and look at what it already holds
    if (!mine || name === null || !this.pending.has(join(dir, String(name)))) {
      const before = this.watchers.size;
      this.attach();
      if (this.watchers.size !== before)
        for (const p of [...this.pending.keys()]) if (this.pending.has(p)) this.check(p);
    }
  }

  private check(path: string): void {
    const want = this.pending.get(path);
    if (!want) return;
    try {
      if (this.req.sizeOnly) {
        if (statSync(path).size !== want.size) return;
      } else {
        const buf = readFileSync(path);
        if (buf.length !== want.size || sha1(buf) !== want.sha1) return;
      }
    } catch {
      return;
    }
    this.pending.delete(path);
    this.lastSeen = now();
    if (this.sweeping) this.bySweep++;
    if (this.pending.size === 0) void this.finish();
  }

  private sweep(): void {
    if (this.finished) return;
    this.sweeping = true;
    for (const p of [...this.pending.keys()]) this.check(p);
    this.sweeping = false;
    if (this.finished) return;
    // a sweep costs about 5 µs per pending file: keep it near 5 % of a core
    const ms = Math.max(1, this.pending.size / 10);
    this.sweepTimer = setTimeout(() => this.sweep(), ms);
  }

  /** Stop watching without an answer (the host gave up waiting). */
  cancel(): void {
    this.finished = true;
    clearTimeout(this.sweepTimer);
    for (const w of this.watchers.values()) w.close();
  }

  private async finish(): Promise<void> {
    jobs.delete(this.req.id);
    this.finished = true;
    clearTimeout(this.sweepTimer);
    for (const w of this.watchers.values()) w.close();
    let ok = true;
    if (this.req.sizeOnly) {
      for (const f of this.req.files ?? []) {
        if ((await sha1File(f.path).catch(() => '')) !== f.sha1) ok = false;
      }
    }
    send({ id: this.req.id, done: this.lastSeen, ok, bySweep: this.bySweep });
  }
}

const jobs = new Map<number, Job>();

createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.trim()) return;
  const req = JSON.parse(line) as Request;
  if (req.time) send({ id: req.id, t: now() });
  else if (req.cancel !== undefined) {
    jobs.get(req.cancel)?.cancel();
    jobs.delete(req.cancel);
  } else {
    const job = new Job(req);
    jobs.set(req.id, job);
    job.start();
  }
});
