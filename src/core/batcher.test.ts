import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Batcher, systemClock, type Clock } from './batcher.js';

/** A clock whose time only moves when the test says so. */
class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Move time to `to`, running due timers in order (each at its own time). */
  advanceTo(to: number): void {
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (!next || e[1].at < next[1].at) next = e;
      if (!next || next[1].at > to) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = to;
  }
}

type Step = { at: number; add?: string[]; flush?: true; dispose?: true };

function run(
  debounce: number,
  maxWait: number,
  steps: Step[],
  until: number,
): Array<{ at: number; keys: string[] }> {
  const clock = new FakeClock();
  const out: Array<{ at: number; keys: string[] }> = [];
  const b = new Batcher<string>({
    debounce,
    maxWait,
    clock,
    onBatch: (keys) => out.push({ at: clock.now(), keys: [...keys].sort() }),
  });
  for (const s of steps) {
    clock.advanceTo(s.at);
    for (const k of s.add ?? []) b.add(k);
    if (s.flush) b.flush();
    if (s.dispose) b.dispose();
  }
  clock.advanceTo(until);
  return out;
}

describe('Batcher', () => {
  const cases: Array<{
    name: string;
    debounce: number;
    maxWait: number;
    steps: Step[];
    until?: number;
    want: Array<{ at: number; keys: string[] }>;
  }> = [
    {
      name: 'one key is emitted after the quiet period',
      debounce: 5,
      maxWait: 250,
      steps: [{ at: 0, add: ['a'] }],
      want: [{ at: 5, keys: ['a'] }],
    },
    {
      name: 'keys within the quiet period join one batch; duplicates collapse',
      debounce: 5,
      maxWait: 250,
      steps: [
        { at: 0, add: ['a'] },
        { at: 3, add: ['b', 'a'] },
        { at: 7, add: ['a'] },
      ],
      want: [{ at: 12, keys: ['a', 'b'] }],
    },
    {
      name: 'a gap longer than the quiet period splits batches',
      debounce: 5,
      maxWait: 250,
      steps: [
        { at: 0, add: ['a'] },
        { at: 10, add: ['b'] },
      ],
      want: [
        { at: 5, keys: ['a'] },
        { at: 15, keys: ['b'] },
      ],
    },
    {
      name: 'a steady stream is cut at maxWait after the first key',
      debounce: 10,
      maxWait: 25,
      steps: [0, 5, 10, 15, 20, 25, 30, 35].map((at) => ({ at, add: [`k${at}`] })),
      want: [
        { at: 25, keys: ['k0', 'k10', 'k15', 'k20', 'k5'] },
        { at: 45, keys: ['k25', 'k30', 'k35'] },
      ],
    },
    {
      name: 'maxWait shorter than debounce wins',
      debounce: 100,
      maxWait: 20,
      steps: [{ at: 0, add: ['a'] }],
      want: [{ at: 20, keys: ['a'] }],
    },
    {
      name: 'zero debounce emits on the next timer tick',
      debounce: 0,
      maxWait: 250,
      steps: [
        { at: 0, add: ['a', 'b'] },
        { at: 1, add: ['c'] },
      ],
      want: [
        { at: 0, keys: ['a', 'b'] },
        { at: 1, keys: ['c'] },
      ],
    },
    {
      name: 'Infinity maxWait waits for quiet',
      debounce: 10,
      maxWait: Infinity,
      steps: [0, 8, 16, 24, 32].map((at) => ({ at, add: [`k${at}`] })),
      want: [{ at: 42, keys: ['k0', 'k16', 'k24', 'k32', 'k8'] }],
    },
    {
      name: 'flush emits at once and the next key starts a new batch',
      debounce: 5,
      maxWait: 250,
      steps: [
        { at: 0, add: ['a'] },
        { at: 2, flush: true },
        { at: 3, add: ['b'] },
      ],
      want: [
        { at: 2, keys: ['a'] },
        { at: 8, keys: ['b'] },
      ],
    },
    {
      name: 'flush with nothing pending emits nothing',
      debounce: 5,
      maxWait: 250,
      steps: [{ at: 0, flush: true }],
      want: [],
    },
    {
      name: 'dispose drops pending keys and ignores later ones',
      debounce: 5,
      maxWait: 250,
      steps: [
        { at: 0, add: ['a'] },
        { at: 2, dispose: true },
        { at: 3, add: ['b'] },
        { at: 4, flush: true },
      ],
      want: [],
    },
  ];

  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(run(c.debounce, c.maxWait, c.steps, c.until ?? 1000), c.want);
    });
  }

  test('keys added from inside onBatch start the next batch', () => {
    const clock = new FakeClock();
    const out: string[][] = [];
    const b: Batcher<string> = new Batcher<string>({
      debounce: 5,
      maxWait: 50,
      clock,
      onBatch: (keys) => {
        out.push([...keys]);
        if (keys.has('a')) b.add('again');
      },
    });
    b.add('a');
    clock.advanceTo(100);
    assert.deepEqual(out, [['a'], ['again']]);
    assert.equal(b.pending, 0);
  });

  /** A batcher whose batches run until the test settles them. */
  function gated(debounce: number, maxWait: number) {
    const clock = new FakeClock();
    const out: Array<{ at: number; keys: string[] }> = [];
    const settle: Array<(ok: boolean) => void> = [];
    const b = new Batcher<string>({
      debounce,
      maxWait,
      clock,
      onBatch: (keys) => {
        out.push({ at: clock.now(), keys: [...keys].sort() });
        return new Promise<void>((resolve, reject) =>
          settle.push((ok) => (ok ? resolve() : reject(new Error('batch failed')))),
        );
      },
    });
    const finish = async (ok = true) => {
      settle.shift()!(ok);
      await new Promise((r) => setImmediate(r));
    };
    return { clock, out, b, finish };
  }

  test('while a batch runs, keys gather into one batch, emitted at once when it settles', async () => {
    const { clock, out, b, finish } = gated(5, 50);
    b.add('a');
    clock.advanceTo(5);
    b.add('b');
    clock.advanceTo(20);
    b.add('c');
    clock.advanceTo(100); // past the quiet period and maxWait: still held
    assert.deepEqual(out, [{ at: 5, keys: ['a'] }]);
    await finish();
    clock.advanceTo(100);
    assert.deepEqual(out, [
      { at: 5, keys: ['a'] },
      { at: 100, keys: ['b', 'c'] },
    ]);
  });

  test('a batch that settles within the quiet period of the next keys waits for it', async () => {
    const { clock, out, b, finish } = gated(5, 50);
    b.add('a');
    clock.advanceTo(5);
    clock.advanceTo(6);
    b.add('b');
    clock.advanceTo(7);
    await finish(false); // a failed batch releases the batcher too
    clock.advanceTo(10);
    assert.equal(out.length, 1);
    clock.advanceTo(20);
    assert.deepEqual(out, [
      { at: 5, keys: ['a'] },
      { at: 11, keys: ['b'] },
    ]);
  });

  test('flush emits even while a batch runs (stop drains everything)', async () => {
    const { clock, out, b, finish } = gated(5, 50);
    b.add('a');
    clock.advanceTo(5);
    b.add('b');
    b.flush();
    assert.deepEqual(out, [
      { at: 5, keys: ['a'] },
      { at: 5, keys: ['b'] },
    ]);
    await finish();
    await finish();
    clock.advanceTo(100);
    assert.equal(out.length, 2);
  });

  test('leaves no timer behind after a batch, flush or dispose', () => {
    const clock = new FakeClock();
    const b = new Batcher<number>({ debounce: 5, maxWait: 50, clock, onBatch: () => {} });
    b.add(1);
    assert.equal(clock.pendingTimers, 1);
    clock.advanceTo(10);
    assert.equal(clock.pendingTimers, 0);
    b.add(2);
    b.flush();
    assert.equal(clock.pendingTimers, 0);
    b.add(3);
    b.dispose();
    assert.equal(clock.pendingTimers, 0);
  });

  test('the system clock is monotonic and its timers fire', async () => {
    const t0 = systemClock.now();
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 0));
    assert.ok(systemClock.now() >= t0);
    let fired = false;
    const h = systemClock.setTimeout(() => (fired = true), 0);
    systemClock.clearTimeout(h);
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 1));
    assert.equal(fired, false);
  });
});

