// The Markdown report of one suite run (also printed at the end of the run).
import { ratio, type Spread } from "./stats.ts";

export interface BenchResults {
  date: string;
  command: string;
  mode: string;
  settings: {
    seconds: number; reps: number; backlog: number; latencySeconds: number; bodyBytes: number; queues: number;
    /** Absent in results written before workload (g) existed. */
    retention?: boolean;
    /** Absent in results written before the suite dropped the page cache between measurements. */
    pageCache?: string;
    /** --broker-cpus / --client-cpus (lib/cpu_pinning.ts); absent when brokers and clients shared every CPU. */
    cpuPinning?: { broker: string; client: string };
    workloads?: { retention?: RetentionSettingsReported };
  };
  machine: { cpus: number; cpuModel: string; memoryGiB: number; kernel: string; loadavgStart: number[]; loadavgEnd: number[]; stealPct?: number | null; bun: string };
  targets: { id: string; broker: string; durability: string; client: string; status: string; reason?: string; errors?: string[]; retentionSkipped?: string; brokerCpus?: string }[];
  unknownTargets: string[];
  summary: Record<string, Record<string, Spread>>;
}

/** workloads/definitions.ts `retention`, as written into the results. */
interface RetentionSettingsReported {
  diskBytes: number;
  commitLogFileBytes: number;
  fileReservedHours: number;
  diskMaxUsedPercent: number;
  emptyDiskShare: number;
  fillerUsedRatio: number;
  seconds: number;
  recoverySecondsMax: number;
}

const fmt = (value: number): string =>
  value >= 100 ? Math.round(value).toLocaleString("en") : value >= 10 ? value.toFixed(1) : value.toFixed(2);

/** "12,345" or, for several runs, "12,345 (11,900–12,800)". */
function cell(s: Spread | undefined, withRange: boolean): string {
  if (!s) return "–";
  return withRange && s.runs > 1 ? `${fmt(s.median)} <sub>${fmt(s.min)}–${fmt(s.max)}</sub>` : fmt(s.median);
}

/** The RocketMQ target measured with the same flush mode in the same run. */
export const peerOf: Record<string, string> = { "bolide-async": "rocketmq-async", "bolide-sync": "rocketmq-sync" };

