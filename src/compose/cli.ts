/**
 * The compose CLI adapter: every `docker compose` call composync makes goes through here, with
 * the project's global options mapped to compose's own flags and the caller's environment passed
 * unchanged, so COMPOSE_FILE, COMPOSE_PROJECT_NAME, COMPOSE_PROFILES, DOCKER_HOST and
 * DOCKER_CONTEXT behave exactly as they do for compose (compose reads them itself).
 *
 * Every call spawns compose itself. The npm `docker-compose` package, which ran the lifecycle
 * calls before, resolves each call half a second after compose exits (a fixed delay in its exit
 * handler): `watch` paid it twice before watching (create, then up), `up`, `down` and every
 * rebuild once or more. `logs` needs a followed command it can stop, which the package never
 * offered either.
 */
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { stripVTControlCharacters } from 'node:util';
import type { ProjectOptions } from '../core/model.js';
import { ComposeError, EXIT_FAILED, EXIT_USAGE } from '../errors.js';

/** Options of {@link ComposeCli.up}. `-d` is always passed. */
export interface UpOptions {
  /** `--build`: build images before starting containers. */
  build?: boolean;
  /** `--wait`: wait until services are running and healthy. */
  wait?: boolean;
  /** `--force-recreate`: recreate containers even if their configuration is unchanged. */
  forceRecreate?: boolean;
  /** `--no-deps`: do not start linked services. */
  noDeps?: boolean;
  /** Receives compose's progress output (stdout and stderr) as it arrives. */
  onOutput?: (chunk: string) => void;
}

/** Options of {@link ComposeCli.logs}. */
export interface LogsOptions {
  /** `--follow`: keep streaming until {@link LogsHandle.stop} is called. */
  follow?: boolean;
  /** `--no-color`. */
  noColor?: boolean;
  /** `--tail`: number of lines from the end of each container's log (`all` by default). */
  tail?: number | 'all';
  /** `--since`: e.g. `10m` or an RFC 3339 timestamp. */
  since?: string;
  /** `--timestamps`. */
  timestamps?: boolean;
  /** Called with every line, already prefixed by compose (`web-1  | ...`), without newline. */
  onLine(line: string, stream: 'stdout' | 'stderr'): void;
  /** Called when compose cannot be started or exits non-zero without {@link LogsHandle.stop}. */
  onError?: (err: ComposeError) => void;
}

/** A running `docker compose logs`. */
export interface LogsHandle {
  /** Stop streaming (terminates compose) and wait until it has exited. Idempotent. */
  stop(): Promise<void>;
  /** Resolves with compose's exit code once it has exited (never rejects). */
  readonly done: Promise<number>;
}

/** One container as listed by `docker compose ps --all --format json`. */
export interface ComposePsEntry {
  id: string;
  /** Container name, e.g. `proj-web-1`. */
  name: string;
  service: string;
  /** `running`, `exited`, `created`, `restarting`, ... */
  state: string;
  /** `healthy`, `unhealthy`, `starting`, or '' when the service has no health check. */
  health: string;
  exitCode: number;
}

/** The calls {@link ComposeCli.startEarly} can start. */
export type EarlyCall = 'config' | 'engineId';

/** Calls started early and not taken yet: they answer for the command that started them. */
const early: { call: EarlyCall; key: string; env: ProjectOptions['env']; p: Promise<unknown> }[] =
  [];

/** Drop the early calls no one took: a command has ended, and they answered for it only. */
export function forgetEarly(): void {
  early.length = 0;
}

const ERASE_LINE = new RegExp(`^${String.fromCharCode(27)}\\[2K`);

const INSTALL_HINT =
  'Install Docker with the compose v2 plugin (`docker compose version` must work), ' +
  'or run `npm run setup` in the composync checkout.';

/**
 * Runs `docker compose` for one project. Construct it from the global options of the command
 * line; every method maps failures to {@link ComposeError} carrying compose's stderr and a hint.
 */
export class ComposeCli {
  /** The compose global arguments derived from the project options, in compose's order. */
  readonly globalArgs: string[];

  /**
   * @param project global options; `project.env` is the complete environment compose runs with
   *   (pass `process.env`, possibly extended), `project.cwd` its working directory.
   * @param dockerPath the docker executable (default `docker`, found on the PATH of `env`).
   */
  constructor(
    private readonly project: ProjectOptions,
    private readonly dockerPath = 'docker',
  ) {
    this.globalArgs = composeGlobalArgs(project);
  }

