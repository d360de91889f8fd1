/**
 * composync against a remote engine: the second dockerd of scripts/second-engine.sh, reached
 * over DOCKER_HOST=tcp://127.0.0.1:PORT, with gzip on (COMPOSYNC_COMPRESS=on, what `auto` does
 * for tcp://) and off.
 *
 *   L1  one-file edit latency: write a 1 kB source file, time until the in-container probe
 *       (bench/probe.ts) reads the new content; p50 / p95 over the samples.
 *   B1  2,000 files of 4 kB in 50 directories written at once into an empty target (a fresh
 *       project per run); time until all are complete in the container. Once with source-like
 *       text (gzip makes it about 5x smaller), once with random bytes (nothing to gain: the cost
 *       of gzip alone).
 *
 * Each runs twice: straight to the engine's loopback port (no bandwidth limit: what gzip costs
 * in CPU), and through a relay limited to LINK_MBIT each way (a remote engine behind a modest
 * link: what gzip saves). Bytes on the wire are the `wireBytes` of the sync log records.
 *
 *   npx tsc -p . && node dist/bench/remote.js [--quick]   → bench/results/remote.json
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { distribution, round, sha1, sleep, type Distribution } from './lib.js';
import { LongRunning } from './stack.js';
import { now, Probe, type Expected } from './probe-client.js';

const execFileAsync = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(repoRoot, 'bin', 'composync.js');
const quick = process.argv.includes('--quick');
const L1_SAMPLES = quick ? 10 : 60;
const B1_RUNS = quick ? 1 : 3;
const B1_DIRS = 50;
const B1_FILES = 2000;
const B1_SIZE = 4096;
const TARGET = '/data';
/** The bandwidth of the slow link (each way). */
const LINK_MBIT = 20;

interface SyncRecord {
  event: string;
  files?: number;
  bytes?: number;
  wireBytes?: number;
}

interface L1 {
  samples: number;
  ms: Distribution;
  /** Per edit: content bytes, and bytes sent to the engine. */
  bytes: number;
  wireBytes: number;
}

interface B1 {
  content: 'text' | 'random';
  runs: number[];
  medianMs: number;
  bytes: number;
  wireBytes: number;
}

interface ModeResult {
  /** `loopback`: straight to the engine's port; else through a bandwidth-limited relay. */
  link: string;
  compress: 'on' | 'off';
  L1: L1;
  B1: B1[];
}

const WORDS = (
  'const let return function import export from async await if else for of new this class ' +
  'extends interface type string number boolean null undefined true false map filter reduce ' +
  'push length value key result error options config request response handler service user ' +
  'item index count total data state props render update create delete find path file'
).split(' ');

/** Source-like text: lines of identifiers and punctuation from a seeded generator. */
function sourceText(seed: number, size: number): Buffer {
  let x = seed * 2654435761 + 1;
  const rnd = (n: number) => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x % n;
  };
  let out = `// file ${seed}\n`;
  while (out.length < size) {
    const indent = '  '.repeat(rnd(4));
    const n = 3 + rnd(8);
    const words = Array.from({ length: n }, () => WORDS[rnd(WORDS.length)]!);
    out += `${indent}${words.join(rnd(3) ? ' ' : '.')}(${rnd(1000)});\n`;
  }
  return Buffer.from(out.slice(0, size));
}

/** Never synchronous: the slow link's relay runs in this process and must keep pumping. */
async function docker(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const { stdout } = await execFileAsync('docker', args, { encoding: 'utf8', ...opts });
  return stdout.trim();
}

