/**
 * ThroughputSampler (src/ops/dashboard/throughput.ts): messages and bytes in and out per second
 * over the last few minutes, for the dashboard's live chart. Every intervalMs it reads the running
 * totals the broker keeps in Metrics (one increment per send or pull request) and keeps the rate
 * since the previous sample, in a ring of pointsMax entries: a page opened now shows history at
 * once, and polling /api/throughput costs nothing on the hot paths.
 */
import { assert } from "../../assert.ts";

export interface ThroughputTotals {
  messagesIn: number;
  bytesIn: number;
  messagesOut: number;
  bytesOut: number;
}

/** One sample: time (ms since the epoch) and per-second rates over the interval before it. */
export interface ThroughputPoint {
  t: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
}

export class ThroughputSampler {
  private readonly points: ThroughputPoint[] = [];
  private last: ThroughputTotals & { t: number };
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly totals: ThroughputTotals,
    private readonly nowMs: () => number,
    readonly intervalMs = 1000,
    readonly pointsMax = 300,
  ) {
    assert(intervalMs > 0, "sample interval must be positive");
    assert(pointsMax > 1, "keep at least two points");
    this.last = { ...totals, t: nowMs() };
  }

  start(): void {
    assert(this.timer === null, "throughput sampler started twice");
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Takes one sample now (the timer's job; tests call it directly). */
  sample(): void {
    const t = this.nowMs();
    const seconds = Math.max(t - this.last.t, 1) / 1000;
    const rate = (now: number, before: number): number => Math.max(0, now - before) / seconds;
    this.points.push({
      t,
      messagesIn: rate(this.totals.messagesIn, this.last.messagesIn),
      messagesOut: rate(this.totals.messagesOut, this.last.messagesOut),
      bytesIn: rate(this.totals.bytesIn, this.last.bytesIn),
      bytesOut: rate(this.totals.bytesOut, this.last.bytesOut),
    });
    if (this.points.length > this.pointsMax) this.points.splice(0, this.points.length - this.pointsMax);
    this.last = { ...this.totals, t };
  }

  snapshot(): { intervalMs: number; totals: ThroughputTotals; points: ThroughputPoint[] } {
    return { intervalMs: this.intervalMs, totals: { ...this.totals }, points: this.points.slice() };
  }
}