  /**
   * `docker compose version --short`, e.g. `2.26.1`. Throws a ComposeError that says how to
   * install compose when docker or its compose plugin is missing.
   */
  async version(): Promise<string> {
    const r = await this.run('version', ['--short'], { globals: false });
    return r.out.trim().replace(/^v/, '');
  }

  /**
   * The resolved compose model as YAML (`docker compose config`): files merged, variables
   * interpolated, profiles applied. YAML rather than `--format json`, which drops service-level
   * `x-` keys in compose 2.26. Invalid compose files fail with exit code 2.
   */
  async configYaml(): Promise<string> {
    return (await this.config()).yaml;
  }

  /** {@link configYaml} plus the warnings compose printed (unset variables, obsolete keys...). */
  config(): Promise<{ yaml: string; warnings: string[] }> {
    return this.takeEarly('config') ?? this.runConfig();
  }

  private async runConfig(): Promise<{ yaml: string; warnings: string[] }> {
    const r = await this.run('config', [], { exitCode: EXIT_USAGE });
    return { yaml: r.out, warnings: composeWarnings(r.err) };
  }

  /** `docker compose up -d [flags] [SERVICE...]` (all services when `services` is empty). */
  async up(services: string[], opts: UpOptions = {}): Promise<void> {
    const args = ['-d'];
    if (opts.build) args.push('--build');
    if (opts.wait) args.push('--wait');
    if (opts.forceRecreate) args.push('--force-recreate');
    if (opts.noDeps) args.push('--no-deps');
    await this.run('up', [...args, ...services], { onOutput: opts.onOutput });
  }

  /**
   * `docker compose up --no-start [flags] [SERVICE...]`: build or pull what is missing and
   * create the containers (and networks, volumes) without starting them, so files can be put
   * in place before their processes start; {@link up} then starts them in `depends_on` order.
   */
  async create(services: string[], opts: Omit<UpOptions, 'wait'> = {}): Promise<void> {
    const args = ['--no-start'];
    if (opts.build) args.push('--build');
    if (opts.forceRecreate) args.push('--force-recreate');
    if (opts.noDeps) args.push('--no-deps');
    await this.run('up', [...args, ...services], { onOutput: opts.onOutput });
  }

  /** `docker compose images -q SERVICE`: the IDs of the images the service's containers use. */
  async imageIds(service: string): Promise<string[]> {
    const r = await this.run('images', ['-q', service]);
    return [...new Set(r.out.split('\n').map((l) => l.trim()))].filter(Boolean);
  }

  /**
   * Remove the images among `ids` that are dangling now (no tag left: a rebuild moved it to
   * the new image) and used by no container, as `docker compose watch` prunes on rebuild.
   * Returns the IDs removed; an image still in use or tagged stays. Never throws.
   */
  async pruneDangling(ids: string[]): Promise<string[]> {
    const removed: string[] = [];
    for (const id of ids) {
      const tags = await this.docker(['image', 'inspect', '--format', '{{len .RepoTags}}', id]);
      if (tags?.trim() !== '0') continue;
      if ((await this.docker(['image', 'rm', id])) !== null) removed.push(id);
    }
    return removed;
  }

  /** A plain docker CLI call with the project's environment: stdout, or null on failure. */
  private docker(args: string[]): Promise<string | null> {
    return new Promise((resolve) => {
      execFile(
        this.dockerPath,
        args,
        { cwd: this.project.cwd, env: this.project.env, timeout: 60_000 },
        (err, stdout) => resolve(err ? null : stdout),
      );
    });
  }

  /** `docker compose build SERVICE`: builds that service only, never its dependencies. */
  async build(service: string, opts: { onOutput?: (chunk: string) => void } = {}): Promise<void> {
    await this.run('build', [service], { onOutput: opts.onOutput });
  }

  /** `docker compose down [--volumes]`. */
  async down(opts: { volumes?: boolean; removeOrphans?: boolean } = {}): Promise<void> {
    const args: string[] = [];
    if (opts.volumes) args.push('--volumes');
    if (opts.removeOrphans) args.push('--remove-orphans');
    await this.run('down', args);
  }

  /** `docker compose start [SERVICE...]`: start existing (stopped) containers. */
  async start(services: string[]): Promise<void> {
    await this.run('start', services);
  }

  /**
   * The ID of the engine the docker CLI, and so compose, reaches with this environment
   * (`docker info --format '{{.ID}}'`), or why it reaches none. Never throws.
   */
  engineId(): Promise<{ id: string } | { error: string }> {
    return this.takeEarly('engineId') ?? this.runEngineId();
  }