async function syncRecords(dir: string): Promise<SyncRecord[]> {
  const text = await readFile(join(dir, '.composync/logs/sync.log'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SyncRecord)
    .filter((r) => r.event === 'sync');
}

const sum = (rs: SyncRecord[], k: 'bytes' | 'wireBytes') => rs.reduce((n, r) => n + (r[k] ?? 0), 0);

/**
 * A TCP relay to the engine that passes at most `mbit` megabits per second each way: a remote
 * engine behind a modest link, without touching the machine's network configuration.
 */
async function slowLink(engine: URL, mbit: number): Promise<{ host: string; close(): void }> {
  const bytesPerMs = (mbit * 1e6) / 8 / 1000;
  const throttle = () => {
    let free = 0;
    return new Transform({
      transform(chunk: Buffer, _enc, cb) {
        const push = async () => {
          for (let at = 0; at < chunk.length; at += 16 * 1024) {
            const piece = chunk.subarray(at, at + 16 * 1024);
            const t = now();
            free = Math.max(free, t) + piece.length / bytesPerMs;
            if (free - t > 1) await sleep(free - t);
            this.push(piece);
          }
        };
        push().then(() => cb(), cb);
      },
    });
  };
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const up = connect({ host: engine.hostname, port: Number(engine.port), allowHalfOpen: true });
    for (const s of [client, up]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => (s === up ? client : up).destroy());
    }
    client.pipe(throttle()).pipe(up);
    up.pipe(throttle()).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

interface Watching {
  dir: string;
  probe: Probe;
}

/**
 * A fresh project (its own container, empty target) with `composync up --watch` running and
 * the probe in its container, for one measurement.
 */
async function withWatcher<T>(
  host: string,
  tag: string,
  compress: 'on' | 'off',
  fn: (w: Watching) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), `composync-bench-remote-${tag}-`));
  const project = `csbench-remote-${tag}-${process.pid}`;
  await writeFile(
    join(dir, 'compose.yaml'),
    `services:
  app:
    image: composync/node
    command: ["sleep", "2147483647"]
    init: true
    x-sync:
      - source: ./src
        target: ${TARGET}
`,
  );
  await mkdir(join(dir, 'src/l1'), { recursive: true });
  await writeFile(join(dir, 'src/l1/edit.ts'), sourceText(0, 1024));
  const env = {
    ...process.env,
    DOCKER_HOST: host,
    COMPOSE_PROJECT_NAME: project,
    COMPOSYNC_COMPRESS: compress,
    NO_COLOR: '1',
  };
  const watcher = new LongRunning(process.execPath, [cli, 'up', '--watch', '--no-logs'], {
    cwd: dir,
    env,
  });
  let probe: Probe | undefined;
  try {
    for (let waited = 0; !/watching \d+ rules?/.test(watcher.output); waited += 50) {
      if (waited > 180_000 || watcher.child.exitCode !== null)
        throw new Error(`composync did not start:\n${watcher.output}`);
      await sleep(50);
    }
    probe = await Probe.start(await docker(['compose', '-p', project, 'ps', '-q', 'app']));
    return await fn({ dir, probe });
  } finally {
    probe?.close();
    watcher.child.kill('SIGINT');
    await new Promise((r) => watcher.child.once('close', r));
    await docker(['compose', '-p', project, 'down', '-t', '0'], { cwd: dir, env }).catch(
      () => undefined,
    );
    await rm(dir, { recursive: true, force: true });
  }
}

async function measureL1({ dir, probe }: Watching): Promise<L1> {
  const times: number[] = [];
  const before = (await syncRecords(dir)).length;
  for (let i = 1; i <= L1_SAMPLES; i++) {
    const buf = sourceText(i, 1024);
    const want: Expected = { path: `${TARGET}/l1/edit.ts`, size: buf.length, sha1: sha1(buf) };
    const armed = await probe.arm([want], { timeoutMs: 30_000 });
    const t0 = now();
    await writeFile(join(dir, 'src/l1/edit.ts'), buf);
    const got = await armed.done;
    if (!got.ok) throw new Error(`L1 edit ${i} did not arrive`);
    times.push(got.t - t0);
    await sleep(100);
  }
  await sleep(300);
  const records = (await syncRecords(dir)).slice(before);
  return {
    samples: times.length,
    ms: distribution(times),
    bytes: round(sum(records, 'bytes') / L1_SAMPLES, 0),
    wireBytes: round(sum(records, 'wireBytes') / L1_SAMPLES, 0),
  };
}

/** One B1 burst into an empty target: ms until all files are complete, bytes, wire bytes. */
async function measureB1({ dir, probe }: Watching, kind: 'text' | 'random', seed: number) {
  const files: { rel: string; buf: Buffer }[] = [];
  for (let i = 0; i < B1_FILES; i++) {
    const rel = `b1/d${String(i % B1_DIRS).padStart(2, '0')}/f${i}.ts`;
    const buf = kind === 'text' ? sourceText(i + seed * B1_FILES, B1_SIZE) : randomBytes(B1_SIZE);
    files.push({ rel, buf });
  }
  for (let d = 0; d < B1_DIRS; d++)
    await mkdir(join(dir, 'src/b1', `d${String(d).padStart(2, '0')}`), { recursive: true });
  const mark = (await syncRecords(dir)).length;
  const armed = await probe.arm(
    files.map((f) => ({ path: `${TARGET}/${f.rel}`, size: f.buf.length, sha1: sha1(f.buf) })),
    { sizeOnly: true, timeoutMs: 180_000 },
  );
  const t0 = now();
  for (const f of files) await writeFile(join(dir, 'src', f.rel), f.buf);
  const got = await armed.done;
  if (!got.ok) throw new Error(`B1 ${kind}: not every file arrived intact`);
  const ms = got.t - t0;
  await sleep(500);
  const records = (await syncRecords(dir)).slice(mark);
  return { ms, bytes: sum(records, 'bytes'), wireBytes: sum(records, 'wireBytes') };
}

