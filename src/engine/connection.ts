/**
 * Where the Docker engine is, decided exactly as the docker CLI (and so compose) decides it:
 * DOCKER_HOST (with DOCKER_TLS_VERIFY / DOCKER_TLS / DOCKER_CERT_PATH), else DOCKER_CONTEXT,
 * else the current context of the CLI config (DOCKER_CONFIG or ~/.docker), else the default
 * socket. ssh:// goes through the system ssh, as the CLI does (see ssh-agent.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { EngineError } from '../errors.js';
import { createSshAgent } from './ssh-agent.js';

/** dockerode's options, plus the HTTP agent docker-modem accepts but the types omit. */
export type ModemOptions = Docker.DockerOptions & { agent?: Agent };

export interface EngineTarget {
  options: ModemOptions;
  /** How the engine is reached; anything but `unix` is remote (archives get gzip-compressed). */
  transport: 'unix' | 'tcp' | 'tls' | 'ssh';
  remote: boolean;
  /** For messages: `unix:///var/run/docker.sock`, `tcp://host:2375`, ... */
  describe: string;
  /** The docker context it came from, if any (for messages). */
  context?: string;
}

const DEFAULT_SOCKET = '/var/run/docker.sock';

/** Resolve the engine endpoint from the environment (DOCKER_HOST, DOCKER_CONTEXT, CLI config). */
export function resolveEngineTarget(env: NodeJS.ProcessEnv): EngineTarget {
  // The CLI lets DOCKER_HOST win over DOCKER_CONTEXT, and DOCKER_CONTEXT over the config.
  if (env.DOCKER_HOST) return fromHost(env.DOCKER_HOST, env, envTls(env));
  const context = env.DOCKER_CONTEXT || currentContext(env);
  if (context && context !== 'default') {
    const meta = readContext(context, env);
    return { ...fromHost(meta.host, env, meta.tls), context };
  }
  return fromHost(`unix://${DEFAULT_SOCKET}`, env, envTls(env));
}

interface TlsSettings {
  /** Directory with ca.pem, cert.pem, key.pem (any may be missing). */
  dir?: string;
  verify: boolean;
}

/** The CLI's TLS environment: DOCKER_TLS_VERIFY (any non-empty value) or DOCKER_TLS. */
function envTls(env: NodeJS.ProcessEnv): TlsSettings | undefined {
  const verify = !!env.DOCKER_TLS_VERIFY;
  if (!verify && !env.DOCKER_TLS) return undefined;
  return { dir: env.DOCKER_CERT_PATH || configDir(env), verify };
}

function fromHost(
  host: string,
  env: NodeJS.ProcessEnv,
  tls: TlsSettings | undefined,
): EngineTarget {
  // Explicit undefined keys override what docker-modem would read from process.env itself.
  const base: ModemOptions = {
    socketPath: undefined,
    host: undefined,
    port: undefined,
    protocol: undefined,
    ca: undefined,
    cert: undefined,
    key: undefined,
    username: undefined,
  };
  if (host.startsWith('unix://') || host.startsWith('npipe://')) {
    const socketPath = host.replace(/^(unix|npipe):\/\//, '') || DEFAULT_SOCKET;
    return { options: { ...base, socketPath }, transport: 'unix', remote: false, describe: host };
  }
  const withScheme = host.includes('://') ? host : `tcp://${host}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw invalidHost(host);
  }
  if (url.protocol === 'ssh:') {
    const path = decodeURIComponent(url.pathname);
    const agent = createSshAgent(
      {
        host: url.hostname,
        user: decodeURIComponent(url.username) || undefined,
        port: url.port || undefined,
        socket: path && path !== '/' ? path : undefined,
      },
      env,
    );
    return {
      // Plain HTTP over the ssh process; the host name only fills the Host header.
      options: { ...base, protocol: 'http', host: 'docker', port: 80, agent },
      transport: 'ssh',
      remote: true,
      describe: withScheme,
    };
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalidHost(host);
  const useTls = !!tls || url.protocol === 'https:';
  const options: ModemOptions = {
    ...base,
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port || (useTls ? 2376 : 2375),
    protocol: useTls ? 'https' : 'http',
  };
  if (useTls && tls?.dir) {
    const read = (f: string) => {
      const p = join(tls.dir!, f);
      if (!existsSync(p)) return undefined;
      try {
        return readFileSync(p);
      } catch (err) {
        throw new EngineError(`cannot read the TLS file ${p}`, { cause: err });
      }
    };
    options.ca = read('ca.pem');
    options.cert = read('cert.pem');
    options.key = read('key.pem');
    if (tls.verify && !options.ca)
      throw new EngineError(`DOCKER_TLS_VERIFY is set but there is no ca.pem in ${tls.dir}`, {
        hint: 'Point DOCKER_CERT_PATH at the directory with ca.pem, cert.pem and key.pem.',
      });
  }
  if (useTls && tls && !tls.verify) {
    // DOCKER_TLS without DOCKER_TLS_VERIFY (or a context with SkipTLSVerify): encrypted,
    // server certificate not checked, as the CLI does.
    options.agent = new HttpsAgent({
      keepAlive: true,
      rejectUnauthorized: false,
      cert: options.cert as Buffer | undefined,
      key: options.key as Buffer | undefined,
    });
  }
  return {
    options,
    transport: useTls ? 'tls' : 'tcp',
    remote: true,
    describe: `${useTls ? 'https' : 'tcp'}://${url.host}`,
  };
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

interface ContextMeta {
  Endpoints?: { docker?: { Host?: string; SkipTLSVerify?: boolean } };
}

function readContext(name: string, env: NodeJS.ProcessEnv): { host: string; tls?: TlsSettings } {
  // The CLI's context store: contexts/meta/<sha256 of the name>/meta.json, and TLS material
  // in contexts/tls/<same>/docker/.
  const id = createHash('sha256').update(name).digest('hex');
  const file = join(configDir(env), 'contexts', 'meta', id, 'meta.json');
  let meta: ContextMeta;
  try {
    meta = JSON.parse(readFileSync(file, 'utf8')) as ContextMeta;
  } catch (err) {
    throw new EngineError(`docker context "${name}" not found`, {
      hint: 'Check DOCKER_CONTEXT or `docker context ls`.',
      cause: err,
    });
  }
  const endpoint = meta.Endpoints?.docker;
  if (!endpoint?.Host) throw new EngineError(`docker context "${name}" has no docker endpoint`);
  const tlsDir = join(configDir(env), 'contexts', 'tls', id, 'docker');
  const hasTls = existsSync(tlsDir);
  return {
    host: endpoint.Host,
    tls:
      hasTls || endpoint.SkipTLSVerify
        ? { dir: hasTls ? tlsDir : undefined, verify: !endpoint.SkipTLSVerify }
        : undefined,
  };
}
