/**
 * Remote engines: a second dockerd on this machine (scripts/second-engine.sh), reached the ways
 * compose reaches engines: DOCKER_HOST=tcp://, a docker context (DOCKER_CONTEXT and the current
 * context), ssh:// through sshd on loopback, and TLS (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH).
 * Each runs `composync up --watch` and checks that the containers are on the second engine and
 * that edits land there; plus compression and wire bytes, and refusing a mismatched engine.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { docker, repoRoot, sh, TestProject, waitFor } from './helpers.js';

const SCRIPT = join(repoRoot, 'scripts', 'second-engine.sh');
const FIRST: NodeJS.ProcessEnv = { DOCKER_HOST: 'unix:///var/run/docker.sock' };

const COMPOSE = `services:
  web:
    image: composync/busybox
    command: ["sleep", "2147483647"]
    init: true
    x-sync:
      - source: ./src
        target: /app
`;

interface SyncRecord {
  event: string;
  files?: number;
  bytes?: number;
  wireBytes?: number;
  via?: string;
}

async function syncLog(p: TestProject): Promise<SyncRecord[]> {
  const text = await readFile(p.path('.composync/logs/sync.log'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SyncRecord);
}

/** Containers of the project on an engine. */
async function containersOn(env: NodeJS.ProcessEnv, project: string): Promise<string[]> {
  const out = await docker(
    ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`],
    {
      env,
    },
  );
  return out.split('\n').filter(Boolean);
}

async function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv) {
  const r = await sh(cmd, args, { env: { ...process.env, ...env }, timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

describe('remote engines', { timeout: 900_000 }, () => {
  let startedHere = false;
  let host = '';
  let secondId = '';
  let scratch = '';
  let tlsProxy: Server | undefined;
  const proxied = new Set<Socket>();
  const second = (): NodeJS.ProcessEnv => ({ DOCKER_HOST: host });

  before(async () => {
    const r = await sh('bash', [SCRIPT, 'start'], { timeoutMs: 300_000 });
    if (r.code !== 0 && r.code !== 3)
      throw new Error(`second-engine.sh start failed (${r.code}): ${r.stderr}`);
    startedHere = r.code === 0;
    host = /DOCKER_HOST=(\S+)/.exec(r.stdout)![1]!;
    secondId = (await docker(['info', '--format', '{{.ID}}'], { env: second() })).trim();
    const firstId = (await docker(['info', '--format', '{{.ID}}'], { env: FIRST })).trim();
    assert.notEqual(secondId, firstId, 'two distinct engines');
    scratch = await mkdtemp(join(tmpdir(), 'composync-remote-'));
  });

  after(async () => {
    tlsProxy?.close();
    for (const s of proxied) s.destroy();
    if (scratch) await rm(scratch, { recursive: true, force: true });
    if (startedHere) await sh('bash', [SCRIPT, 'stop'], { timeoutMs: 120_000 });
    else await sh('bash', [SCRIPT, 'sshd-stop']);
  });

  /**
   * `up --watch` through `dockerEnv`; the debug output must name `endpoint`; the containers
   * must be on the second engine only; an edit and a large compressible file must land.
   */
  async function roundTrip(label: string, dockerEnv: NodeJS.ProcessEnv, endpoint: RegExp) {
    const p = await TestProject.create(
      `remote-${label}`,
      { 'compose.yaml': COMPOSE, 'src/hello.txt': 'hello' },
      { dockerEnv },
    );
    const w = p.spawn(['--debug', 'up', '--watch', '--no-logs']);
    try {
      await w.waitForOutput(/watching \d+ rules?/, 180_000);
      assert.match(w.output, endpoint);
      assert.equal((await containersOn(second(), p.name)).length, 1, 'on the second engine');
      assert.deepEqual(await containersOn(FIRST, p.name), [], 'not on the first engine');
      assert.equal(await p.readRemote('web', '/app/hello.txt'), 'hello');

      await p.write('src/hello.txt', 'edited');
      await p.write('src/big.txt', 'composync '.repeat(50_000));
      await waitFor(
        async () =>
          (await p.readRemote('web', '/app/hello.txt')) === 'edited' &&
          (await p.exec('web', ['wc', '-c', '/app/big.txt']))?.trim().startsWith('500000') === true,
        { timeoutMs: 30_000, what: `the edits on the ${label} engine`, detail: () => w.output },
      );
      // gzip on remote engines: the 500 kB of repeated text cost a few kB on the wire
      const big = (await waitFor(async () =>
        (await syncLog(p)).find((r) => r.event === 'sync' && (r.bytes ?? 0) >= 500_000),
      ))!;
      assert.equal(big.via, 'archive');
      assert.ok(big.wireBytes! > 0 && big.wireBytes! < 50_000, `wire bytes ${big.wireBytes}`);
      const status = await p.composync(['status', '--json']);
      const rule = (JSON.parse(status.stdout) as { rules: { bytes: number; wireBytes: number }[] })
        .rules[0]!;
      assert.ok(rule.wireBytes > 0 && rule.wireBytes < rule.bytes, status.stdout);
      assert.match((await p.composync(['status'])).stdout, /ON THE WIRE/);
      assert.match(w.output, /↑ .*\(\S+ \S*B sent\)/, 'the screen shows the compressed size');
    } finally {
      assert.equal(await w.stop(), 0, w.output);
      await p.cleanup();
    }
  }

  test('DOCKER_HOST=tcp://: the second engine, archives compressed', async () => {
    await roundTrip('tcp', second(), /engine: tcp:\/\/127\.0\.0\.1:\d+, remote, compression on/);
  });

  test('COMPOSYNC_COMPRESS=off sends plain tar; a bad value is a usage error', async () => {
    const p = await TestProject.create(
      'remote-plain',
      { 'compose.yaml': COMPOSE, 'src/big.txt': 'composync '.repeat(50_000) },
      { dockerEnv: { ...second(), COMPOSYNC_COMPRESS: 'off' } },
    );
    try {
      const r = await p.composync(['up']);
      assert.equal(r.code, 0, r.stderr);
      const rec = (await syncLog(p)).find((x) => x.event === 'sync')!;
      assert.ok(rec.wireBytes! >= 500_000, `uncompressed: ${rec.wireBytes} bytes on the wire`);
      const bad = await p.composync(['sync'], { env: { COMPOSYNC_COMPRESS: 'maybe' } });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /COMPOSYNC_COMPRESS must be auto, on or off/);
    } finally {
      await p.cleanup();
    }
  });

  test('DOCKER_CONTEXT, then the current context of the CLI config', async () => {
    const config = join(scratch, 'docker-config');
    await run('docker', ['context', 'create', 'composync-test', '--docker', `host=${host}`], {
      DOCKER_CONFIG: config,
    });
    await roundTrip(
      'ctx',
      { DOCKER_CONFIG: config, DOCKER_CONTEXT: 'composync-test' },
      /\(context composync-test\), remote/,
    );
    await run('docker', ['context', 'use', 'composync-test'], { DOCKER_CONFIG: config });
    await roundTrip('cur', { DOCKER_CONFIG: config }, /\(context composync-test\), remote/);
  });

  test('ssh:// through the system ssh and `docker system dial-stdio`', async () => {
    const r = await sh('bash', [SCRIPT, 'sshd-start'], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stderr);
    const sshConfig = r.stdout.trim().split('\n').pop()!;
    // Both the docker CLI and composync run `ssh` from PATH: this one uses the test's keys.
    const bin = join(scratch, 'ssh-bin');
    await run('mkdir', ['-p', bin]);
    await writeFile(join(bin, 'ssh'), `#!/bin/sh\nexec /usr/bin/ssh -F '${sshConfig}' "$@"\n`);
    await chmod(join(bin, 'ssh'), 0o755);
    const port = /Port (\d+)/.exec(await readFile(sshConfig, 'utf8'))![1]!;
    await roundTrip(
      'ssh',
      { DOCKER_HOST: `ssh://root@127.0.0.1:${port}`, PATH: `${bin}:${process.env.PATH}` },
      /engine: ssh:\/\/root@127\.0\.0\.1:\d+, remote, compression on/,
    );
  });

  test('TLS: DOCKER_TLS_VERIFY and DOCKER_CERT_PATH', async () => {
    const certs = join(scratch, 'certs');
    await makeCerts(certs);
    const [ca, cert, key] = await Promise.all(
      ['ca.pem', 'server-cert.pem', 'server-key.pem'].map((f) => readFile(join(certs, f))),
    );
    const target = new URL(host);
    // A TLS front for the second engine that demands a client certificate signed by the CA.
    // Half-open both ways: `docker exec` closes its sending side and still reads the output.
    const opts = {
      ca,
      cert,
      key,
      requestCert: true,
      rejectUnauthorized: true,
      allowHalfOpen: true,
    };
    tlsProxy = createServer(opts, (s) => {
      const up = connect({ port: Number(target.port), host: target.hostname, allowHalfOpen: true });
      proxied.add(s).add(up);
      s.on('close', () => proxied.delete(s));
      up.on('close', () => proxied.delete(up));
      s.pipe(up).pipe(s);
      s.on('error', () => up.destroy());
      up.on('error', () => s.destroy());
    });
    await new Promise<void>((r) => tlsProxy!.listen(0, '127.0.0.1', r));
    const port = (tlsProxy.address() as AddressInfo).port;
    const env = {
      DOCKER_HOST: `tcp://127.0.0.1:${port}`,
      DOCKER_TLS_VERIFY: '1',
      DOCKER_CERT_PATH: certs,
    };
    await roundTrip('tls', env, /engine: https:\/\/127\.0\.0\.1:\d+, remote, compression on/);
  });

  test('an engine other than compose’s is refused, nothing synced', async () => {
    // `docker` on the PATH talks to the second engine; composync, told nothing, to the first.
    const bin = join(scratch, 'docker-bin');
    await run('mkdir', ['-p', bin]);
    await writeFile(
      join(bin, 'docker'),
      `#!/bin/sh\nDOCKER_HOST='${host}' exec /usr/bin/docker "$@"\n`,
    );
    await chmod(join(bin, 'docker'), 0o755);
    const p = await TestProject.create(
      'remote-mismatch',
      { 'compose.yaml': COMPOSE, 'src/hello.txt': 'hello' },
      { dockerEnv: second() },
    );
    try {
      const r = await p.composync(['up'], {
        env: { DOCKER_HOST: '', PATH: `${bin}:${process.env.PATH}` },
      });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /composync and docker compose would use different Docker engines/);
      assert.match(r.stderr, new RegExp(`reaches the engine with ID ${secondId}`));
      assert.equal(await p.readRemote('web', '/app/hello.txt'), null, 'nothing synced');
    } finally {
      await p.cleanup();
    }
  });
});

