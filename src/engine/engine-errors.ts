/** Turning dockerode / socket failures into EngineErrors a user can act on. */
import { EngineError } from '../errors.js';

interface DockerishError {
  code?: string;
  syscall?: string;
  statusCode?: number;
  message?: string;
  json?: { message?: string } | null;
}

/** The engine's own message (HTTP error body) or the socket error's; may be empty (HEAD). */
export function engineMessage(err: unknown): string {
  const e = (err ?? {}) as DockerishError;
  const fromJson = e.json && typeof e.json === 'object' ? e.json.message : undefined;
  if (fromJson) return fromJson;
  const msg = e.message ?? String(err);
  // docker-modem prefixes its own guess ("(HTTP code 404) no such container - ") whatever the
  // engine said; only the part after it is the engine's.
  return e.statusCode === undefined ? msg : msg.replace(/^\(HTTP code \d+\) [^-]*- ?/, '').trim();
}

/** The HTTP status of a failed engine call; undefined for socket-level failures. */
export function statusOf(err: unknown): number | undefined {
  return (err as DockerishError | undefined)?.statusCode;
}

/** A 404 that means the container itself is missing (not a path inside it). */
export function isNoSuchContainer(err: unknown): boolean {
  return statusOf(err) === 404 && /no such container/i.test(engineMessage(err));
}

/**
 * Map any failure of an engine call to an EngineError.
 * @param what what was attempted, for the message (`restart`, `write into web-1`, ...)
 * @param container the container's name when the call was about one container
 * @param target where the engine was expected, for connection errors
 */
export function toEngineError(
  err: unknown,
  what: string,
  container: string | undefined,
  target: string,
): EngineError {
  if (err instanceof EngineError) return err;
  const e = (err ?? {}) as DockerishError;
  const hintStart =
    'Start the Docker engine (on a fresh machine: `npm run setup`), and check DOCKER_HOST and the docker context.';
  // which call first found the engine unreachable says nothing the user can act on
  switch (e.code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new EngineError(
        `cannot reach the Docker engine at ${target}: ${connectionReason(e.code)}`,
        { hint: hintStart, cause: err },
      );
    case 'EACCES':
    case 'EPERM':
      return new EngineError(`permission denied on the Docker engine socket ${target}`, {
        hint: 'Run as a user allowed to use Docker (e.g. in the `docker` group), or point DOCKER_HOST at an engine you may use.',
        cause: err,
      });
  }
  const msg = engineMessage(err) || (e.message ?? String(err));
  if (container && statusOf(err) === 404 && (/no such container/i.test(msg) || !engineMessage(err)))
    return new EngineError(`container ${container} is gone (${what})`, {
      hint: 'It was removed or recreated; composync picks up its replacement when it starts.',
      cause: err,
    });
  if (container && statusOf(err) === 409)
    return new EngineError(`container ${container} is not running (${what}): ${msg}`, {
      hint: 'Start the service (`composync up`) and try again.',
      cause: err,
    });
  return new EngineError(`${what} failed: ${msg}`, { cause: err });
}

function connectionReason(code: string): string {
  switch (code) {
    case 'ENOENT':
      return 'the socket does not exist (is the engine running?)';
    case 'ECONNREFUSED':
      return 'connection refused (is the engine running?)';
    case 'ECONNRESET':
      return 'the connection was reset';
    default:
      return `the host is unreachable (${code})`;
  }
}

/**
 * Add what to do to a per-path write or delete failure inside a container, as the engine or
 * the container's tar or rm word it: a full filesystem, a read-only mount or root filesystem,
 * a permission refused. Other messages come back unchanged.
 * @param path the container path that failed
 */
export function explainContainerProblem(message: string, path: string): string {
  const at = path.startsWith('/') ? ` ${path}` : '';
  const where = at && ` at${at}`;
  if (/no space left on device|ENOSPC|disk quota exceeded|EDQUOT/i.test(message))
    return (
      `${message}: the container's filesystem holding${at || ' the target'} is full. Free ` +
      'space there (or give the volume more room), then run `composync sync` again.'
    );
  if (/rootfs is marked read-only/i.test(message))
    return (
      `${message}: the container's root filesystem is read-only (\`read_only: true\`). ` +
      'Mount a volume at the sync target, or drop `read_only`, and recreate the container.'
    );
  if (/read-only file system|EROFS/i.test(message))
    return (
      `${message}: the target${at} is on a read-only mount. Mount it read-write (drop ` +
      '`:ro` or `read_only: true` for it in the compose file) or sync to another target.'
    );
  if (/permission denied|operation not permitted|EACCES|EPERM/i.test(message))
    return (
      `${message}: the container refused the write${where}. Check the permissions and owner ` +
      "of the target directory in the container (and the mount's, for a host directory), or " +
      "set the rule's `owner`/`group` to a user that may write there."
    );
  return message;
}
