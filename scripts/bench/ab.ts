// A/B of two Bolide builds: both brokers run side by side and take turns (A, B, A, B, ...), so that
// a quiet or a busy minute of the machine falls on both. For one optimisation at a time: its
// before/after figures in the commit message come from here.
//
//   bun scripts/bench/ab.ts --a /tmp/bolide-before --b dist/bolide [--workload produce|consume|latency]
//                           [--flush async|sync] [--passes 4] [--messages 200000] [--rate 5000] [--seconds 10]
//                           [--producers N] [--bytes 1024]
//
//   produce  each pass: a new topic, 2 client processes × 128 sends in flight until --messages are
//            acknowledged; msg/s and the broker's CPU time per message (user + system, /proc).
//            --producers N: N connections with one send in flight each instead, split over the 2
//            processes (one process for N = 1; the suite's workload f)
//   consume  each broker is filled with --messages once, then each pass reads them all again from
//            the start (one client process, a pull per queue in flight); the first pass of each
//            broker also meets its write-back of the fill
//   latency  each pass: --seconds at --rate msg/s, the suite's latency worker (send → another
//            connection has it, from the scheduled send time); p50 / p99 / p99.9 and the steal share
// Prints one line per build: medians and every pass.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { RemotingClient } from "../../src/net/tcp_client.ts";
import { cpuTime, stealPct } from "./lib/cpu_time.ts";
import { installSignalHandlers } from "./lib/proc.ts";
import { createTopic, masterAddress } from "./lib/remoting.ts";
import { bolide } from "./targets/bolide.ts";
import type { Running } from "./targets/types.ts";
import * as W from "./workloads/definitions.ts";
import { runWorker } from "./workloads/run_worker.ts";
import type { LatencyResult, ProduceResult, ReadResult } from "./workloads/worker.ts";

const { values } = parseArgs({
  options: {
    a: { type: "string" },
    b: { type: "string" },
    workload: { type: "string", default: "produce" },
    flush: { type: "string", default: "async" },
    passes: { type: "string", default: "4" },
    messages: { type: "string", default: "200000" },
    rate: { type: "string", default: "5000" },
    seconds: { type: "string", default: "10" },
    producers: { type: "string" },
    bytes: { type: "string", default: "1024" },
  },
});
if (!values.a || !values.b) throw new Error("usage: bun scripts/bench/ab.ts --a <binary> --b <binary> [--workload produce|consume|latency] ...");
const workload = values.workload;
if (workload !== "produce" && workload !== "consume" && workload !== "latency") throw new Error(`--workload: produce, consume or latency, got ${workload}`);
const flush = values.flush === "sync" ? "sync" : "async";
const passes = Number(values.passes);
const messages = Number(values.messages);
const producers = values.producers === undefined ? 0 : Number(values.producers);
const bodyBytes = Number(values.bytes);
if (!(bodyBytes >= 8 && bodyBytes <= 4 * 1024 * 1024)) throw new Error(`--bytes must be 8 .. 4194304, got ${values.bytes}`);
/** Longest a workload client may run: a 200k fill takes seconds, a stalled broker should not hang the A/B. */
const workerTimeoutMs = 600_000;

/** CPU seconds (user + system) of `pid` so far. */
function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

interface Side {
  label: string;
  binary: string;
  dataRoot: string;
  running: Running;
  client: RemotingClient;
  broker: string;
  figures: Record<string, number[]>;
}

function note(side: Side, name: string, value: number): void {
  (side.figures[name] ??= []).push(value);
}

/**
 * --messages acknowledged on `topic`: 2 client processes × 128 in flight, as the suite's workload
 * (a), or --producers connections with one send in flight each (f). Returns the count acknowledged.
 */