/** A CA, a server certificate for 127.0.0.1 and a client certificate, as the docker docs do. */
async function makeCerts(dir: string): Promise<void> {
  await run('mkdir', ['-p', dir]);
  const o = (args: string[]) => run('openssl', args);
  const p = (f: string) => join(dir, f);
  await o(['genrsa', '-out', p('ca-key.pem'), '2048']);
  await o(
    ['req', '-new', '-x509', '-days', '2', '-key', p('ca-key.pem')].concat([
      '-sha256',
      '-subj',
      '/CN=composync test CA',
      '-out',
      p('ca.pem'),
    ]),
  );
  for (const [name, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'],
    ['client', 'extendedKeyUsage=clientAuth\n'],
  ] as const) {
    await o(['genrsa', '-out', p(`${name}-key.pem`), '2048']);
    await o([
      'req',
      '-new',
      '-key',
      p(`${name}-key.pem`),
      '-subj',
      `/CN=${name}`,
      '-out',
      p(`${name}.csr`),
    ]);
    await writeFile(p(`${name}.ext`), ext);
    await o(
      ['x509', '-req', '-days', '2', '-sha256', '-in', p(`${name}.csr`), '-CA', p('ca.pem')].concat(
        ['-CAkey', p('ca-key.pem'), '-CAcreateserial', '-extfile', p(`${name}.ext`)],
        ['-out', p(`${name}-cert.pem`)],
      ),
    );
  }
  // the names the docker CLI (and composync) look for in DOCKER_CERT_PATH
  await run('cp', [p('client-cert.pem'), p('cert.pem')]);
  await run('cp', [p('client-key.pem'), p('key.pem')]);
}
