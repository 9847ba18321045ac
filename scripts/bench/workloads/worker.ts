// One client process of a workload. The suite (suite.ts) starts one or more of these with a JSON
// spec as the only argument; each prints one JSON result line on stdout and exits.
//
//   produce  senders × (one connection, `inflight` unacknowledged sends), for `seconds` or until
//            `messages` were acknowledged
//   read     reads a topic from its start until `expected` messages arrived (backlog consume)
//   latency  sends at a fixed rate (open loop) and reads on another connection, on another thread
//            (latency_reader.ts); latency of each message from its scheduled send time to its
//            arrival (lib/stats.ts, Schedule)
import { openClient, type BenchClient, type ClientKind } from "../clients/types.ts";
import { percentile, round3, Schedule, summarizeLatency } from "../lib/stats.ts";
import { monotonicMs, preciseWaits } from "../lib/clock.ts";
import { bodyMarker, counter, type LatencyReaderSpec } from "./latency_reader.ts";

export interface ProduceSpec {
  mode: "produce";
  client: ClientKind;
  endpoint: string;
  topic: string;
  queues: number;
  bytes: number;
  seconds: number;
  /** Stop after this many acknowledgements (backlog fill); 0 = run for `seconds`. */
  messages: number;
  senders: number;
  inflight: number;
  keys: boolean;
  /** Distinguishes the keys of concurrent worker processes. */
  worker: number;
}
export interface ReadSpec {
  mode: "read";
  client: ClientKind;
  endpoint: string;
  topic: string;
  queues: number;
  expected: number;
  seconds: number;
}
export interface LatencySpec {
  mode: "latency";
  client: ClientKind;
  endpoint: string;
  topic: string;
  queues: number;
  bytes: number;
  rate: number;
  seconds: number;
  /**
   * Write one line per message here: due time (ms from the start), then how late it was sent,
   * acknowledged and read, each in ms from its due time — where a tail comes from (sender, broker,
   * reader). Off in the suite.
   */
  dumpPath?: string;
}
export type WorkerSpec = ProduceSpec | ReadSpec | LatencySpec;

export interface ProduceResult {
  acked: number;
  failed: number;
  elapsedSec: number;
  cpuSec: number;
  sendP50Ms: number;
  sendP99Ms: number;
  /** The longest time between two acknowledgements (or from the start to the first): a stall shows here. */
  ackGapMaxMs: number;
  /** From the first send to the last answer (acknowledged or not); elapsedSec ends at the last acknowledgement. */
  wallSec: number;
  error?: string;
}
export interface ReadResult {
  read: number;
  elapsedSec: number;
  cpuSec: number;
}
export interface LatencyResult {
  sent: number;
  received: number;
  missing: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  cpuSec: number;
  sendErrors: number;
}

/**
 * After a refused or failed send, a lane waits this long before the next: a broker refusing
 * everything (a full disk) is not hammered by a tight loop, and the client's CPU stays comparable.
 */
const failureBackoffMs = 10;

const cpuSeconds = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

async function produce(spec: ProduceSpec): Promise<ProduceResult> {
  const clients: BenchClient[] = [];
  for (let s = 0; s < spec.senders; s++) clients.push(await openClient(spec.client, spec.endpoint));
  const body = new Uint8Array(spec.bytes).fill(0x61);
  const sampleEvery = 16;
  const samples: number[] = [];
  let issued = 0;
  let acked = 0;
  let failed = 0;
  let lastError: string | undefined;
  const cpuStart = cpuSeconds();
  const start = performance.now();
  const endAt = spec.messages > 0 ? Infinity : start + spec.seconds * 1000;
  const more = (): boolean => (spec.messages > 0 ? issued < spec.messages : performance.now() < endAt);
  let lastAck = start;
  let ackGapMaxMs = 0;

  const lane = async (client: BenchClient, lane: number): Promise<void> => {
    while (more()) {
      const index = issued++;
      const key = spec.keys ? `k${spec.worker}-${index}` : undefined;
      const sentAt = performance.now();
      try {
        await client.send(spec.topic, index % spec.queues, body, key);
        acked++;
        const now = performance.now();
        ackGapMaxMs = Math.max(ackGapMaxMs, now - lastAck);
        lastAck = now;
        if (index % sampleEvery === 0) samples.push(lastAck - sentAt);
      } catch (error) {
        failed++;
        lastError = String(error);
        if (failed > 1000 && acked === 0) return; // the broker refuses everything: give up
        await Bun.sleep(failureBackoffMs);
      }
      void lane;
    }
  };
  await Promise.all(clients.flatMap((client, c) => Array.from({ length: spec.inflight }, (_, l) => lane(client, c * spec.inflight + l))));
  const end = performance.now();
  ackGapMaxMs = Math.max(ackGapMaxMs, end - lastAck); // a broker that stopped acknowledging for good
  const elapsedSec = (lastAck - start) / 1000;
  const cpuSec = cpuSeconds() - cpuStart;
  await Promise.all(clients.map((client) => client.close()));
  const sorted = Float64Array.from(samples).sort();
  return {
    acked, failed, elapsedSec: round3(elapsedSec), cpuSec: round3(cpuSec),
    sendP50Ms: round3(percentile(sorted, 50)), sendP99Ms: round3(percentile(sorted, 99)), ackGapMaxMs: round3(ackGapMaxMs), wallSec: round3((end - start) / 1000),
    ...(lastError ? { error: lastError.slice(0, 200) } : {}),
  };
}