  private runEngineId(): Promise<{ id: string } | { error: string }> {
    return new Promise((resolve) => {
      execFile(
        this.dockerPath,
        ['info', '--format', '{{.ID}}'],
        { cwd: this.project.cwd, env: this.project.env, timeout: 60_000 },
        (err, stdout, stderr) => {
          const id = stdout.trim();
          if (!err && id) resolve({ id });
          else resolve({ error: cleanStderr(stderr) || (err?.message ?? 'no engine ID') });
        },
      );
    });
  }

  /**
   * Start `calls` now, for the first call of each to take later ({@link startEarly}): what a
   * command asks of compose before anything else runs while its modules load.
   */
  startEarly(calls: readonly EarlyCall[]): void {
    for (const call of calls) {
      const p: Promise<unknown> = call === 'config' ? this.runConfig() : this.runEngineId();
      p.catch(() => undefined); // the taker sees a failure; one never taken is no crash
      early.push({ call, key: this.earlyKey(), env: this.project.env, p });
    }
  }

  /** The result of an early call of this project, once. */
  private takeEarly<T>(call: EarlyCall): Promise<T> | undefined {
    const key = this.earlyKey();
    // the same files, flags and directory, and the same environment object (compose reads it)
    const i = early.findIndex(
      (e) => e.call === call && e.key === key && e.env === this.project.env,
    );
    if (i < 0) return undefined;
    const [e] = early.splice(i, 1);
    return e!.p as Promise<T>;
  }

  private earlyKey(): string {
    return JSON.stringify([this.dockerPath, this.project.cwd, this.globalArgs]);
  }

  /** `docker compose ps --all --format json [SERVICE...]`: the project's containers. */
  async ps(services: string[] = []): Promise<ComposePsEntry[]> {
    const r = await this.run('ps', ['--all', '--format', 'json', ...services]);
    return parsePsJson(r.out);
  }

  /**
   * Stream `docker compose logs` line by line. Lines come prefixed as compose prints them
   * (`web-1  | ...`). The returned handle stops a followed stream.
   */
  logs(services: string[], opts: LogsOptions): LogsHandle {
    const args = ['compose', ...this.globalArgs, 'logs'];
    if (opts.follow) args.push('--follow');
    if (opts.noColor) args.push('--no-color');
    if (opts.timestamps) args.push('--timestamps');
    if (opts.tail !== undefined) args.push('--tail', String(opts.tail));
    if (opts.since) args.push('--since', opts.since);
    args.push(...services);

    const child = spawn(this.dockerPath, args, {
      cwd: this.project.cwd,
      env: this.project.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stopped = false;
    let stderrTail = '';
    // compose starts each line with an erase-line sequence even when not on a terminal.
    const clean = (l: string) =>
      opts.noColor ? stripVTControlCharacters(l) : l.replace(ERASE_LINE, '');
    createInterface({ input: child.stdout }).on('line', (l) => opts.onLine(clean(l), 'stdout'));
    createInterface({ input: child.stderr }).on('line', (raw) => {
      const l = clean(raw);
      stderrTail = (stderrTail + l + '\n').slice(-4000);
      opts.onLine(l, 'stderr');
    });
    const done = new Promise<number>((resolve) => {
      child.on('error', (err) => {
        opts.onError?.(toComposeError(err, 'logs'));
        resolve(-1);
      });
      child.on('close', (code, signal) => {
        const exit = code ?? (signal ? 128 : -1);
        if (!stopped && exit !== 0) {
          opts.onError?.(
            toComposeError({ exitCode: exit, out: '', err: stderrTail }, 'logs', EXIT_FAILED),
          );
        }
        resolve(exit);
      });
    });
    return {
      done,
      async stop() {
        stopped = true;
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await done;
      },
    };
  }

  private async run(
    command: string,
    args: string[],
    opts: {
      globals?: boolean;
      onOutput?: (chunk: string) => void;
      exitCode?: number;
    } = {},
  ): Promise<ComposeResult> {
    const fail = (err: unknown) => toComposeError(err, command, opts.exitCode ?? EXIT_FAILED);
    const argv = ['compose', ...(opts.globals === false ? [] : this.globalArgs), command, ...args];
    return new Promise((resolve, reject) => {
      const child = spawn(this.dockerPath, argv, {
        cwd: this.project.cwd,
        env: this.project.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        opts.onOutput?.(chunk.toString());
      });
      child.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString();
        opts.onOutput?.(chunk.toString());
      });
      child.on('error', (e) => reject(fail(e)));
      // 'close' comes once the output is read to its end
      child.on('close', (exitCode) => {
        const r: ComposeResult = { exitCode, out, err };
        if (exitCode === 0) resolve(r);
        else reject(fail(r));
      });
    });
  }
}