export function markdown(r: BenchResults): string {
  const ok = r.targets.filter((t) => t.status === "ok");
  const get = (id: string, metric: string): Spread | undefined => r.summary[id]?.[metric];
  const range = r.settings.reps > 1;
  const lines: string[] = [];
  const table = (header: string[], rows: string[][]): void => {
    lines.push(`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`);
    for (const row of rows) lines.push(`| ${row.join(" | ")} |`);
    lines.push("");
  };
  const kib = r.settings.bodyBytes >= 1024 ? `${r.settings.bodyBytes / 1024} KiB` : `${r.settings.bodyBytes} B`;
  lines.push(
    `**${r.mode} run, ${r.date.slice(0, 16).replace("T", " ")} UTC**: ${kib} messages, ${r.settings.queues} queues, ${r.settings.seconds} s per measurement, ` +
      `${r.settings.reps === 1 ? "one run" : `median of ${r.settings.reps} interleaved runs (min–max in small print)`}, backlog ${r.settings.backlog.toLocaleString("en")}. ` +
      `Machine: ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, Linux ${r.machine.kernel}, Bun ${r.machine.bun}; ` +
      `load average ${r.machine.loadavgStart.join(" / ")} at the start, ${r.machine.loadavgEnd.join(" / ")} at the end` +
      `${r.machine.stealPct != null ? `; CPU time stolen by the hypervisor ${fmt(r.machine.stealPct)} % over the run` : ""}. ` +
      `${r.settings.pageCache ? `Page cache ${r.settings.pageCache}. ` : ""}` +
      `${r.settings.cpuPinning ? `CPUs: brokers pinned to ${r.settings.cpuPinning.broker}, clients to ${r.settings.cpuPinning.client} (taskset). ` : ""}Command: \`${r.command}\`.`,
    "",
  );

  table(
    ["target", "durability (what an ack means)", "client"],
    [
      ...r.targets.map((t) => [t.id, t.status === "ok" ? t.durability : `**${t.status}**: ${t.reason ?? ""}`, t.client]),
      ...r.unknownTargets.map((name) => [name, "**skipped**: unknown target", "–"]),
    ],
  );

  table(
    ["target", "produce msg/s (2 procs × 128 in flight)", "its client CPU %", "consume msg/s (backlog)", "its client CPU %", "own Java producer tool msg/s", "own Java consumer tool msg/s"],
    ok.map((t) => [
      t.id, cell(get(t.id, "produce.msgPerSec"), range), cell(get(t.id, "produce.clientCpuPct"), false), cell(get(t.id, "consume.msgPerSec"), range),
      cell(get(t.id, "consume.clientCpuPct"), false), cell(get(t.id, "javaProducer.tps"), range), cell(get(t.id, "javaConsumer.tps"), range),
    ]),
  );

  lines.push(
    "Own Java producer tool: for Bolide and Apache RocketMQ, `RocketMqBenchProducer.java` (the producer loop of rocketmq-example 4.9.8's " +
      "benchmark Producer: one DefaultMQProducer 4.9.8, 64 threads, synchronous sends); for Kafka, `kafka-producer-perf-test` " +
      "(ProducerPerformance, acks=all). Own Java consumer tool: `RocketMqBenchConsumer.java` (rocketmq-example's benchmark Consumer: one " +
      "DefaultMQPushConsumer 4.9.8 with the client's defaults, a listener that counts) reads back what the producer tool wrote, from the " +
      "first offset; msg/s from the first message to the last. Client CPU % = CPU seconds of the client processes per wall second (100 % = one core of " +
      `${r.machine.cpus}).`,
    "",
    "Producers: each producer is one connection with one send in flight (a thread calling send()), spread over up to 2 client processes; msg/s:",
    "",
  );
  table(
    ["target", "1 producer", "1 + keys", "16", "16 + keys", "64", "64 + keys"],
    ok.map((t) => [t.id, ...["1", "1keys", "16", "16keys", "64", "64keys"].map((p) => cell(get(t.id, `producers${p}.msgPerSec`), range))]),
  );

  const lat = (id: string, k: string): string => {
    const p50 = get(id, `${k}.p50Ms`);
    if (!p50) return "–";
    const missing = get(id, `${k}.missingPct`)?.median ?? 0;
    return `${fmt(p50.median)} / ${fmt(get(id, `${k}.p99Ms`)!.median)} / ${fmt(get(id, `${k}.p999Ms`)!.median)}${missing > 0 ? ` (${fmt(missing)} % lost)` : ""}`;
  };
  const latCpu = (id: string): string => ["latency1k", "latency5k", "latency20k"].map((k) => cell(get(id, `${k}.clientCpuPct`), false)).join(" / ");
  lines.push(
    "End-to-end latency (send → a consumer on another connection has it), open loop at a fixed rate, measured from each message's scheduled send time " +
      "(corrected for coordinated omission). The client (a sending and a reading thread) " +
      (r.settings.cpuPinning ? `runs on CPUs ${r.settings.cpuPinning.client}, the broker on ${r.settings.cpuPinning.broker}` : "shares the machine's cores with the broker") +
      "; its CPU % is the last column:",
    "",
  );
  table(
    ["target", "e2e ms p50 / p99 / p99.9 at 1k msg/s", "at 5k msg/s", "at 20k msg/s", "client CPU % at 1k / 5k / 20k"],
    ok.filter((t) => get(t.id, "latency1k.p50Ms") || get(t.id, "latency5k.p50Ms")).map((t) => [t.id, lat(t.id, "latency1k"), lat(t.id, "latency5k"), lat(t.id, "latency20k"), latCpu(t.id)]),
  );

  lines.push(
    "Steal: the share of the machine's CPU time that the hypervisor gave to others during this target's measurements " +
      "(a virtual machine's cores stop for milliseconds at a time then, which shows in latency tails first):",
    "",
    ok.map((t) => `${t.id} ${cell(get(t.id, "stealPct"), range)} %`).join(", ") + ".",
    "",
  );

  table(
    ["target", "cold start → first ack, ms", "idle RSS MiB", "loaded RSS MiB (peak)"],
    ok.map((t) => [t.id, cell(get(t.id, "coldStartMs"), range), cell(get(t.id, "idleRssMiB"), range), cell(get(t.id, "loadedRssMiB"), range)]),
  );

  // Ratios against Apache RocketMQ measured in the same run, same flush mode.
  const ratioRows: string[][] = [];
  const metrics: [string, string, boolean][] = [
    ["produce msg/s", "produce.msgPerSec", true], ["consume msg/s", "consume.msgPerSec", true], ["Java DefaultMQProducer (64 threads) msg/s", "javaProducer.tps", true],
    ["Java DefaultMQPushConsumer msg/s", "javaConsumer.tps", true],
    ["1 producer msg/s", "producers1.msgPerSec", true], ["16 producers msg/s", "producers16.msgPerSec", true], ["64 producers msg/s", "producers64.msgPerSec", true],
    ["64 producers + keys msg/s", "producers64keys.msgPerSec", true],
    ["e2e p99 at 1k (lower is better)", "latency1k.p99Ms", false], ["e2e p99 at 5k (lower is better)", "latency5k.p99Ms", false], ["e2e p99 at 20k (lower is better)", "latency20k.p99Ms", false],
    ["cold start (lower is better)", "coldStartMs", false], ["idle RSS (lower is better)", "idleRssMiB", false], ["loaded RSS (lower is better)", "loadedRssMiB", false],
  ];
  const pairs = Object.entries(peerOf).filter(([a, b]) => ok.some((t) => t.id === a) && ok.some((t) => t.id === b));
  if (pairs.length > 0) {
    for (const [label, metric] of metrics) {
      ratioRows.push([label, ...pairs.map(([a, b]) => {
        const x = ratio(get(a, metric)?.median, get(b, metric)?.median);
        return x === null ? "–" : `${x.toFixed(2)}×`;
      })]);
    }
    lines.push("Ratios Bolide / Apache RocketMQ, same flush mode, same run (throughput: > 1 = Bolide faster; latency, start, RSS: < 1 = Bolide better):", "");
    table(["metric", ...pairs.map(([a, b]) => `${a} / ${b}`)], ratioRows);
  }
  const ceilings: string[] = [];
  const remotingTargets = ok.filter((t) => t.client.startsWith("raw remoting") && t.id !== "null");
  for (const [label, metric] of [["produce (2 × 128 in flight)", "produce.msgPerSec"], ["consume", "consume.msgPerSec"]] as const) {
    const ceiling = get("null", metric);
    if (!ceiling) continue;
    const shares = remotingTargets.map((t) => {
      const v = get(t.id, metric);
      return v ? `${t.id} reaches ${Math.round((v.median / ceiling.median) * 100)} %` : "";
    }).filter(Boolean);
    ceilings.push(`${label} ${fmt(ceiling.median)} msg/s${shares.length > 0 ? ` (${shares.join(", ")})` : ""}`);
  }
  for (const rate of [1000, 5000, 20_000]) {
    const p99 = get("null", `latency${rate / 1000}k.p99Ms`);
    if (p99) ceilings.push(`e2e p99 at ${rate / 1000}k msg/s ${fmt(p99.median)} ms`);
  }
  if (ceilings.length > 0) {
    lines.push(`Client ceiling (null broker: acknowledges sends without storing, answers pulls with records made up from what was sent, ` +
      `relays each send to a waiting live pull): ${ceilings.join("; ")}.`, "");
  }
  const retention = r.settings.workloads?.retention;
  if (r.settings.retention && retention) {
    const mib = (bytes: number): string => `${bytes / 1048576} MiB`;
    lines.push(
      `Past retention on a nearly full disk (workload g): each broker on a ${mib(retention.diskBytes)} tmpfs of its own, ` +
        `${mib(retention.commitLogFileBytes)} commit-log files, fileReservedTime ${retention.fileReservedHours} h (so only disk pressure deletes), ` +
        `diskMaxUsedSpaceRatio ${retention.diskMaxUsedPercent}, forced cleaning past 85 % and sends refused past 90 % (both brokers' defaults), ` +
        `retention checked every 10 s. "Empty disk": ${Math.round(retention.emptyDiskShare * 100)} % of the disk produced as in workload (a); then a filler file ` +
        `brings the disk to ${Math.round(retention.fillerUsedRatio * 100)} % and the same producers run ${retention.seconds} s more (msg/s over the wall time, refused sends included). ` +
        `tmpfs ignores fsync, so SYNC_FLUSH costs nothing extra here.`,
      "",
    );
    const rows: string[][] = [];
    for (const t of r.targets) {
      if (t.status !== "ok") continue;
      if (t.retentionSkipped) {
        rows.push([t.id, `skipped: ${t.retentionSkipped}`, ...Array<string>(9).fill("")]);
        continue;
      }
      const m = (metric: string): Spread | undefined => get(t.id, `retention.${metric}`);
      if (!m("fullMsgPerSec")) {
        rows.push([t.id, "failed (see workload errors)", ...Array<string>(9).fill("")]);
        continue;
      }
      const x = ratio(m("fullMsgPerSec")?.median, m("emptyMsgPerSec")?.median);
      const resume = m("resumeMs")?.median;
      const alive = m("brokerAlive")?.median;
      const after = alive === 0 ? "**no: the broker exited**" : resume === undefined ? "–" : resume < 0 ? `**no, not within ${retention.recoverySecondsMax} s**` : `yes (${fmt(resume)} ms)`;
      rows.push([
        t.id, `${cell(m("emptyMsgPerSec"), range)} / ${cell(m("emptyP99Ms"), false)}`, `${cell(m("fullMsgPerSec"), range)} / ${cell(m("fullP99Ms"), false)}`,
        x === null ? "–" : `${x.toFixed(2)}×`, cell(m("refused"), false), cell(m("ackGapMaxMs"), false), cell(m("filesDeleted"), false),
        cell(m("firstOffsetMovedMiB"), false), cell(m("deletedMappedMaxMiB"), false), cell(m("diskUsedMaxPct"), false), after,
      ]);
    }
    table(
      ["target", "empty disk msg/s / send p99 ms", "past retention msg/s / send p99 ms", "past / empty", "refused sends", "longest gap between acks, ms",
        "commit-log files deleted", "first offset moved, MiB", "deleted but still mapped, MiB (max)", "max disk used %", "accepting sends after"],
      rows,
    );
  }

  const failures = r.targets.filter((t) => t.errors?.length);
  if (failures.length > 0) {
    lines.push("Workload errors:", "");
    for (const t of failures) for (const e of t.errors!) lines.push(`- ${t.id}: ${e}`);
    lines.push("");
  }
  return lines.join("\n");
}

/** Re-renders the Markdown of a results file written earlier (after the report gains a column): `bun scripts/bench/lib/report.ts <results.json>`. */
if (import.meta.main) {
  const file = process.argv[2];
  if (!file) throw new Error("usage: bun scripts/bench/lib/report.ts <results.json>");
  const out = file.replace(/\.json$/, ".md");
  await Bun.write(out, markdown((await Bun.file(file).json()) as BenchResults));
  process.stdout.write(`${out}\n`);
}
