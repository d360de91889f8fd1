/**
 * The benchmark stack: one compose project with a service per contender, so every figure of a
 * run comes from the same engine, images and machine state.
 *
 * - `cs`: synced by composync (`x-sync`, default mode one-way-safe), `csr` the same in
 *   one-way-replica, `big` the large tree of I1, R1 and F1;
 * - `cw`: synced by `docker compose watch` (`develop.watch` with `action: sync`, the equivalent
 *   rule; compose watches only services with a build section, so it builds FROM the same image);
 *   `cw26` the same, watched by compose 2.26 (the oldest supported; scripts/compose-compat.sh);
 * - `raw`: no sync rule; the raw copies (`tar -c | docker cp -`, `tar -c | docker exec tar -x`).
 *
 * Every service runs composync/node, whose node runs the probe (bench/probe.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mustRun, now, run, sleep, type RunResult } from './lib.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cliPath = join(repoRoot, 'bin', 'composync.js');
/** Extra node options for the composync processes, e.g. `--cpu-prof --cpu-prof-dir=DIR`. */
const nodeArgs = (process.env.BENCH_COMPOSYNC_NODE_OPTIONS ?? '').split(' ').filter(Boolean);
/** Extra global options of the watchers, e.g. `--debug` for timed engine calls. */
const cliArgs = (process.env.BENCH_COMPOSYNC_ARGS ?? '').split(' ').filter(Boolean);

/** The container-side target of every contender. */
export const TARGET = '/data';

const composeYaml = `services:
  cs:
    image: composync/node
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    x-sync:
      - source: ./src-cs
        target: ${TARGET}
  csr:
    image: composync/node
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    x-sync:
      - source: ./src-csr
        target: ${TARGET}
        mode: one-way-replica
  big:
    image: composync/node
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    x-sync:
      - source: ./src-big
        target: ${TARGET}
  cw:
    build: ./ctx
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    develop:
      watch:
        - action: sync
          path: ./src-cw
          target: ${TARGET}
  raw:
    image: composync/node
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
`;

/**
 * The service compose 2.26 watches, in a run that has it: a project of its own (`p226/`), as
 * compose's watch holds a lock on its project, which the other compose's watch holds already.
 */
const cw26Yaml = `services:
  cw26:
    build: ../ctx
    command: ['sleep', '2147483647']
    stop_signal: SIGKILL
    develop:
      watch:
        - action: sync
          path: ../src-cw26
          target: ${TARGET}
`;

export type Service = 'cs' | 'csr' | 'big' | 'cw' | 'cw26' | 'raw';

export class Stack {
  private readonly ids = new Map<Service, string>();

  private constructor(
    readonly dir: string,
    readonly name: string,
    /** Wait for the disk to be quiet before a measurement (not for a completion check). */
    private readonly quietDisk: boolean,
    private readonly services: Service[],
  ) {}

