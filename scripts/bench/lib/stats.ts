// The arithmetic of the benchmark suite, kept apart so that it can be unit-tested
// (lib/stats.test.ts): percentiles, the median of repeated runs, and the send schedule that
// corrects latency for coordinated omission.

/** Nearest-rank percentile of values sorted ascending (p in 0..100); NaN for an empty array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (p <= 0) return sorted[0]!;
  // the epsilon keeps 99.9 % of 1000 at rank 999 despite floating point (999.0000000000001)
  const rank = Math.ceil((p / 100) * sorted.length - 1e-9);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number;
}

/** Median (the mean of the middle two for an even count), min and max of repeated runs; NaNs dropped. */
export function spread(values: number[]): Spread | null {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return null;
  const mid = finite.length >> 1;
  const median = finite.length % 2 === 1 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
  return { median, min: finite[0]!, max: finite[finite.length - 1]!, runs: finite.length };
}

/**
 * A fixed-rate send schedule. Message i is due at startMs + i * 1000 / ratePerSec. Latency is
 * measured from that due time, not from when the send actually went out: if the client or the
 * broker stalls, the messages that should have been sent during the stall are charged the
 * wait too (Gil Tene's "coordinated omission"; wrk2 and HdrHistogram correct the same way).
 */
export class Schedule {
  private readonly intervalMs: number;

  constructor(
    readonly startMs: number,
    readonly ratePerSec: number,
  ) {
    if (!(ratePerSec > 0)) throw new Error(`rate must be positive, got ${ratePerSec}`);
    this.intervalMs = 1000 / ratePerSec;
  }

  dueMs(index: number): number {
    return this.startMs + index * this.intervalMs;
  }

  /** How many messages are due by nowMs (indices 0 .. n-1). */
  dueCount(nowMs: number): number {
    if (nowMs < this.startMs) return 0;
    return Math.floor((nowMs - this.startMs) / this.intervalMs) + 1;
  }
}

export interface LatencySummary {
  count: number;
  /** Messages due in the window that had not arrived when it closed (counted as lost, not as latency). */
  missing: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** Latency from each message's due time to its arrival; `arrivedMs[i]` NaN = never arrived. */
export function summarizeLatency(schedule: Schedule, arrivedMs: ArrayLike<number>, count: number): LatencySummary {
  const latencies: number[] = [];
  let missing = 0;
  for (let i = 0; i < count; i++) {
    const arrived = arrivedMs[i]!;
    if (Number.isNaN(arrived)) missing++;
    else latencies.push(arrived - schedule.dueMs(i));
  }
  const sorted = Float64Array.from(latencies).sort();
  return {
    count: latencies.length,
    missing,
    p50Ms: round3(percentile(sorted, 50)),
    p99Ms: round3(percentile(sorted, 99)),
    p999Ms: round3(percentile(sorted, 99.9)),
    maxMs: round3(percentile(sorted, 100)),
  };
}

export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** a / b rounded to two places, or null when either side is missing or b is 0. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a == null || b == null || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return Math.round((a / b) * 100) / 100;
}