async function runMode(host: string, link: string, compress: 'on' | 'off'): Promise<ModeResult> {
  const tag = `${link.replace(/\W+/g, '').toLowerCase()}-${compress}`;
  const L1 = await withWatcher(host, `${tag}-l1`, compress, measureL1);
  const b1: B1[] = [];
  for (const kind of ['text', 'random'] as const) {
    const runs: { ms: number; bytes: number; wireBytes: number }[] = [];
    for (let r = 0; r < B1_RUNS; r++)
      runs.push(
        await withWatcher(host, `${tag}-${kind}${r}`, compress, (w) => measureB1(w, kind, r)),
      );
    const ms = runs.map((x) => x.ms);
    b1.push({
      content: kind,
      runs: ms.map((x) => round(x)),
      medianMs: round([...ms].sort((a, b) => a - b)[Math.floor(ms.length / 2)]!),
      bytes: round(runs.reduce((n, x) => n + x.bytes, 0) / runs.length, 0),
      wireBytes: round(runs.reduce((n, x) => n + x.wireBytes, 0) / runs.length, 0),
    });
  }
  return { link, compress, L1, B1: b1 };
}

async function main(): Promise<void> {
  // exit 3: it was already running
  const start = spawnSync(
    'bash',
    [join(repoRoot, 'scripts/second-engine.sh'), 'start', 'composync/node'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (start.status !== 0 && start.status !== 3)
    throw new Error(`second-engine.sh start failed (${start.status})`);
  const host = /DOCKER_HOST=(\S+)/.exec(start.stdout)![1]!;
  // the probe runs `docker exec` with this environment
  process.env.DOCKER_HOST = host;
  const engine = await docker(['version', '--format', '{{.Server.Version}}']);
  const modes: ModeResult[] = [];
  for (const link of ['loopback', `${LINK_MBIT} Mbit/s`]) {
    const relay = link === 'loopback' ? undefined : await slowLink(new URL(host), LINK_MBIT);
    // the probe's `docker exec` goes the same way
    process.env.DOCKER_HOST = relay?.host ?? host;
    try {
      for (const compress of ['on', 'off'] as const) {
        process.stderr.write(`bench: remote over ${link}, compression ${compress}\n`);
        modes.push(await runMode(relay?.host ?? host, link, compress));
      }
    } finally {
      relay?.close();
    }
  }
  const result = {
    when: new Date().toISOString(),
    quick,
    engine: { version: engine, endpoint: host },
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '' },
    sizes: {
      l1Samples: L1_SAMPLES,
      b1Runs: B1_RUNS,
      b1Files: B1_FILES,
      b1Dirs: B1_DIRS,
      b1Size: B1_SIZE,
    },
    modes,
  };
  const out = join(repoRoot, 'bench', 'results', quick ? 'remote-quick.json' : 'remote.json');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify(result, null, 2) + '\n');
  const kb = (n: number) => `${round(n / 1024)} kB`;
  console.log('| link | workload | gzip | time | bytes | on the wire |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const m of modes) {
    console.log(
      `| ${m.link} | L1 one 1 kB edit | ${m.compress} | p50 ${round(m.L1.ms.p50)} ms, p95 ${round(m.L1.ms.p95)} ms | ` +
        `${kb(m.L1.bytes)} | ${kb(m.L1.wireBytes)} |`,
    );
    for (const b of m.B1)
      console.log(
        `| ${m.link} | B1 2,000 x 4 kB, ${b.content} | ${m.compress} | ${b.medianMs} ms (runs ${b.runs.join(', ')}) | ` +
          `${kb(b.bytes)} | ${kb(b.wireBytes)} |`,
      );
  }
  console.log(`written: ${out}`);
}

await main();
