/**
 * The one place engine calls go through (testcontainers-node style): each dockerode call is
 * wrapped once, timed for --debug, its failure mapped to an EngineError, its response drained.
 */
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
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
}

/** Output kept from an exec: enough for error messages, bounded whatever the command prints. */
const MAX_EXEC_OUTPUT = 1024 * 1024;

export class EngineCalls {
  constructor(
    readonly docker: Docker,
    readonly target: EngineTarget,
    private readonly log?: (line: string) => void,
  ) {}

  /** Run one engine call; any failure becomes an EngineError naming `what` and the container. */
  async call<T>(what: string, container: string | undefined, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      const result = await fn();
      this.log?.(`engine: ${what} (${(performance.now() - t0).toFixed(1)} ms)`);
      return result;
    } catch (err) {
      this.log?.(`engine: ${what} failed after ${(performance.now() - t0).toFixed(1)} ms`);
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
    return this.call(`exec ${argv[0] ?? ''} in ${name}`, name, async () => {
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
        /OCI runtime exec failed|executable file not found|no such file or directory/i.test(output);
      return { exitCode, output, cannotStart };
    });
  }
}
