/**
 * Helpers for integration tests against the real Docker engine: temporary compose projects
 * with unique names, the composync CLI as a child process, polling with deadlines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, readFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliPath = join(repoRoot, 'bin', 'composync.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command to completion; never throws on a non-zero exit. */
export async function sh(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolveP) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveP({ code: code ?? -1, stdout, stderr });
    });
    // a command that exits without reading its input must not crash the test with EPIPE
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Run the composync CLI to completion. */
export function composync(
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<RunResult> {
  return sh(process.execPath, [cliPath, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    timeoutMs: opts.timeoutMs,
  });
}

/** A long-running composync process (watch, up --watch) with its output collected. */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  exitCode: number | null = null;
  private exited: Promise<number>;

  constructor(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }) {
    this.child = spawn(process.execPath, [cliPath, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, NO_COLOR: '1', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((r) =>
      this.child.on('close', (code) => {
        this.exitCode = code ?? -1;
        r(this.exitCode);
      }),
    );
  }

  get output(): string {
    return this.stdout + this.stderr;
  }

  /**
   * Poll `check` until it holds, for at most `timeoutMs`; a time-out shows this process's
   * output, and the wait ends at once if the process exits.
   */
  eventually(
    what: string,
    check: () => boolean | Promise<boolean>,
    timeoutMs = 20_000,
  ): Promise<unknown> {
    return waitFor(check, { what, timeoutMs, detail: () => this.output });
  }

  /** Wait until the combined output matches. */
  async waitForOutput(re: RegExp, timeoutMs = 30_000): Promise<void> {
    await waitFor(
      () => {
        if (this.exitCode !== null)
          throw new Error(
            `composync exited (${this.exitCode}) before printing ${re}:\n${this.output}`,
          );
        return re.test(this.output);
      },
      { timeoutMs, what: `output ${re}`, detail: () => this.output },
    );
  }

  /** Send a signal and wait for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGINT', timeoutMs = 30_000): Promise<number> {
    if (this.exitCode !== null) return this.exitCode;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** Poll `check` until it returns true (or a truthy value), or fail after the deadline. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string; detail?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      lastError = err;
      if (err instanceof Error && err.message.startsWith('composync exited')) throw err;
    }
    if (Date.now() > deadline) {
      const extra = opts.detail ? `\n--- detail ---\n${opts.detail()}` : '';
      const last = lastError instanceof Error ? `\nlast error: ${lastError.message}` : '';
      throw new Error(`timed out waiting for ${opts.what ?? 'condition'}${last}${extra}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
}

/** `docker ...`, throwing with the output on failure. */
export async function docker(
  args: string[],
  opts: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {},
) {
  const env = opts.env ? { ...process.env, ...opts.env } : undefined;
  const r = await sh('docker', args, { input: opts.input, cwd: opts.cwd, env });
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** A record of the sync log, as far as tests read it. */
export interface SyncLogRecord {
  event: string;
  level: string;
  service?: string;
  container?: string;
  message: string;
}

/** A temporary compose project with a unique name; `cleanup()` brings it down and removes it. */
export class TestProject {
  readonly name: string;
  /**
   * Added to the environment of every docker, compose and composync call of this project
   * (e.g. DOCKER_HOST of another engine).
   */
  dockerEnv: NodeJS.ProcessEnv = {};
  constructor(
    readonly dir: string,
    name: string,
  ) {
    this.name = name;
  }

  static async create(
    prefix: string,
    files: Record<string, string>,
    opts: { dockerEnv?: NodeJS.ProcessEnv } = {},
  ): Promise<TestProject> {
    const dir = await mkdtemp(join(tmpdir(), `composync-${prefix}-`));
    const name = `cst-${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 7)}`
      .toLowerCase()
      .replace(/[^a-z0-9_-]/g, '-');
    const p = new TestProject(dir, name);
    p.dockerEnv = opts.dockerEnv ?? {};
    for (const [rel, content] of Object.entries(files)) await p.write(rel, content);
    await p.down();
    return p;
  }

  path(rel: string): string {
    return join(this.dir, rel);
  }

  async write(rel: string, content: string | Buffer): Promise<void> {
    await mkdir(dirname(this.path(rel)), { recursive: true });
    await writeFile(this.path(rel), content);
  }

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return { ...this.dockerEnv, COMPOSE_PROJECT_NAME: this.name, ...extra };
  }

  private get shEnv(): NodeJS.ProcessEnv {
    return { ...process.env, ...this.dockerEnv };
  }

  compose(args: string[]): Promise<RunResult> {
    return sh('docker', ['compose', '-p', this.name, ...args], { cwd: this.dir, env: this.shEnv });
  }

  composync(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
    return composync(args, { cwd: this.dir, env: this.env(opts.env), timeoutMs: opts.timeoutMs });
  }

  spawn(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
    return new CliProcess(args, { cwd: this.dir, env: this.env(env) });
  }

  /** Id of the container `service`-`index` of this project. */
  async container(service: string, index = 1): Promise<string> {
    const out = await docker(
      [
        'ps',
        '-aq',
        '--filter',
        `label=com.docker.compose.project=${this.name}`,
        '--filter',
        `label=com.docker.compose.service=${service}`,
        '--filter',
        `label=com.docker.compose.container-number=${index}`,
      ],
      { env: this.dockerEnv },
    );
    const id = out.trim().split('\n')[0];
    if (!id) throw new Error(`no container for ${service}-${index} in ${this.name}`);
    return id;
  }

  /** Run a command in a service's container; returns stdout, or null when it exited non-zero. */
  async exec(service: string, cmd: string[], index = 1): Promise<string | null> {
    const id = await this.container(service, index);
    const r = await sh('docker', ['exec', id, ...cmd], { env: this.shEnv });
    return r.code === 0 ? r.stdout : null;
  }

  /** Content of a container file, or null when it is missing. */
  readRemote(service: string, path: string, index = 1): Promise<string | null> {
    return this.exec(service, ['cat', path], index);
  }

  /** The project's sync log (.composync/logs/sync.log), one record per line; [] when absent. */
  async syncLog(): Promise<SyncLogRecord[]> {
    const text = await readFile(this.path('.composync/logs/sync.log'), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as SyncLogRecord);
  }

  async down(): Promise<void> {
    await sh(
      'docker',
      ['compose', '-p', this.name, 'down', '-v', '-t', '0', '--remove-orphans', '--rmi', 'local'],
      { cwd: this.dir, env: this.shEnv },
    );
  }

  async cleanup(): Promise<void> {
    await this.down();
    await rm(this.dir, { recursive: true, force: true });
  }
}
