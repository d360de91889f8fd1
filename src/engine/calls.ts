/**
 * The one place engine calls go through (testcontainers-node style): each dockerode call is
 * wrapped once, timed for --debug, its failure mapped to an EngineError, its response drained.
 */
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import pLimit, { type LimitFunction } from 'p-limit';
import type { EngineTarget } from './connection.js';
import { isNoSuchContainer, statusOf, toEngineError } from './engine-errors.js';

export interface RawExecResult {
  exitCode: number;
  /** stdout and stderr interleaved in arrival order (capped). */
  output: string;
  /** The process could not be started: executable missing or not executable. */
  cannotStart: boolean;
}

export interface ExecOptions {
  user?: string;
  workdir?: string;
  env?: Record<string, string>;
  /**
   * Not counted against the bound on concurrent calls: a user's command (exec trigger) may run
   * for minutes and must not starve the syncs.
   */
  unbounded?: boolean;
}

/**
 * Engine calls in flight at once, by default. Enough to keep a remote engine busy (a round
 * trip there is mostly waiting), few enough that 60 containers syncing at once do not open 60
 * connections and pile up extraction work in the daemon.
 */
export const DEFAULT_MAX_CONCURRENT_CALLS = 12;

/** Output kept from an exec: enough for error messages, bounded whatever the command prints. */
const MAX_EXEC_OUTPUT = 1024 * 1024;

export class EngineCalls {
  private readonly limit: LimitFunction;
  private check?: () => Promise<void>;
  private checked?: Promise<void>;
  /** The most calls that were ever in flight at once (for tests and --debug). */
  peakInFlight = 0;

  constructor(
    readonly docker: Docker,
    readonly target: EngineTarget,
    private readonly log?: (line: string) => void,
    maxConcurrent = DEFAULT_MAX_CONCURRENT_CALLS,
  ) {
    this.limit = pLimit(maxConcurrent);
  }

  /**
   * Run `check` once, before the first call goes out; if it throws, that call and every later
   * one fail with its error (used to refuse an engine other than compose's).
   */
  setCheck(check: () => Promise<void>): void {
    this.check = check;
  }

  /** Calls running now / waiting for a slot. */
  get inFlight(): { active: number; pending: number } {
    return { active: this.limit.activeCount, pending: this.limit.pendingCount };
  }

  /**
   * Run one engine call, at most `maxConcurrent` at a time (waiting calls queue in order); any
   * failure becomes an EngineError naming `what` and the container. `fn` talks to dockerode
   * directly: going through `call` again from inside it could wait for a slot it holds itself.
   */
  call<T>(
    what: string,
    container: string | undefined,
    fn: () => Promise<T>,
    opts: { unbounded?: boolean } = {},
  ): Promise<T> {
    const go = () =>
      opts.unbounded
        ? this.run(what, container, fn)
        : this.limit(() => this.run(what, container, fn));
    if (!this.check) return go();
    this.checked ??= this.check();
    return this.checked.then(go);
  }

  private async run<T>(what: string, container: string | undefined, fn: () => Promise<T>) {
    const t0 = performance.now();
    const active = this.limit.activeCount;
    if (active > this.peakInFlight) this.peakInFlight = active;
    const load = () => `${active} in flight, ${this.limit.pendingCount} waiting`;
    try {
      const result = await fn();
      this.log?.(`engine: ${what} (${(performance.now() - t0).toFixed(1)} ms, ${load()})`);
      return result;
    } catch (err) {
      this.log?.(
        `engine: ${what} failed after ${(performance.now() - t0).toFixed(1)} ms (${load()})`,
      );
      throw toEngineError(err, what, container, this.target.describe);
    }
  }

  /**
   * Like `call`, but a 404 about a path inside the container (not the container itself) yields
   * null. `confirmContainer` is used when the engine's 404 cannot tell the two apart (HEAD).
   */
  async callOrMissing<T>(
    what: string,
    container: { id: string; name: string },
    fn: () => Promise<T>,
  ): Promise<T | null> {
    return this.call(what, container.name, async () => {
      try {
        return await fn();
      } catch (err) {
        if (statusOf(err) !== 404 || isNoSuchContainer(err)) throw err;
        return null;
      }
    });
  }

  /** Inspect a container; throws "container X is gone" when it no longer exists. */
  inspect(id: string, name: string): Promise<Docker.ContainerInspectInfo> {
    return this.call(`inspect ${name}`, name, () => this.docker.getContainer(id).inspect());
  }

  /**
   * Run a command (argv, never a shell string) to completion and collect its output. Never
   * rejects for the command's own failure: a missing executable is `cannotStart`.
   */
  exec(id: string, name: string, argv: string[], opts: ExecOptions = {}): Promise<RawExecResult> {
    const what = `exec ${argv[0] ?? ''} in ${name}`;
    return this.call(
      what,
      name,
      async () => {
        const exec = await this.docker.getContainer(id).exec({
          Cmd: argv,
          AttachStdout: true,
          AttachStderr: true,
          User: opts.user,
          WorkingDir: opts.workdir,
          Env: opts.env ? Object.entries(opts.env).map(([k, v]) => `${k}=${v}`) : undefined,
        });
        const stream = (await exec.start({})) as NodeJS.ReadableStream;
        let output = '';
        const collect = (chunk: Buffer) => {
          if (output.length < MAX_EXEC_OUTPUT) output += chunk.toString('utf8');
        };
        const out = new PassThrough();
        const err = new PassThrough();
        out.on('data', collect);
        err.on('data', collect);
        this.docker.modem.demuxStream(stream, out, err);
        await new Promise<void>((resolve, reject) => {
          stream.on('end', resolve);
          stream.on('close', resolve);
          stream.on('error', reject);
        });
        let info = await exec.inspect();
        // The exit code can lag the end of the output stream by a moment.
        const deadline = Date.now() + 5000;
        while (info.Running && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 5));
          info = await exec.inspect();
        }
        const exitCode = info.ExitCode ?? -1;
        const cannotStart =
          (exitCode === 126 || exitCode === 127) &&
          /OCI runtime exec failed|executable file not found|no such file or directory/i.test(
            output,
          );
        return { exitCode, output, cannotStart };
      },
      { unbounded: opts.unbounded },
    );
  }
}
