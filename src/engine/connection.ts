/**
 * Where the Docker engine is: DOCKER_HOST, else DOCKER_CONTEXT (or the CLI's current context),
 * else the default socket, exactly as the docker CLI decides.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { EngineError } from '../errors.js';

export interface EngineTarget {
  options: Docker.DockerOptions;
  /** The engine is reached over the network (tcp://, ssh://): archives get gzip-compressed. */
  remote: boolean;
  /** For messages: `unix:///var/run/docker.sock`, `tcp://host:2375`, ... */
  describe: string;
}

const DEFAULT_SOCKET = '/var/run/docker.sock';

/** Resolve the engine endpoint from the environment (DOCKER_HOST, DOCKER_CONTEXT, CLI config). */
export function resolveEngineTarget(env: NodeJS.ProcessEnv): EngineTarget {
  if (env.DOCKER_HOST) return fromHost(env.DOCKER_HOST, env, undefined);
  const context = env.DOCKER_CONTEXT || currentContext(env);
  if (context && context !== 'default') {
    const meta = readContext(context, env);
    return fromHost(meta.host, env, meta.tlsDir);
  }
  return fromHost(`unix://${DEFAULT_SOCKET}`, env, undefined);
}

function fromHost(host: string, env: NodeJS.ProcessEnv, tlsDir: string | undefined): EngineTarget {
  // Explicit undefined keys override what docker-modem would read from process.env itself.
  const base: Docker.DockerOptions = {
    socketPath: undefined,
    host: undefined,
    port: undefined,
    protocol: undefined,
  };
  if (host.startsWith('unix://') || host.startsWith('npipe://')) {
    const socketPath = host.replace(/^(unix|npipe):\/\//, '') || DEFAULT_SOCKET;
    return { options: { ...base, socketPath }, remote: false, describe: host };
  }
  const withScheme = host.includes('://') ? host : `tcp://${host}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw invalidHost(host);
  }
  if (url.protocol === 'ssh:') {
    return {
      options: {
        ...base,
        protocol: 'ssh',
        host: url.hostname,
        port: url.port || 22,
        username: url.username || undefined,
        sshOptions: { agent: env.SSH_AUTH_SOCK },
      },
      remote: true,
      describe: withScheme,
    };
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalidHost(host);
  const certDir = tlsDir ?? (env.DOCKER_TLS_VERIFY ? env.DOCKER_CERT_PATH : undefined);
  const tls =
    url.protocol === 'https:' || !!env.DOCKER_TLS_VERIFY || !!tlsDir || url.port === '2376';
  const options: Docker.DockerOptions = {
    ...base,
    host: url.hostname,
    port: url.port || (tls ? 2376 : 2375),
    protocol: tls ? 'https' : 'http',
  };
  if (tls && certDir) {
    const read = (f: string) =>
      existsSync(join(certDir, f)) ? readFileSync(join(certDir, f)) : undefined;
    options.ca = read('ca.pem');
    options.cert = read('cert.pem');
    options.key = read('key.pem');
  }
  return { options, remote: true, describe: withScheme };
}

function invalidHost(host: string): EngineError {
  return new EngineError(`DOCKER_HOST is not a valid engine address: ${host}`, {
    hint: 'Use unix:///path/to/docker.sock, tcp://host:port or ssh://user@host.',
  });
}

function configDir(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
}

function currentContext(env: NodeJS.ProcessEnv): string | undefined {
  try {
    const cfg = JSON.parse(readFileSync(join(configDir(env), 'config.json'), 'utf8')) as {
      currentContext?: string;
    };
    return cfg.currentContext;
  } catch {
    return undefined;
  }
}

function readContext(name: string, env: NodeJS.ProcessEnv): { host: string; tlsDir?: string } {
  const id = createHash('sha256').update(name).digest('hex');
  const file = join(configDir(env), 'contexts', 'meta', id, 'meta.json');
  let meta: { Endpoints?: { docker?: { Host?: string } } };
  try {
    meta = JSON.parse(readFileSync(file, 'utf8')) as typeof meta;
  } catch (err) {
    throw new EngineError(`docker context "${name}" not found`, {
      hint: 'Check DOCKER_CONTEXT or `docker context ls`.',
      cause: err,
    });
  }
  const host = meta.Endpoints?.docker?.Host;
  if (!host) throw new EngineError(`docker context "${name}" has no docker endpoint`);
  const tlsDir = join(configDir(env), 'contexts', 'tls', id, 'docker');
  return { host, tlsDir: existsSync(tlsDir) ? tlsDir : undefined };
}
