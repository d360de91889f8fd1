/**
 * Debounced batching of change keys (watch events): a batch is emitted once the keys stop
 * coming for `debounce` ms, and at the latest `maxWait` ms after its first key. With a leading
 * edge, the first keys after an idle period go out after a much shorter window when the batch
 * says it may (an edit of a file already synced), and what follows is batched as usual. Pure
 * apart from the injected clock, so tests advance time instead of sleeping.
 */
import { performance } from 'node:perf_hooks';

/** The time source and timers a {@link Batcher} uses. */
export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock: monotonic time and Node's timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** What a batch collects its events into: a Set of keys by default, or a typed accumulator. */
export interface Accumulator<K> {
  add(key: K): unknown;
  readonly size: number;
}

/** How a {@link Batcher} cuts batches and where it sends them. */
export interface BatcherOptions<K, B extends Accumulator<K> = Set<K>> {
  /** Milliseconds without a new key before the batch is emitted. */
  debounce: number;
  /**
   * Milliseconds after the first key of a batch at which it is emitted even while keys keep
   * coming. `Infinity` disables the cap.
   */
  maxWait: number;
  /**
   * Receives each batch (never empty). Called from a timer or from {@link Batcher.flush};
   * keys added while it runs start the next batch. When it returns a promise, the batch counts
   * as running until that settles: keys arriving meanwhile gather into one next batch, emitted
   * once it settled (at once when its quiet period or maxWait has already passed), rather than
   * into many small ones queued behind it.
   */
  onBatch(batch: B): unknown;
  /** A new, empty batch (default: a Set, in which duplicate keys collapse). */
  create?: () => B;
  /**
   * The leading edge: the first key after an idle period (no key for `debounce` ms and no
   * batch running) makes the batch due `leading.ms` after it, instead of after the quiet
   * period, if `leading.eager(batch)` says so then; otherwise the batch waits for quiet as
   * usual. Keys that come after a leading batch are batched as usual. Off when absent.
   */
  leading?: { ms: number; eager(batch: B): boolean };
  clock?: Clock;
}

/** Collects keys into batches; duplicate keys within a batch collapse. */
export class Batcher<K, B extends Accumulator<K> = Set<K>> {
  private readonly debounce: number;
  private readonly maxWait: number;
  private readonly onBatch: (batch: B) => unknown;
  private readonly create: () => B;
  private readonly leading: BatcherOptions<K, B>['leading'];
  private readonly clock: Clock;
  private keys: B;
  private firstAt = 0;
  private lastAt = -Infinity;
  /** The current batch started after an idle period and its leading window is open. */
  private leadingOpen = false;
  /** Batches handed out whose promise has not settled yet. */
  private running = 0;
  private timer: unknown = undefined;
  private disposed = false;

  constructor(opts: BatcherOptions<K, B>) {
    this.debounce = Math.max(0, opts.debounce);
    this.maxWait = Math.max(0, opts.maxWait);
    this.onBatch = opts.onBatch;
    this.create = opts.create ?? (() => new Set<K>() as unknown as B);
    this.leading = opts.leading;
    this.keys = this.create();
    this.clock = opts.clock ?? systemClock;
  }

  /** Keys waiting in the current batch. */
  get pending(): number {
    return this.keys.size;
  }

  /** Nothing pending and no batch running: the next key starts an idle period's batch. */
  get idle(): boolean {
    return this.keys.size === 0 && this.running === 0;
  }

  /**
   * Add a key to the current batch and restart the quiet period (a repeated key counts as
   * activity too: the file is still being written). Ignored after {@link Batcher.dispose}.
   */
  add(key: K): void {
    if (this.disposed) return;
    const now = this.clock.now();
    if (this.keys.size === 0) {
      this.firstAt = now;
      this.leadingOpen =
        this.leading !== undefined && this.running === 0 && now - this.lastAt >= this.debounce;
    }
    this.keys.add(key);
    this.lastAt = now;
    if (this.running > 0) return;
    if (this.leadingOpen) {
      // the window runs from the first key; later keys in it join the batch
      if (this.timer === undefined) this.schedule(this.leading!.ms, () => this.leadingDue());
      return;
    }
    this.scheduleDue();
  }

  /** Emit the current batch now (nothing happens when it is empty). */
  flush(): void {
    this.cancel();
    this.leadingOpen = false;
    if (this.keys.size === 0) return;
    const batch = this.keys;
    this.keys = this.create();
    const result = this.onBatch(batch) as PromiseLike<unknown> | undefined;
    if (typeof result?.then === 'function') {
      this.running++;
      const settled = () => {
        this.running--;
        if (this.running === 0 && this.keys.size > 0 && !this.disposed) this.scheduleDue();
      };
      result.then(settled, settled);
    }
  }

  /** Drop pending keys and stop: later keys are ignored and nothing more is emitted. */
  dispose(): void {
    this.disposed = true;
    this.cancel();
    this.keys = this.create();
  }

  /** Emit when the quiet period after the last key ends, or at maxWait after the first. */
  private scheduleDue(): void {
    const now = this.clock.now();
    const due = Math.min(this.lastAt + this.debounce, this.firstAt + this.maxWait);
    this.schedule(Math.max(0, due - now));
  }

  /** The leading window ended: send the batch now if it may go early, else wait for quiet. */
  private leadingDue(): void {
    this.leadingOpen = false;
    if (this.keys.size === 0) return;
    if (this.leading!.eager(this.keys)) this.flush();
    else this.scheduleDue();
  }

  private schedule(ms: number, fn: () => void = () => this.flush()): void {
    this.cancel();
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      fn();
    }, ms);
  }

  private cancel(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