  /**
   * A fresh project directory with a unique project name; nothing is started yet. A run whose
   * figures mean nothing (`--tiny`, the CI's completion check) does not wait for a quiet disk:
   * on a busy machine those waits alone outlasted the check.
   */
  static async create(opts: { quietDisk?: boolean; compose226?: boolean } = {}): Promise<Stack> {
    const dir = await mkdtemp(join(tmpdir(), 'composync-bench-'));
    const name = `composync-bench-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
    await mkdir(join(dir, 'ctx'));
    await writeFile(join(dir, 'ctx', 'Dockerfile'), 'FROM composync/node\n');
    await writeFile(join(dir, 'compose.yaml'), composeYaml);
    if (opts.compose226) {
      await mkdir(join(dir, 'p226'));
      await writeFile(join(dir, 'p226', 'compose.yaml'), cw26Yaml);
    }
    const services: Service[] = [
      'cs',
      'csr',
      'big',
      'cw',
      ...(opts.compose226 ? ['cw26' as const] : []),
      'raw',
    ];
    for (const s of services) if (s !== 'raw') await mkdir(join(dir, `src-${s}`));
    return new Stack(dir, name, opts.quietDisk ?? true, services);
  }

  src(service: Service, rel = ''): string {
    return join(this.dir, `src-${service}`, rel);
  }

  compose(args: string[], timeoutMs?: number): Promise<RunResult> {
    return run('docker', ['compose', '-p', this.name, ...args], { cwd: this.dir, timeoutMs });
  }

  /** The project of a service: compose 2.26's has its own. */
  private projectOf(service: Service): { name: string; dir: string } {
    return service === 'cw26'
      ? { name: `${this.name}-226`, dir: join(this.dir, 'p226') }
      : { name: this.name, dir: this.dir };
  }

  private projects(): { name: string; dir: string }[] {
    return this.services.includes('cw26')
      ? [this.projectOf('cs'), this.projectOf('cw26')]
      : [this.projectOf('cs')];
  }

  /** Start the project's containers (every service, or only `only`). */
  async up(only?: Service[]): Promise<void> {
    await this.down();
    const services = only ?? this.services;
    for (const p of this.projects()) {
      const mine = services.filter((s) => this.projectOf(s).name === p.name);
      if (mine.length === 0) continue;
      const r = await run(
        'docker',
        ['compose', '-p', p.name, 'up', '-d', '--build', '--quiet-pull', ...mine],
        { cwd: p.dir },
      );
      if (r.code !== 0) throw new Error(`docker compose up failed: ${r.stderr}`);
    }
    for (const s of services) {
      const out = await mustRun('docker', [
        'ps',
        '-q',
        '--filter',
        `label=com.docker.compose.project=${this.projectOf(s).name}`,
        '--filter',
        `label=com.docker.compose.service=${s}`,
      ]);
      const id = out.stdout.trim().split('\n')[0];
      if (!id) throw new Error(`no running container for ${s}`);
      this.ids.set(s, id);
    }
  }

  async down(): Promise<void> {
    for (const p of this.projects())
      await run(
        'docker',
        ['compose', '-p', p.name, 'down', '-v', '-t', '0', '--remove-orphans', '--rmi', 'local'],
        { cwd: p.dir },
      );
  }

  /** Bring the project down and remove its directory. */
  async destroy(): Promise<void> {
    await this.down();
    await rm(this.dir, { recursive: true, force: true });
  }

  id(service: Service): string {
    const id = this.ids.get(service);
    if (!id) throw new Error(`the stack is not up (${service})`);
    return id;
  }

  /** Run a shell command in a service's container (as root). */
  exec(service: Service, script: string): Promise<RunResult> {
    return mustRun('docker', ['exec', '-u', '0', this.id(service), 'sh', '-c', script]);
  }

  /** Empty a service's target directory (and forget composync's state of its rules). */
  async wipeTarget(service: Service): Promise<void> {
    await this.exec(service, `rm -rf ${TARGET} && mkdir -p ${TARGET}`);
    const dir = join(this.dir, '.composync', 'state');
    for (const f of await readdir(dir).catch(() => [] as string[]))
      if (f.startsWith(`${service}.`)) await rm(join(dir, f), { force: true });
  }

  /**
   * Flush dirty data to disk and let the file system settle, so that a measured copy does not
   * pay for the writes or deletions before it (on this kind of disk, writing back 100,000
   * deleted files can slow the next extraction several times over). Other work on the machine
   * weighs on the pressure reading too, so the wait is bounded.
   */
  async settle(ms = 1000): Promise<void> {
    await run('sync', []);
    await sleep(ms);
    // where the kernel reports I/O pressure, wait (up to 30 s) until the disk is quiet
    if (!this.quietDisk) return;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(500)) {
      const psi = await readFile('/proc/pressure/io', 'utf8').catch(() => '');
      const busy = Number(/^some avg10=([\d.]+)/.exec(psi)?.[1] ?? 0);
      if (busy < 5) break;
    }
  }

  /** Number of regular files below a service's target. */
  async countFiles(service: Service): Promise<number> {
    const r = await this.exec(service, `find ${TARGET} -type f | wc -l`);
    return Number(r.stdout.trim());
  }

  /**
   * A raw copy of `paths` (relative to `from`) into a service's target: `tar -c` piped into
   * `docker cp -` or into `docker exec -i CONTAINER tar -x`. Resolves when the command returns.
   */
  rawCopy(via: 'cp' | 'exec', from: string, paths: string[], service: Service = 'raw') {
    const id = this.id(service);
    const sink =
      via === 'cp' ? `docker cp - ${id}:${TARGET}` : `docker exec -i ${id} tar -x -C ${TARGET}`;
    const quoted = paths.map((p) => `'${p.replace(/'/g, `'\\''`)}'`).join(' ');
    return mustRun('sh', ['-c', `tar -c -C '${from}' -f - ${quoted} | ${sink}`]);
  }

  /** Run a one-shot composync command in the project (`onSpawn`: its pid, once it runs). */
  composync(
    args: string[],
    timeoutMs?: number,
    onSpawn?: (pid: number) => void,
  ): Promise<RunResult> {
    return run(process.execPath, [...nodeArgs, cliPath, ...args], {
      cwd: this.dir,
      env: { ...process.env, NO_COLOR: '1', COMPOSE_PROJECT_NAME: this.name },
      timeoutMs,
      onSpawn,
    });
  }

  /** Start `composync watch SERVICE...`; resolves when it prints that it watches. */
  async watchComposync(services: Service[], timeoutMs = 300_000): Promise<LongRunning> {
    const t0 = now();
    const argv = [...nodeArgs, cliPath, ...cliArgs, 'watch', '--no-logs', ...services];
    const p = new LongRunning(process.execPath, argv, {
      cwd: this.dir,
      env: { ...process.env, NO_COLOR: '1', COMPOSE_PROJECT_NAME: this.name },
    });
    await p.waitFor(/composync: watching \d+ rules?\b/, timeoutMs);
    p.readyMs = now() - t0;
    return p;
  }

  /**
   * Start `docker compose watch --no-up SERVICE` (with `dockerConfig`, the compose plugin found
   * there: scripts/compose-compat.sh's 2.26); resolves when compose says watching is on.
   */
  async watchCompose(
    service: 'cw' | 'cw26' = 'cw',
    dockerConfig?: string,
    timeoutMs = 120_000,
  ): Promise<LongRunning> {
    const t0 = now();
    const project = this.projectOf(service);
    const argv = ['compose', '-p', project.name, 'watch', '--no-up', service];
    const p = new LongRunning('docker', argv, {
      cwd: project.dir,
      env: dockerConfig ? { ...process.env, DOCKER_CONFIG: dockerConfig } : process.env,
    });
    await p.waitFor(/Watch enabled/, timeoutMs);
    p.readyMs = now() - t0;
    return p;
  }

  /** The sync log's size now, to count what a workload adds after it. */
  async syncLogOffset(): Promise<number> {
    return (await stat(this.syncLogPath()).catch(() => null))?.size ?? 0;
  }

  /** Records of the sync log from byte `offset` on. */
  async syncLogSince(offset: number): Promise<SyncLogRecord[]> {
    const text = await readFile(this.syncLogPath()).catch(() => Buffer.alloc(0));
    return text
      .subarray(offset)
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as SyncLogRecord);
  }

  private syncLogPath(): string {
    return join(this.dir, '.composync', 'logs', 'sync.log');
  }
}

