/** The Engine port over dockerode: containers found by their compose labels. */
// before dockerode: it would load gRPC and ssh2 at once (see lazy-deps)
import './lazy-deps.js';
import Docker from 'dockerode';
import type {
  ContainerChannel,
  ContainerRef,
  Engine,
  EngineEvent,
  EngineIdentity,
  ExecResult,
} from '../core/ports.js';
import { EngineError, UsageError } from '../errors.js';
import { DEFAULT_MAX_CONCURRENT_CALLS, EngineCalls } from './calls.js';
import { DockerChannel } from './channel.js';
import { resolveEngineTarget, type EngineTarget } from './connection.js';
import { toEngineError } from './engine-errors.js';
import { resolveIds, needsUserDb, splitUserSpec } from './users.js';

export interface EngineOptions {
  /** Receives one line per engine call (what, how long): for --debug. */
  debug?: (line: string) => void;
  /** A tar-stream write that makes no progress for this long fails over (default 30 s). */
  sessionTimeoutMs?: number;
  /**
   * gzip archives sent to the engine. Default: COMPOSYNC_COMPRESS (`auto`, `on`, `off`), and
   * `auto` means when the engine is remote (tcp://, ssh://, a context naming one).
   */
  compress?: boolean;
  /**
   * Engine calls in flight at once (default: COMPOSYNC_ENGINE_CONCURRENCY, else
   * DEFAULT_MAX_CONCURRENT_CALLS); the rest wait their turn.
   */
  maxConcurrentCalls?: number;
  /**
   * The ID of the engine compose uses (or why there is none). When given, it is compared with
   * this engine's ID before the first call, and every call fails with a clear EngineError when
   * they differ: syncing into another engine than the one compose created the containers on.
   */
  expectedEngine?: () => Promise<{ id: string } | { error: string }>;
}

const LABEL_PROJECT = 'com.docker.compose.project';
const LABEL_SERVICE = 'com.docker.compose.service';
const LABEL_NUMBER = 'com.docker.compose.container-number';
const LABEL_ONEOFF = 'com.docker.compose.oneoff';
/** Docker's event actions, in the port's words (others are ignored). */
const EVENT_KINDS: Record<string, EngineEvent['kind']> = {
  start: 'started',
  die: 'stopped',
  destroy: 'stopped',
  stop: 'stopped',
};

/**
 * Create the engine adapter for the endpoint the environment names (DOCKER_HOST, DOCKER_CONTEXT,
 * the CLI's current context, or the default socket). Nothing is contacted until the first call;
 * `ping()` checks reachability with a clear error.
 */
export function createEngine(
  env: NodeJS.ProcessEnv = process.env,
  opts: EngineOptions = {},
): Engine {
  const target = resolveEngineTarget(env);
  const docker = new Docker(target.options);
  const compress = opts.compress ?? compressFromEnv(env.COMPOSYNC_COMPRESS, target.remote);
  const max = opts.maxConcurrentCalls ?? concurrencyFromEnv(env.COMPOSYNC_ENGINE_CONCURRENCY);
  opts.debug?.(
    `engine: ${target.describe}${target.context ? ` (context ${target.context})` : ''}, ` +
      `${target.remote ? 'remote' : 'local'}, compression ${compress ? 'on' : 'off'}, ` +
      `at most ${max} calls in flight`,
  );
  const calls = new EngineCalls(docker, target, opts.debug, max);
  const expected = opts.expectedEngine;
  if (expected) calls.setCheck(() => checkSameEngine(docker, target, expected, opts.debug));
  return new DockerEngine(calls, { ...opts, compress });
}

async function checkSameEngine(
  docker: Docker,
  target: EngineTarget,
  expected: () => Promise<{ id: string } | { error: string }>,
  debug?: (line: string) => void,
): Promise<void> {
  const where = `${target.describe}${target.context ? ` (docker context ${target.context})` : ''}`;
  const [info, cli] = await Promise.all([
    (docker.info() as Promise<{ ID?: string; Name?: string }>).catch((err: unknown) => {
      throw toEngineError(err, 'read the engine info', undefined, target.describe);
    }),
    expected(),
  ]);
  const hint =
    'composync picks the engine as the docker CLI does: DOCKER_HOST, else DOCKER_CONTEXT, else ' +
    'the current context in the CLI config (DOCKER_CONFIG or ~/.docker). Check those, and that ' +
    '`docker` on the PATH is the docker CLI itself, then compare `docker context inspect`.';
  if ('error' in cli)
    throw new EngineError(
      `composync reaches the Docker engine at ${where} (ID ${info.ID}), but the docker CLI that ` +
        `runs compose reaches none: ${cli.error}`,
      { hint },
    );
  debug?.(`engine: ${info.ID} (${info.Name}); docker compose uses ${cli.id}`);
  if (cli.id !== info.ID)
    throw new EngineError(
      `composync and docker compose would use different Docker engines: composync reaches ` +
        `${where}, engine "${info.Name}" with ID ${info.ID}, but the docker CLI that runs compose ` +
        `reaches the engine with ID ${cli.id}. Nothing was synced: the project's containers ` +
        `live on the engine compose uses.`,
      { hint },
    );
}