describe('Batcher leading edge', () => {
  /** Keys starting with 'e' may go early (an edit of a synced file); anything else may not. */
  function leading(steps: Step[], until: number, opts: { running?: boolean } = {}) {
    const clock = new FakeClock();
    const out: Array<{ at: number; keys: string[] }> = [];
    const asked: string[][] = [];
    const b = new Batcher<string>({
      debounce: 5,
      maxWait: 250,
      clock,
      leading: {
        ms: 1,
        eager: (keys) => {
          asked.push([...keys].sort());
          return [...keys].every((k) => k.startsWith('e'));
        },
      },
      onBatch: (keys) => {
        out.push({ at: clock.now(), keys: [...keys].sort() });
        return opts.running ? new Promise(() => undefined) : undefined;
      },
    });
    for (const s of steps) {
      clock.advanceTo(s.at);
      for (const k of s.add ?? []) b.add(k);
    }
    clock.advanceTo(until);
    return { out, asked };
  }

  test('the first edit after an idle period goes after the leading window, not the quiet period', () => {
    const { out } = leading([{ at: 0, add: ['e1'] }], 50);
    assert.deepEqual(out, [{ at: 1, keys: ['e1'] }]);
  });

  test('keys inside the leading window join its batch', () => {
    const { out } = leading(
      [
        { at: 0, add: ['e1'] },
        { at: 0.5, add: ['e2', 'e1'] },
      ],
      50,
    );
    assert.deepEqual(out, [{ at: 1, keys: ['e1', 'e2'] }]);
  });

  test('a batch that may not go early waits for quiet, counted from its last key', () => {
    const { out, asked } = leading(
      [
        { at: 0, add: ['e1'] },
        { at: 0.5, add: ['n1'] },
      ],
      50,
    );
    assert.deepEqual(asked, [['e1', 'n1']]);
    assert.deepEqual(out, [{ at: 5.5, keys: ['e1', 'n1'] }]);
  });

  test('what follows a leading batch is batched as usual (the quiet period)', () => {
    const { out } = leading(
      [
        { at: 0, add: ['e1'] },
        { at: 2, add: ['e2'] },
        { at: 4, add: ['e3'] },
      ],
      50,
    );
    assert.deepEqual(out, [
      { at: 1, keys: ['e1'] },
      { at: 9, keys: ['e2', 'e3'] },
    ]);
  });

  test('after a quiet period longer than debounce, the next edit goes early again', () => {
    const { out } = leading(
      [
        { at: 0, add: ['e1'] },
        { at: 20, add: ['e2'] },
      ],
      50,
    );
    assert.deepEqual(out, [
      { at: 1, keys: ['e1'] },
      { at: 21, keys: ['e2'] },
    ]);
  });

  test('keys arriving while a batch runs are held, never sent early', () => {
    const { out, asked } = leading(
      [
        { at: 0, add: ['e1'] },
        { at: 30, add: ['e2'] },
      ],
      100,
      { running: true },
    );
    assert.deepEqual(out, [{ at: 1, keys: ['e1'] }]);
    assert.deepEqual(asked, [['e1']]);
  });
});