/** The compose global flags for a set of project options (`-f`, `-p`, `--project-directory`, ...). */
export function composeGlobalArgs(p: ProjectOptions): string[] {
  const args: string[] = [];
  for (const f of p.files) args.push('-f', f);
  if (p.projectName) args.push('-p', p.projectName);
  if (p.projectDirectory) args.push('--project-directory', p.projectDirectory);
  for (const profile of p.profiles) args.push('--profile', profile);
  for (const envFile of p.envFiles) args.push('--env-file', envFile);
  return args;
}

/** What a finished compose call left: its exit code and complete output. */
interface ComposeResult {
  exitCode: number | null;
  out: string;
  err: string;
}

function isResult(err: unknown): err is ComposeResult {
  return typeof err === 'object' && err !== null && 'exitCode' in err && 'err' in err;
}

/** compose logs through logrus: `time="..." level=warning msg="..."`; keep the message only. */
function cleanStderr(stderr: string): string {
  return stderr
    .split('\n')
    .map((line) => {
      const m = /^time="[^"]*" level=\w+ msg="(.*)"$/.exec(line.trim());
      return m?.[1] !== undefined ? m[1].replace(/\\"/g, '"') : line;
    })
    .filter((l) => l.trim() !== '')
    .join('\n')
    .trim();
}

function composeWarnings(stderr: string): string[] {
  const out: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /level=warning msg="(.*)"$/.exec(line.trim());
    if (m?.[1] !== undefined) out.push(m[1].replace(/\\"/g, '"'));
    else if (/^WARN\[\d+\] /.test(line)) out.push(line.replace(/^WARN\[\d+\] /, ''));
  }
  return out;
}

/** Map a failure of `docker compose <command>` to a ComposeError with a hint. */
function toComposeError(err: unknown, command: string, exitCode = EXIT_FAILED): ComposeError {
  if (err instanceof Error && (err as NodeJS.ErrnoException).code === 'ENOENT') {
    return new ComposeError('docker was not found on the PATH.', {
      hint: INSTALL_HINT,
      cause: err,
    });
  }
  if (!isResult(err)) {
    const e = err instanceof Error ? err : new Error(String(err));
    return new ComposeError(`docker compose ${command} failed: ${e.message}`, { cause: e });
  }
  const stderr = cleanStderr(err.err);
  if (
    /is not a docker command|unknown shorthand flag: 'f'|unknown flag: --project-directory|unknown command "compose"/.test(
      stderr,
    )
  ) {
    return new ComposeError(
      'Docker Compose v2 is not installed: `docker compose` is not available.',
      { hint: INSTALL_HINT },
    );
  }
  let hint: string;
  if (
    /Cannot connect to the Docker daemon|error during connect|docker daemon is not running/i.test(
      stderr,
    )
  ) {
    hint =
      'Is the Docker engine running and reachable? Check DOCKER_HOST and DOCKER_CONTEXT, or run `npm run setup`.';
    exitCode = EXIT_FAILED;
  } else if (/no configuration file provided/.test(stderr)) {
    hint =
      'No compose file found: run composync in a directory with compose.yaml (or a parent), or pass -f FILE.';
    exitCode = EXIT_USAGE;
  } else if (command === 'config') {
    hint = 'Fix the compose file; `docker compose config` reports the same error.';
  } else {
    hint = `Run \`docker compose ${command}\` yourself for details.`;
  }
  const detail = stderr || `exit code ${err.exitCode ?? 'unknown'}`;
  return new ComposeError(`docker compose ${command} failed: ${detail}`, { hint, exitCode });
}

/** Parse `ps --format json`: one JSON object per line (compose >= 2.21) or one JSON array. */
function parsePsJson(out: string): ComposePsEntry[] {
  const text = out.trim();
  if (!text) return [];
  const raw: unknown[] = text.startsWith('[')
    ? (JSON.parse(text) as unknown[])
    : text.split('\n').map((l) => JSON.parse(l) as unknown);
  return raw.map((r) => {
    const o = r as Record<string, unknown>;
    return {
      id: String(o.ID ?? ''),
      name: String(o.Name ?? ''),
      service: String(o.Service ?? ''),
      state: String(o.State ?? ''),
      health: String(o.Health ?? ''),
      exitCode: Number(o.ExitCode ?? 0),
    };
  });
}
