/**
 * Fan-out: 20 services x 3 replicas of composync/busybox share one source; one edit must reach
 * all 60 containers with a bounded number of engine calls in flight, and paused (stuck) or
 * killed replicas must not hold back the others.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CliProcess, docker, sh, TestProject, waitFor } from './helpers.js';

const SERVICES = 20;
const REPLICAS = 3;
/** The engine adapter's default bound (DEFAULT_MAX_CONCURRENT_CALLS). */
const BOUND = 12;

const names = Array.from({ length: SERVICES }, (_, i) => `s${String(i + 1).padStart(2, '0')}`);

function composeFile(): string {
  const svc = (n: string) => `  ${n}:
    image: composync/busybox
    command: ["sleep", "2147483647"]
    init: true
    deploy:
      replicas: ${REPLICAS}
    x-sync:
      - source: ./src
        target: /app
`;
  return `services:\n${names.map(svc).join('')}`;
}

describe('fan-out into 20 services x 3 replicas', { timeout: 600_000 }, () => {
  let p: TestProject;
  let w: CliProcess;
  /** container id by `service-index` */
  const ids = new Map<string, string>();

  /** `cat` a file in many containers at once; returns id -> content (null when unreadable). */
  async function readAll(list: string[], path: string): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    let next = 0;
    const worker = async () => {
      while (next < list.length) {
        const id = list[next++]!;
        const r = await sh('docker', ['exec', id, 'cat', path]);
        out.set(id, r.code === 0 ? r.stdout : null);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return out;
  }

  before(async () => {
    p = await TestProject.create('fanout', {
      'compose.yaml': composeFile(),
      'src/hello.txt': 'v1',
    });
    w = p.spawn(['--debug', 'up', '--watch', '--no-logs']);
    await w.waitForOutput(/watching \d+ rules/, 400_000);
    for (const s of names)
      for (let i = 1; i <= REPLICAS; i++) ids.set(`${s}-${i}`, await p.container(s, i));
  });

  after(async () => {
    for (const id of ids.values()) await sh('docker', ['unpause', id]);
    await w?.stop();
    await p?.cleanup();
  });

  test('the initial sync reached all 60 containers', async () => {
    assert.equal(ids.size, SERVICES * REPLICAS);
    const got = await readAll([...ids.values()], '/app/hello.txt');
    const missing = [...ids].filter(([, id]) => got.get(id) !== 'v1').map(([k]) => k);
    assert.deepEqual(missing, []);
  });

  test('one edit reaches every replica while some are paused and one is killed', async (t) => {
    // A different replica in each of six services: the order in which a service's replicas
    // are written is not known, and a paused one must not hold back any of its siblings.
    const paused = names.slice(0, 6).map((s, i) => ids.get(`${s}-${(i % REPLICAS) + 1}`)!);
    const killed = ids.get('s10-3')!;
    for (const id of paused) await docker(['pause', id]);
    const mark = w.output.length;
    const t0 = Date.now();
    await p.write('src/hello.txt', 'v2');
    // mid-way: the batch is under way when this replica dies
    await docker(['kill', killed]);
    const others = [...ids].filter(([, id]) => !paused.includes(id) && id !== killed);
    let pending = others;
    // Well under the 30 s after which a stuck tar session is given up: a replica written after
    // the paused one, in turn, would still be waiting.
    await waitFor(
      async () => {
        const got = await readAll(
          pending.map(([, id]) => id),
          '/app/hello.txt',
        );
        pending = pending.filter(([, id]) => got.get(id) !== 'v2');
        return pending.length === 0;
      },
      {
        timeoutMs: 20_000,
        intervalMs: 100,
        what: 'v2 in every running, unpaused replica',
        detail: () => `still v1: ${pending.map(([k]) => k).join(' ')}\n${w.output.slice(mark)}`,
      },
    );
    t.diagnostic(`${others.length} replicas had the edit after ${Date.now() - t0} ms`);

    // The bound held while 60 writes wanted to go at once, and calls did overlap.
    const inFlight = [...w.output.slice(mark).matchAll(/, (\d+) in flight, (\d+) waiting\)/g)];
    assert.ok(inFlight.length > 0, 'the --debug output lists engine calls');
    const peak = Math.max(...inFlight.map((m) => Number(m[1])));
    const queued = Math.max(...inFlight.map((m) => Number(m[2])));
    t.diagnostic(`peak engine calls in flight: ${peak}, most waiting: ${queued}`);
    assert.ok(peak <= BOUND, `at most ${BOUND} calls in flight, saw ${peak}`);
    assert.ok(peak > 1, 'calls into different containers overlap');
    assert.ok(queued > 0, 'some calls waited for a slot');

    // The paused replicas catch up once they run again, the killed one when it starts.
    for (const id of paused) await docker(['unpause', id]);
    await docker(['start', killed]);
    await waitFor(
      async () => {
        const got = await readAll([...paused, killed], '/app/hello.txt');
        return [...got.values()].every((v) => v === 'v2');
      },
      { timeoutMs: 60_000, what: 'v2 in the paused and the restarted replicas' },
    );
    assert.equal(w.exitCode, null, 'the watcher is still running');
  });
});
