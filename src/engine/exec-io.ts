/**
 * The exec plumbing of the engine adapter: a process in a container with its standard streams
 * demultiplexed, either to its end with its output consumed (the exec tools: listing, stat,
 * reads, rm) or held open with its standard input (the tar session's ExecIO).
 */
import { PassThrough, type Duplex } from 'node:stream';
import type { ContainerRef } from '../core/ports.js';
import type { EngineCalls } from './calls.js';
import type { ExecIO } from './tar-session.js';

/**
 * Run argv in the container as root and hand its standard output (binary-safe) to `consume`.
 * Resolves with what `consume` returned, the exit code and the start of standard error.
 */
export function execOutput<T>(
  calls: EngineCalls,
  container: ContainerRef,
  what: string,
  argv: string[],
  consume: (out: NodeJS.ReadableStream) => Promise<T>,
): Promise<{ value: T; exitCode: number; stderr: string }> {
  const docker = calls.docker;
  return calls.call(`${what} in ${container.name}`, container.name, async () => {
    const exec = await docker.getContainer(container.id).exec({
      Cmd: argv,
      AttachStdout: true,
      AttachStderr: true,
      User: '0:0',
      Env: ['LC_ALL=C'],
    });
    const stream = (await exec.start({ hijack: true, stdin: false })) as Duplex;
    const out = new PassThrough();
    const err = new PassThrough();
    let stderr = '';
    err.on('data', (d: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += d.toString('utf8');
    });
    docker.modem.demuxStream(stream, out, err);
    const ended = new Promise<void>((resolve) => {
      const done = () => {
        out.end();
        err.end();
        resolve();
      };
      stream.once('end', done);
      stream.once('close', done);
      stream.once('error', done);
    });
    let value: T;
    try {
      value = await consume(out);
    } finally {
      out.resume();
      await ended;
    }
    let info = await exec.inspect();
    // The exit code can lag the end of the output stream by a moment.
    for (const deadline = Date.now() + 5000; info.Running && Date.now() < deadline;) {
      await new Promise((r) => setTimeout(r, 5));
      info = await exec.inspect();
    }
    return { value, exitCode: info.ExitCode ?? -1, stderr };
  });
}

/** The ExecIO of a container: processes started through the engine's exec API, as root. */
export function execIO(calls: EngineCalls, container: ContainerRef): ExecIO {
  return {
    open: (argv) =>
      calls.call(`open an exec session in ${container.name}`, container.name, async () => {
        const exec = await calls.docker.getContainer(container.id).exec({
          Cmd: argv,
          AttachStdin: true,
          AttachStdout: true,
          AttachStderr: true,
          User: '0:0',
          Env: ['LC_ALL=C'],
        });
        const conn = (await exec.start({ hijack: true, stdin: true })) as Duplex;
        const stdout = new PassThrough();
        const stderr = new PassThrough();
        calls.docker.modem.demuxStream(conn, stdout, stderr);
        return { conn, stdout, stderr };
      }),
    run: (argv) => calls.exec(container.id, container.name, argv, { user: '0:0' }),
  };
}
