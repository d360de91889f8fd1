/**
 * Container-side change detection, the accelerator: one long-running exec per watched
 * directory runs a shell loop in the container that lists what changed in the last minute
 * (`find -mmin -1`, with `stat` for each path's mtime, size and type), every interval. Node
 * keeps the previous listing and reports only paths whose line changed. Cost per interval: one
 * `find` over the tree inside the container, nothing over the wire but recent changes.
 */
import { PassThrough, type Duplex } from 'node:stream';
import type Docker from 'dockerode';

const TICK = '@@composync-tick';

/** The shell loop; `$1` the directory, `$2` the sleep in seconds. */
const SCRIPT = [
  'command -v find >/dev/null && command -v stat >/dev/null || exit 127',
  'while :; do',
  '  find "$1" -mmin -1 -exec stat -c "%y %s %F|%n" {} + 2>/dev/null',
  `  echo "${TICK}"`,
  '  sleep "$2"',
  'done',
].join('\n');

export interface RemoteWatchHandle {
  stop(): Promise<void>;
}

/**
 * Start the loop. Resolves to null when the image cannot run it (no sh, find or stat), which
 * shows as the exec ending before its first tick.
 */
export async function startRemoteWatch(
  docker: Docker,
  containerId: string,
  dir: string,
  intervalMs: number,
  onChange: (changes: { path: string; dir: boolean }[]) => void,
): Promise<RemoteWatchHandle | null> {
  const seconds = Math.max(0.2, intervalMs / 1000).toFixed(1);
  let exec: Docker.Exec;
  let stream: Duplex;
  try {
    exec = await docker.getContainer(containerId).exec({
      Cmd: ['sh', '-c', SCRIPT, 'sh', dir, seconds],
      AttachStdout: true,
      AttachStderr: true,
      User: '0:0',
      Env: ['LC_ALL=C'],
    });
    stream = (await exec.start({ hijack: true, stdin: false })) as Duplex;
  } catch {
    return null;
  }
  const out = new PassThrough();
  docker.modem.demuxStream(stream, out, new PassThrough());

  let previous = new Map<string, string>();
  let current = new Map<string, string>();
  let partial = '';
  let ticked = false;
  let firstTick!: (ok: boolean) => void;
  const ready = new Promise<boolean>((r) => (firstTick = r));

  out.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line === TICK) {
        const changed: { path: string; dir: boolean }[] = [];
        for (const [path, sig] of current) {
          if (previous.get(path) !== sig) changed.push({ path, dir: sig.endsWith(' directory') });
        }
        previous = current;
        current = new Map();
        if (!ticked) {
          ticked = true;
          firstTick(true);
        }
        if (changed.length) onChange(changed);
        continue;
      }
      const bar = line.indexOf('|');
      if (bar > 0) current.set(line.slice(bar + 1), line.slice(0, bar));
    }
  });
  stream.on('close', () => firstTick(false));
  stream.on('end', () => firstTick(false));
  stream.on('error', () => firstTick(false));

  if (!(await ready)) {
    stream.destroy();
    return null;
  }
  return {
    async stop() {
      stream.destroy();
      // the loop ends on its next write to the closed stream (SIGPIPE)
    },
  };
}