/** COMPOSYNC_COMPRESS: `auto` (the default: gzip when the engine is remote), `on`, `off`. */
export function compressFromEnv(value: string | undefined, remote: boolean): boolean {
  switch ((value ?? '').trim().toLowerCase()) {
    case '':
    case 'auto':
      return remote;
    case 'on':
    case '1':
    case 'true':
      return true;
    case 'off':
    case '0':
    case 'false':
      return false;
    default:
      throw new UsageError(
        `COMPOSYNC_COMPRESS must be auto, on or off, not "${value}"`,
        'auto (the default) compresses archives only when the engine is remote (tcp://, ssh://).',
      );
  }
}

function concurrencyFromEnv(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return DEFAULT_MAX_CONCURRENT_CALLS;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(
      `COMPOSYNC_ENGINE_CONCURRENCY must be a whole number of at least 1, not "${value}"`,
    );
  return n;
}

class DockerEngine implements Engine {
  constructor(
    private readonly calls: EngineCalls,
    private readonly opts: EngineOptions,
  ) {}

  private get docker(): Docker {
    return this.calls.docker;
  }

  async ping(): Promise<void> {
    await this.calls.call('ping', undefined, () => this.docker.ping());
  }

  async identity(): Promise<EngineIdentity> {
    const info = (await this.calls.call('read the engine info', undefined, () =>
      this.docker.info(),
    )) as { ID?: string; Name?: string; ServerVersion?: string };
    const { target } = this.calls;
    return {
      id: info.ID ?? '',
      name: info.Name ?? '',
      version: info.ServerVersion ?? '',
      endpoint: target.describe,
      context: target.context,
      remote: target.remote,
      compress: !!this.opts.compress,
    };
  }

