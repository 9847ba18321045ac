// Delay levels (RocketMQ's messageDelayLevel): level n (1-based) waits levelsMs[n - 1].
export const scheduleTopic = "SCHEDULE_TOPIC_XXXX";
export const messageDelayLevelDefault = "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "1s 5s 10s …" into milliseconds per level. Throws on a malformed entry. */
export function parseDelayLevels(text: string): number[] {
  const levels = text.trim().split(/\s+/).map((entry) => {
    const match = /^(\d+)(ms|s|m|h|d)$/.exec(entry);
    if (!match) throw new Error(`bad delay level "${entry}" in "${text}"`);
    return Number(match[1]) * unitMs[match[2]!]!;
  });
  if (levels.length === 0) throw new Error("no delay levels");
  return levels;
}

/** A requested level as RocketMQ treats it: ≤ 0 none, above the highest clamped to it. */
export function effectiveLevel(level: number, levelCount: number): number {
  if (!Number.isFinite(level) || level <= 0) return 0;
  return Math.min(Math.trunc(level), levelCount);
}
