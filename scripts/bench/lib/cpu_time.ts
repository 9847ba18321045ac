// The machine's CPU time by kind, from /proc/stat's first line (jiffies, all CPUs together). The
// suite takes it around each measurement to report "steal": time the hypervisor ran something
// else while this virtual machine wanted to run. Latency tails of a few milliseconds follow it
// (measured: 12–24 % steal in one 10-s run gave Bolide a p99 of 16.8 ms, 0–4 % runs 6–8 ms), so a
// figure measured under steal is marked as such rather than read as the broker's.

export interface CpuTime {
  total: number;
  steal: number;
}

export function cpuTime(): CpuTime {
  try {
    const fields = (require("node:fs") as typeof import("node:fs")).readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
    const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
    return { total, steal: fields[7] ?? 0 };
  } catch {
    return { total: 0, steal: 0 }; // not Linux: no steal figure
  }
}

/** Steal as a percentage of all CPU time between two readings; null when nothing was counted. */
export function stealPct(from: CpuTime, to: CpuTime): number | null {
  const total = to.total - from.total;
  return total > 0 ? Math.round(((to.steal - from.steal) / total) * 1000) / 10 : null;
}