async function read(spec: ReadSpec): Promise<ReadResult> {
  const client = await openClient(spec.client, spec.endpoint);
  const cpuStart = cpuSeconds();
  const start = performance.now();
  // The time of the last message, read every 64 messages and once all arrived: a clock read per
  // message was 5 % of this process's CPU at ~900k msg/s, which the broker under test shares.
  let last = start;
  let arrived = 0;
  const count = await client.read(spec.topic, spec.queues, spec.expected, start + spec.seconds * 1000, false, () => {
    if ((++arrived & 63) === 0) last = performance.now();
  });
  if (count >= spec.expected) last = performance.now();
  const result = { read: count, elapsedSec: round3((last - start) / 1000), cpuSec: round3(cpuSeconds() - cpuStart) };
  await client.close();
  return result;
}

/** Blocks the sending thread for waits under a millisecond (Atomics.wait on memory nobody changes). */
const pacer = new Int32Array(new SharedArrayBuffer(4));

/**
 * Open loop: the message with index i is due at start + i / rate, whatever happened to earlier
 * ones; its latency runs from that due time to its arrival at the reader (latency_reader.ts, on
 * another thread with its own connection). This thread only sends. It waits for the next due
 * time by sleeping (over a millisecond) or blocking (under one: timers cannot wait less than a
 * millisecond, and waiting by spinning took a whole core from the broker under test); between
 * waits it lets its event loop run, which writes the sends and takes the acknowledgements.
 */
async function latency(spec: LatencySpec): Promise<LatencyResult> {
  const total = Math.round(spec.rate * spec.seconds);
  const arrivedMs = new Float64Array(new SharedArrayBuffer(total * Float64Array.BYTES_PER_ELEMENT)).fill(Number.NaN);
  const counters = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
  const cpuStart = cpuSeconds();
  const reader = new Worker(new URL("./latency_reader.ts", import.meta.url));
  const readerEnded = new Promise<{ ok: boolean; error?: string }>((resolve) => {
    reader.onmessage = (event) => resolve(event.data as { ok: boolean; error?: string });
    reader.onerror = (event) => resolve({ ok: false, error: `reader thread: ${event.message}` });
  });
  const readerSpec: LatencyReaderSpec = {
    client: spec.client, endpoint: spec.endpoint, topic: spec.topic, queues: spec.queues, total, seconds: spec.seconds, arrivedMs, counters,
  };
  reader.postMessage(readerSpec);
  const sender = await openClient(spec.client, spec.endpoint);
  try {
    // Warm-up: one message per queue through both connections (connects, routes, JIT), not measured.
    const warmBody = new Uint8Array(spec.bytes);
    new DataView(warmBody.buffer).setUint32(4, bodyMarker.warm);
    await Promise.all(Array.from({ length: spec.queues }, (_, q) => sender.send(spec.topic, q, warmBody)));
    const warmDeadline = performance.now() + 30_000; // a Kafka consumer group join takes seconds
    while (Atomics.load(counters, counter.warmed) < spec.queues && Atomics.load(counters, counter.done) === 0 && performance.now() < warmDeadline) await Bun.sleep(5);
    preciseWaits(); // this thread's waits for the next due time end on time, not up to 50 µs later
    const schedule = new Schedule(monotonicMs(), spec.rate);
    const dump = spec.dumpPath === undefined ? null : {
      path: spec.dumpPath, sentMs: new Float64Array(total).fill(Number.NaN), ackedMs: new Float64Array(total).fill(Number.NaN),
    };
    let next = 0;
    let sendErrors = 0;
    while (next < total) {
      const due = Math.min(total, schedule.dueCount(monotonicMs()));
      for (; next < due; next++) {
        const body = new Uint8Array(spec.bytes);
        const view = new DataView(body.buffer);
        view.setUint32(0, next);
        view.setUint32(4, bodyMarker.measured);
        const sending = sender.send(spec.topic, next % spec.queues, body);
        if (dump) {
          const index = next;
          dump.sentMs[index] = monotonicMs();
          sending.then(() => (dump.ackedMs[index] = monotonicMs()), () => sendErrors++);
        } else sending.catch(() => sendErrors++);
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
      const waitMs = schedule.dueMs(next) - monotonicMs();
      if (waitMs >= 2) await Bun.sleep(waitMs - 1);
      else if (waitMs > 0) Atomics.wait(pacer, 0, 0, waitMs);
    }
    const ended = await readerEnded;
    if (!ended.ok) throw new Error(ended.error ?? "reader failed");
    const summary = summarizeLatency(schedule, arrivedMs, total);
    if (dump) {
      const lines: string[] = [];
      for (let i = 0; i < total; i++) {
        const dueMs = schedule.dueMs(i);
        lines.push([dueMs - schedule.startMs, dump.sentMs[i]! - dueMs, dump.ackedMs[i]! - dueMs, arrivedMs[i]! - dueMs].map((ms) => ms.toFixed(3)).join(" "));
      }
      await Bun.write(dump.path, `${lines.join("\n")}\n`);
    }
    const cpuSec = round3(cpuSeconds() - cpuStart);
    return {
      sent: total, received: Atomics.load(counters, counter.received), missing: summary.missing, p50Ms: summary.p50Ms, p99Ms: summary.p99Ms,
      p999Ms: summary.p999Ms, maxMs: summary.maxMs, cpuSec, sendErrors,
    };
  } finally {
    await sender.close();
    reader.terminate();
  }
}

if (import.meta.main) {
  const spec = JSON.parse(process.argv[2] ?? "{}") as WorkerSpec;
  try {
    const result = spec.mode === "produce" ? await produce(spec) : spec.mode === "read" ? await read(spec) : await latency(spec);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ error: String(error instanceof Error ? error.message : error).slice(0, 300) })}\n`);
    process.exit(1);
  }
}