/** The fields of a sync log line the benchmark reads. */
export interface SyncLogRecord {
  event: string;
  service?: string;
  files?: number;
  bytes?: number;
  ms?: number;
  via?: string;
}

/** A long-running child (a watcher), its output collected. */
export class LongRunning {
  readonly child: ChildProcess;
  output = '';
  readyMs = NaN;
  private exit: Promise<number>;

  private readonly label: string;

  constructor(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }) {
    this.label = [cmd, ...args].join(' ');
    this.child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exit = new Promise((r) => this.child.on('close', (code) => r(code ?? -1)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Occurrences of `re` in the output so far. */
  count(re: RegExp): number {
    return (this.output.match(new RegExp(re.source, 'g')) ?? []).length;
  }

  async waitFor(re: RegExp, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exit.then(() => (exited = true));
    while (!re.test(this.output)) {
      if (exited) throw new Error(`exited before printing ${re}:\n${this.output.slice(-2000)}`);
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${re}:\n${this.output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** SIGINT, then SIGKILL after a grace period; resolves with the exit code. */
  async stop(graceMs = 30_000): Promise<number> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exit;
    clearTimeout(timer);
    // BENCH_COMPOSYNC_LOG=FILE keeps what the watchers printed (appended), to read afterwards
    if (process.env.BENCH_COMPOSYNC_LOG)
      appendFileSync(process.env.BENCH_COMPOSYNC_LOG, `--- ${this.label}\n${this.output}`);
    return code;
  }
}
