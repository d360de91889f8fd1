/**
 * dockerode loads, as it loads, gRPC with its protobuf loader (for BuildKit sessions, which
 * composync never opens) and ssh2 (for `ssh://` engines): about 20 MB and 150 ms at every
 * start, for what most runs never use. This module, imported before dockerode, puts stand-ins
 * for those three into Node's CommonJS module cache; a stand-in loads the real package the
 * first time it is used, so an `ssh://` engine works as before. Nothing else changes: a package
 * that cannot be found here is left alone, and dockerode's own code is untouched.
 */
import Module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** True on a stand-in whose package has not been loaded yet (for the test). */
export const STAND_IN = Symbol.for('composync.lazy-dependency');

/** Each package by the module that requires it, as dockerode's code names them. */
const DEFERRED: { from: string; pkg: string; shape: 'namespace' | 'ssh2' }[] = [
  { from: 'dockerode/lib/session.js', pkg: '@grpc/grpc-js', shape: 'namespace' },
  { from: 'dockerode/lib/session.js', pkg: '@grpc/proto-loader', shape: 'namespace' },
  { from: 'docker-modem/lib/ssh.js', pkg: 'ssh2', shape: 'ssh2' },
];

/** The resolved file of `pkg` as the module `from` would require it; null when absent. */
function resolveFrom(from: string, pkg: string): string | null {
  try {
    const [name, ...rest] = from.split('/');
    const base = dirname(require.resolve(`${name}/package.json`));
    return createRequire(join(base, ...rest)).resolve(pkg);
  } catch {
    return null;
  }
}

function defer(file: string, shape: 'namespace' | 'ssh2'): void {
  if (require.cache[file]) return;
  let real: Record<string | symbol, unknown> | undefined;
  const load = () => {
    if (!real) {
      delete require.cache[file];
      real = require(file) as Record<string | symbol, unknown>;
    }
    return real;
  };
  // ssh2's Client is read as the module loads (`require('ssh2').Client`): until the real
  // package is needed, that is a constructor that loads it and builds the real one
  const LazyClient = function Client(...args: unknown[]) {
    const C = load().Client as new (...a: unknown[]) => object;
    return new C(...args);
  };
  const exports = new Proxy({ [STAND_IN]: true } as Record<string | symbol, unknown>, {
    get: (_t, key) => {
      if (key === STAND_IN) return !real;
      if (shape === 'ssh2' && key === 'Client' && !real) return LazyClient;
      return load()[key];
    },
    has: (_t, key) => key in load(),
    ownKeys: () => Reflect.ownKeys(load()),
    getOwnPropertyDescriptor: (_t, key) => {
      const d = Reflect.getOwnPropertyDescriptor(load(), key);
      return d && { ...d, configurable: true };
    },
  });
  // the cache's record of a loaded module: what `require(file)` returns from now on
  const mod = new Module(file);
  mod.filename = file;
  mod.loaded = true;
  mod.exports = exports;
  require.cache[file] = mod;
}

for (const d of DEFERRED) {
  const file = resolveFrom(d.from, d.pkg);
  if (file) defer(file, d.shape);
}