  async listContainers(project: string, services?: string[]): Promise<ContainerRef[]> {
    const list = await this.calls.call(`list containers of project ${project}`, undefined, () =>
      this.docker.listContainers({
        all: true,
        filters: { label: [`${LABEL_PROJECT}=${project}`] },
      }),
    );
    const wanted = services && services.length > 0 ? new Set(services) : undefined;
    return list
      .filter((c) => c.Labels?.[LABEL_ONEOFF] !== 'True')
      .map((c): ContainerRef => ({
        id: c.Id,
        name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''),
        service: c.Labels?.[LABEL_SERVICE] ?? '',
        replica: Number(c.Labels?.[LABEL_NUMBER] ?? 0) || 0,
        state: c.State,
        running: c.State === 'running',
      }))
      .filter((c) => !wanted || wanted.has(c.service))
      .sort((a, b) =>
        a.service < b.service ? -1 : a.service > b.service ? 1 : a.replica - b.replica,
      );
  }

  async attach(
    container: ContainerRef,
    opts: { notStarted?: boolean } = {},
  ): Promise<ContainerChannel> {
    const { id, name } = container;
    const inspect = await this.calls.inspect(id, name);
    if (!inspect.State?.Running && opts.notStarted)
      return this.attachNotStarted(container, inspect);
    if (!inspect.State?.Running)
      throw new EngineError(`container ${name} is not running`, {
        hint: 'Start the service (`composync up`) and try again.',
      });
    const [tarProbe, shellProbe] = await Promise.all([
      this.calls.exec(id, name, ['tar', '--version'], { user: '0:0' }),
      this.calls.exec(id, name, ['sh', '-c', 'command -v rm >/dev/null'], { user: '0:0' }),
    ]);
    const tarFlavour = tarProbe.cannotStart
      ? 'none'
      : /GNU tar/.test(tarProbe.output)
        ? 'gnu'
        : /busybox/i.test(tarProbe.output)
          ? 'busybox'
          : 'none';
    const userSpec = inspect.Config?.User ?? '';
    const channel = new DockerChannel({
      calls: this.calls,
      ref: { ...container, running: true, state: inspect.State.Status ?? container.state },
      info: {
        workdir: inspect.Config?.WorkingDir || '/',
        uid: 0,
        gid: 0,
        tar: tarFlavour,
        shell: shellProbe.exitCode === 0,
      },
      hasSh: !shellProbe.cannotStart,
      compress: !!this.opts.compress,
      sessionTimeoutMs: this.opts.sessionTimeoutMs ?? 30_000,
      log: this.opts.debug,
      tmpfs: tmpfsMounts(inspect),
    });
    if (userSpec) {
      const { user, group } = splitUserSpec(userSpec);
      const db = needsUserDb(userSpec) ? await channel.loadUserDb() : { passwd: [], group: [] };
      const ids = resolveIds(db, user, group, name);
      channel.info.uid = ids.uid;
      channel.info.gid = ids.gid;
    }
    return channel;
  }

  /**
   * A channel into a container that exists and does not run (created, or exited): nothing can
   * be exec'd there, so every read, stat and write goes through the archive endpoint (which
   * works on a stopped container's filesystem), the image's tools are not probed, and
   * deletions are reported as deferred until the container runs.
   */
  private async attachNotStarted(
    container: ContainerRef,
    inspect: Docker.ContainerInspectInfo,
  ): Promise<ContainerChannel> {
    const tmpfs = tmpfsMounts(inspect);
    const channel = new DockerChannel({
      calls: this.calls,
      ref: { ...container, running: false, state: inspect.State?.Status ?? container.state },
      info: {
        workdir: inspect.Config?.WorkingDir || '/',
        uid: 0,
        gid: 0,
        tar: 'none',
        shell: false,
        notStarted: { tmpfs },
      },
      hasSh: false,
      compress: !!this.opts.compress,
      sessionTimeoutMs: this.opts.sessionTimeoutMs ?? 30_000,
      log: this.opts.debug,
      tmpfs,
      notStarted: true,
    });
    const userSpec = inspect.Config?.User ?? '';
    if (userSpec) {
      const { user, group } = splitUserSpec(userSpec);
      // /etc/passwd and /etc/group are read through the archive endpoint too
      const db = needsUserDb(userSpec) ? await channel.loadUserDb() : { passwd: [], group: [] };
      const ids = resolveIds(db, user, group, container.name);
      channel.info.uid = ids.uid;
      channel.info.gid = ids.gid;
    }
    return channel;
  }

  async events(project: string, onEvent: (e: EngineEvent) => void): Promise<() => void> {
    let stopped = false;
    let stream: NodeJS.ReadableStream | undefined;
    let since: number | undefined;
    const open = async () => {
      const s = await this.calls.call(`follow events of project ${project}`, undefined, () =>
        this.docker.getEvents({
          since,
          filters: {
            type: ['container'],
            label: [`${LABEL_PROJECT}=${project}`],
            event: Object.keys(EVENT_KINDS),
          },
        }),
      );
      if (stopped) {
        destroy(s);
        return;
      }
      stream = s;
      let buf = '';
      s.on('data', (chunk: Buffer) => {
        buf += chunk.toString('utf8');
        let i: number;
        while ((i = buf.indexOf('\n')) !== -1) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          if (!line) continue;
          const e = parseEvent(line, project);
          if (!e) continue;
          since = e.time;
          onEvent(e.event);
        }
      });
      s.on('error', () => undefined);
      // The stream ended without being asked to (engine restart): follow again from the last
      // event seen, so nothing in between is lost (an event of that second may come twice).
      s.on('close', reopen);
    };
    const reopen = () => {
      if (!stopped) setTimeout(() => void open().catch(reopen), 1000);
    };
    await open();
    return () => {
      stopped = true;
      if (stream) destroy(stream);
    };
  }

  async restart(containerId: string): Promise<void> {
    await this.calls.call(`restart ${containerId.slice(0, 12)}`, containerId.slice(0, 12), () =>
      this.docker.getContainer(containerId).restart(),
    );
  }

  async kill(containerId: string, signal: string): Promise<void> {
    await this.calls.call(
      `send ${signal} to ${containerId.slice(0, 12)}`,
      containerId.slice(0, 12),
      () => this.docker.getContainer(containerId).kill({ signal }),
    );
  }

  async exec(
    containerId: string,
    command: string[],
    opts: { user?: string; workdir?: string; env?: Record<string, string> } = {},
  ): Promise<ExecResult> {
    const r = await this.calls.exec(containerId, containerId.slice(0, 12), command, {
      ...opts,
      unbounded: true,
    });
    return { exitCode: r.exitCode, output: r.output };
  }
}

/** Mount points of the container's tmpfs mounts (`tmpfs:` in compose, or `--mount type=tmpfs`). */
function tmpfsMounts(inspect: Docker.ContainerInspectInfo): string[] {
  const fromHostConfig = Object.keys(inspect.HostConfig?.Tmpfs ?? {});
  const fromMounts = (inspect.Mounts ?? [])
    .filter((m) => (m.Type as string) === 'tmpfs')
    .map((m) => m.Destination);
  return [...new Set([...fromHostConfig, ...fromMounts])];
}

function destroy(s: NodeJS.ReadableStream): void {
  (s as NodeJS.ReadableStream & { destroy(): void }).destroy();
}

function parseEvent(line: string, project: string): { event: EngineEvent; time?: number } | null {
  let raw: {
    Action?: string;
    status?: string;
    id?: string;
    time?: number;
    Actor?: { ID?: string; Attributes?: Record<string, string> };
  };
  try {
    raw = JSON.parse(line) as typeof raw;
  } catch {
    return null;
  }
  const kind = EVENT_KINDS[raw.Action ?? raw.status ?? ''];
  if (!kind) return null;
  const attrs = raw.Actor?.Attributes ?? {};
  return {
    event: {
      kind,
      containerId: raw.Actor?.ID ?? raw.id ?? '',
      service: attrs[LABEL_SERVICE] ?? '',
      project: attrs[LABEL_PROJECT] ?? project,
    },
    time: raw.time,
  };
}
