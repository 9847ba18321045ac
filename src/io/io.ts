// The world as Bolide sees it: time and randomness are handed in, so that tests and a future
// simulator can replace them with seeded fakes. `realIo` is wired by src/main.ts.
export interface Clock {
  /** Milliseconds on a clock that never goes backwards: for timeouts and intervals. */
  monotonicMs(): number;
  /** Wall-clock milliseconds since the epoch: for timestamps stored in messages. */
  realtimeMs(): number;
}
export interface Random {
  /** A uniformly random integer in [0, bound). */
  below(bound: number): number;
}
/** One-shot timers, so that a test can run time-driven services on a fake clock. */
export interface Timers {
  set(callback: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}
export interface Io {
  clock: Clock;
  random: Random;
  /** Absent: the runtime's setTimeout. */
  timers?: Timers;
}

export const realTimers: Timers = {
  set: (callback, delayMs) => setTimeout(callback, delayMs),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export const realIo: Io = {
  clock: { monotonicMs: () => performance.now(), realtimeMs: () => Date.now() },
  random: { below: (bound) => Math.floor(Math.random() * bound) },
};

/** A small seeded PRNG (xorshift32) for tests, fuzzers and simulation. */
export class Prng implements Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  u32(): number {
    let x = this.state;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.state = x;
    return x;
  }
  below(bound: number): number {
    return this.u32() % bound;
  }
}
