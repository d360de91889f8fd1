/**
 * `ssh://` engines the way the docker CLI (and so compose) reaches them: the system `ssh`
 * runs `docker system dial-stdio` on the remote host, and HTTP flows over its stdin/stdout.
 * Using the system ssh (not an in-process SSH library) means the same ~/.ssh/config, keys,
 * agent and known_hosts as compose, so both always end up on the same engine or both fail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent } from 'node:http';
import { Duplex } from 'node:stream';

export interface SshSpec {
  host: string;
  user?: string;
  port?: string;
  /** The remote engine's socket when the URL has a path (`ssh://host/run/docker.sock`). */
  socket?: string;
}

/** ssh's argv as the docker CLI builds it (cli/connhelper): timeout, no tty, then the command. */
export function sshArgv(spec: SshSpec): string[] {
  const args = ['-o', 'ConnectTimeout=30', '-T'];
  if (spec.user) args.push('-l', spec.user);
  if (spec.port) args.push('-p', spec.port);
  args.push('--', spec.host, 'docker');
  if (spec.socket) args.push(`--host=unix://${spec.socket}`);
  args.push('system', 'dial-stdio');
  return args;
}

/** How much of ssh's stderr is kept for error messages. */
const STDERR_TAIL = 2000;

/**
 * One ssh process as a socket for node's HTTP client. `bytesWritten` counts what was handed to
 * ssh (the tar session's watchdog reads it); ref/unref let an idle keep-alive connection not
 * hold the process open.
 */
class SshSocket extends Duplex {
  bytesWritten = 0;
  private stderr = '';

  constructor(
    private readonly child: ChildProcess,
    private readonly what: string,
  ) {
    super();
    const out = child.stdout!;
    out.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) out.pause();
    });
    out.on('end', () => this.push(null));
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    child.stdin!.on('error', () => undefined);
    child.on('error', (err) => this.destroy(err));
    child.on('exit', (code, signal) => {
      if (code === 0 || this.destroyed) return;
      const why = this.stderr.trim() || (signal ? `killed by ${signal}` : `exit code ${code}`);
      this.destroy(new Error(`${this.what} failed: ${why}`));
    });
  }

  override _read(): void {
    this.child.stdout!.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.bytesWritten += chunk.length;
    this.child.stdin!.write(chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.child.stdin!.end(cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill();
    cb(err);
  }

  // The parts of net.Socket that node's HTTP client and agent call.
  setKeepAlive(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setTimeout(_ms: number, cb?: () => void): this {
    if (cb) this.once('timeout', cb);
    return this;
  }
  ref(): this {
    this.child.ref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr])
      (s as { ref?: () => void } | null)?.ref?.();
    return this;
  }
  unref(): this {
    this.child.unref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr])
      (s as { unref?: () => void } | null)?.unref?.();
    return this;
  }
}

/**
 * An HTTP agent whose every connection is `ssh ... docker system dial-stdio`, run with `env`
 * (PATH decides which ssh, SSH_AUTH_SOCK which agent). Idle connections are kept for reuse, so
 * most calls do not pay for an SSH handshake.
 */
export function createSshAgent(spec: SshSpec, env: NodeJS.ProcessEnv): Agent {
  const agent = new Agent({ keepAlive: true, maxFreeSockets: 16 });
  const argv = sshArgv(spec);
  const what = `ssh ${spec.user ? `${spec.user}@` : ''}${spec.host}${spec.port ? `:${spec.port}` : ''} docker system dial-stdio`;
  (agent as unknown as { createConnection: () => Duplex }).createConnection = () => {
    const child = spawn('ssh', argv, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    return new SshSocket(child, what);
  };
  return agent;
}
