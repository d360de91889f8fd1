/**
 * An ExecIO that runs the container's argv on this machine instead (for the unit tests of the
 * exec sessions): the connection writes to the process's standard input and closes when it
 * exits. Not shipped.
 */
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import type { ExecIO } from '../engine/tar-session.js';

export function localExecIO(
  opts: {
    /** Every argv opened, in order. */
    started?: string[][];
    /** The command line to run for a container argv (default: as it is). */
    rewrite?: (argv: string[]) => string[];
    env?: NodeJS.ProcessEnv;
  } = {},
): ExecIO {
  return {
    open(argv) {
      opts.started?.push(argv);
      const [cmd, ...args] = opts.rewrite ? opts.rewrite(argv) : argv;
      const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env });
      const conn = new Duplex({
        write: (chunk, _enc, cb) => void child.stdin.write(chunk, cb),
        final: (cb) => {
          child.stdin.end();
          cb();
        },
        read: () => undefined,
      });
      child.on('close', () => conn.destroy());
      return Promise.resolve({ conn, stdout: child.stdout, stderr: child.stderr });
    },
    run: () => Promise.resolve(),
  };
}
