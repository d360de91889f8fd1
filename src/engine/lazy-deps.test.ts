/**
 * The stand-ins for dockerode's heavy dependencies: loading the engine adapter loads neither
 * gRPC nor ssh2, and each loads for real the first time it is used (an ssh:// engine).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
// only the adapter is imported: it must bring the stand-ins in itself, before dockerode
import './docker-engine.js';

const STAND_IN = Symbol.for('composync.lazy-dependency');

const require = createRequire(import.meta.url);
const from = (mod: string, pkg: string) => {
  const [name, ...rest] = mod.split('/');
  return createRequire(join(dirname(require.resolve(`${name}/package.json`)), ...rest)).resolve(
    pkg,
  );
};
const loaded = (pkgDir: string) =>
  Object.keys(require.cache).some((k) => k.includes(`/node_modules/${pkgDir}/`));

test('the engine adapter loads without gRPC, protobuf or ssh2; they load when used', () => {
  const grpcFile = from('dockerode/lib/session.js', '@grpc/grpc-js');
  const sshFile = from('docker-modem/lib/ssh.js', 'ssh2');
  const grpc = require.cache[grpcFile]!.exports as Record<string | symbol, unknown>;
  const ssh2 = require.cache[sshFile]!.exports as Record<string | symbol, unknown>;
  assert.equal(grpc[STAND_IN], true);
  assert.equal(ssh2[STAND_IN], true);
  assert.equal(loaded('protobufjs'), false, 'protobufjs (below proto-loader) not loaded');
  assert.equal(loaded('asn1'), false, 'asn1 (below ssh2) not loaded');

  // what docker-modem does for an ssh:// engine: a real ssh2 client
  const Client = ssh2.Client as new () => { connect: unknown; end: () => void };
  const conn = new Client();
  assert.equal(typeof conn.connect, 'function');
  assert.equal(ssh2[STAND_IN], false);
  assert.equal(loaded('asn1'), true);
  // and what dockerode's BuildKit session reads of gRPC
  assert.equal(typeof (grpc.credentials as { createInsecure: unknown }).createInsecure, 'function');
  assert.equal(grpc[STAND_IN], false);
});
