import { describe, expect, test } from "bun:test";
import { percentile, ratio, Schedule, spread, summarizeLatency } from "./stats.ts";

describe("percentile (nearest rank)", () => {
  const sorted = Array.from({ length: 1000 }, (_, i) => i + 1); // 1..1000
  test("p50, p99, p99.9, max", () => {
    expect(percentile(sorted, 50)).toBe(500);
    expect(percentile(sorted, 99)).toBe(990);
    expect(percentile(sorted, 99.9)).toBe(999);
    expect(percentile(sorted, 100)).toBe(1000);
    expect(percentile(sorted, 0)).toBe(1);
  });
  test("small and empty samples", () => {
    expect(percentile([7], 99.9)).toBe(7);
    expect(percentile([1, 2], 50)).toBe(1);
    expect(Number.isNaN(percentile([], 50))).toBe(true);
  });
});

describe("spread of repeated runs", () => {
  test("odd and even counts; NaN dropped", () => {
    expect(spread([3, 1, 2])).toEqual({ median: 2, min: 1, max: 3, runs: 3 });
    expect(spread([4, 1, Number.NaN, 2, 3])).toEqual({ median: 2.5, min: 1, max: 4, runs: 4 });
    expect(spread([])).toBeNull();
  });
  test("ratio", () => {
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(1, 0)).toBeNull();
    expect(ratio(null, 2)).toBeNull();
  });
});

describe("coordinated omission", () => {
  test("the schedule is fixed by the rate, not by when sends went out", () => {
    const schedule = new Schedule(1000, 1000); // one message per ms from t=1000
    expect(schedule.dueMs(0)).toBe(1000);
    expect(schedule.dueMs(250)).toBe(1250);
    expect(schedule.dueCount(999)).toBe(0);
    expect(schedule.dueCount(1000)).toBe(1);
    expect(schedule.dueCount(1009.5)).toBe(10);
  });

  test("a 100 ms stall is charged to every message that was due during it", () => {
    // 1000 msg/s for 1 s; each message takes 1 ms, except that the broker stalls for 100 ms at
    // t=500: messages due in 500..600 all go out (and arrive) at 601 ms, then service resumes.
    const schedule = new Schedule(0, 1000);
    const arrived = new Float64Array(1000);
    for (let i = 0; i < 1000; i++) {
      const due = schedule.dueMs(i);
      arrived[i] = due >= 500 && due < 600 ? 601 : due + 1;
    }
    const corrected = summarizeLatency(schedule, arrived, 1000);
    // A naive measurement (from the actual send at 600 ms) would see 1 ms for all of them and a
    // single 101 ms outlier; measured from the schedule 10 % of messages waited 2..101 ms.
    expect(corrected.p50Ms).toBe(1);
    expect(corrected.p99Ms).toBe(91);
    expect(corrected.p999Ms).toBe(100);
    expect(corrected.maxMs).toBe(101);
    expect(corrected.missing).toBe(0);
  });

  test("messages that never arrive are reported as missing", () => {
    const schedule = new Schedule(0, 100);
    const arrived = Float64Array.from([10.5, Number.NaN, 30]);
    const summary = summarizeLatency(schedule, arrived, 3);
    expect(summary.count).toBe(2);
    expect(summary.missing).toBe(1);
    expect(summary.p50Ms).toBe(10); // latencies 10.5 and 10 (30 - due 20)
  });
});