async function produce(side: Side, topic: string): Promise<number> {
  // Connections per process: 1 each (× 128 in flight), or --producers split over the two (1 → one process).
  const senders = producers > 0 ? [Math.ceil(producers / 2), Math.floor(producers / 2)].filter((n) => n > 0) : [1, 1];
  const connections = senders.reduce((sum, n) => sum + n, 0);
  const results = await Promise.all(senders.map((n, w) => runWorker<ProduceResult>({
    mode: "produce", client: "remoting", endpoint: side.running.endpoint, topic, queues: W.queues, bytes: bodyBytes,
    seconds: 600, messages: Math.round((messages * n) / connections), keys: false, worker: w,
    senders: n, inflight: producers > 0 ? 1 : W.produce.inflight,
  }, workerTimeoutMs)));
  return results.reduce((sum, r) => sum + r.acked, 0);
}

const median = (list: number[]): number => [...list].sort((x, y) => x - y)[Math.floor(list.length / 2)]!;

installSignalHandlers();
const sides: Side[] = [];
try {
  for (const [label, binary] of [["A", resolve(values.a)], ["B", resolve(values.b)]] as const) {
    const dataRoot = mkdtempSync(join(tmpdir(), `bolide-ab-${label}-`));
    const dataDir = join(dataRoot, "data");
    mkdirSync(dataDir);
    const running = await bolide(flush, binary).start(dataDir);
    const client = new RemotingClient();
    let broker = "";
    for (let attempt = 0; !broker; attempt++) {
      try {
        broker = await masterAddress(client, running.endpoint.replace(/^ns:/, ""));
      } catch (error) {
        if (attempt >= 50) throw error; // registration with the name server takes a moment after the ports open
        await Bun.sleep(100);
      }
    }
    sides.push({ label, binary, dataRoot, running, client, broker, figures: {} });
  }

  if (workload === "consume") {
    for (const side of sides) {
      await createTopic(side.client, side.broker, "AbConsume", W.queues);
      await produce(side, "AbConsume");
    }
  }

  for (let pass = 0; pass < passes; pass++) {
    for (const side of sides) {
      const pid = side.running.pids()[0]!;
      const cpuBefore = cpuSecondsOf(pid);
      const machineBefore = cpuTime();
      const started = performance.now();
      if (workload === "produce") {
        const topic = `AbProduce${pass}`;
        await createTopic(side.client, side.broker, topic, W.queues);
        const acked = await produce(side, topic);
        note(side, "msg/s", Math.round(acked / ((performance.now() - started) / 1000)));
        note(side, "broker µs/msg", Math.round(((cpuSecondsOf(pid) - cpuBefore) / acked) * 1e7) / 10);
      } else if (workload === "consume") {
        const r = await runWorker<ReadResult>({ mode: "read", client: "remoting", endpoint: side.running.endpoint, topic: "AbConsume", queues: W.queues, expected: messages, seconds: 120 }, workerTimeoutMs);
        note(side, "msg/s", Math.round(r.read / r.elapsedSec));
        note(side, "broker µs/msg", Math.round(((cpuSecondsOf(pid) - cpuBefore) / r.read) * 1e7) / 10);
      } else {
        const topic = `AbLatency${pass}`;
        await createTopic(side.client, side.broker, topic, W.queues);
        const r = await runWorker<LatencyResult>({
          mode: "latency", client: "remoting", endpoint: side.running.endpoint, topic, queues: W.queues, bytes: bodyBytes, rate: Number(values.rate), seconds: Number(values.seconds),
        }, workerTimeoutMs);
        note(side, "p50 ms", r.p50Ms);
        note(side, "p99 ms", r.p99Ms);
        note(side, "p99.9 ms", r.p999Ms);
      }
      note(side, "steal %", stealPct(machineBefore, cpuTime()) ?? 0);
    }
  }
  process.stdout.write(`bun scripts/bench/ab.ts ${process.argv.slice(2).join(" ")}\n`);
  for (const side of sides) {
    const parts = Object.entries(side.figures).map(([name, list]) => `${name} ${median(list)} (${list.join(", ")})`);
    process.stdout.write(`${side.label} ${side.binary}, ${workload}${producers > 0 ? ` (${producers} producers)` : ""}, ${bodyBytes} B, ${flush}: ${parts.join("; ")}\n`);
  }
} finally {
  for (const side of sides) {
    side.client.close();
    await side.running.stop();
    rmSync(side.dataRoot, { recursive: true, force: true });
  }
}
process.exit(0);
