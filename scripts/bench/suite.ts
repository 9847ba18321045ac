// The benchmark suite (issue #8): installs, starts, measures and stops each target broker, then
// writes bench/results/<date>-<mode>.{json,md,svg}.
//
//   npm run bench -- [--smoke|--quick|--full] [--size 1024] [--seconds N] [--reps N] [--backlog N]
//                    [--retention|--no-retention] [--targets bolide,rocketmq,kafka,rabbitmq,nats,redis,null]
//                    [--workloads produce,producers,latency,consume,java] [--keep-page-cache] [--out DIR]
//                    [--broker-cpus LIST --client-cpus LIST]
//
// --smoke: CI's seconds-long check that the suite runs (see smoke.ts); --retention: also run
// workload (g), past retention on a nearly full disk, outside --full (needs root for a tmpfs);
// --no-retention: leave it out of --full. --workloads: only these (default all of them; cold start
// and idle RSS are always measured): produce (a), consume (b), latency (c), producers (f, 1/16/64
// producers with and without keys), java (e, the brokers' own Java producer tools).
// --keep-page-cache: do not drop the page cache of the target's data files before each measurement
// (--quick and --full do; lib/page_cache.ts says why).
// --broker-cpus / --client-cpus: run every broker on these CPUs and the workload clients on those
// (taskset lists, e.g. 0-1 and 2-3; lib/cpu_pinning.ts). Off by default: brokers and clients share
// every core.
//
// Targets: targets/*.ts. Workloads: workloads/definitions.ts (run by workloads/worker.ts in separate
// client processes). Every process started is killed on exit and on Ctrl-C (lib/proc.ts).
import { cpus, loadavg, totalmem, release } from "node:os";
import { cpuTime, stealPct } from "./lib/cpu_time.ts";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openClient } from "./clients/types.ts";
import { spread, round3, type Spread } from "./lib/stats.ts";
import { dropPageCache } from "./lib/page_cache.ts";
import { allowedCpus, parsePinning, pinTree } from "./lib/cpu_pinning.ts";
import { installSignalHandlers, killAll, processTree, rssBytes, run, lastLine } from "./lib/proc.ts";
import { kafkaProducerPerformance, rocketmqJavaConsumer, rocketmqJavaProducer } from "./workloads/java_tools.ts";
import { RetentionSkip, retentionRun, type ProduceFigures } from "./workloads/retention.ts";
import { allTargets } from "./targets/index.ts";
import type { Running, Target } from "./targets/types.ts";
import * as W from "./workloads/definitions.ts";
import type { LatencyResult, ProduceResult, ReadResult, WorkerSpec } from "./workloads/worker.ts";
import { runWorker } from "./workloads/run_worker.ts";

const root = join(import.meta.dir, "../..");
const workloadNames = ["produce", "producers", "latency", "consume", "java"] as const;
const { values } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    quick: { type: "boolean", default: false },
    full: { type: "boolean", default: false },
    size: { type: "string", default: "1024" },
    seconds: { type: "string" },
    reps: { type: "string" },
    backlog: { type: "string" },
    retention: { type: "boolean", default: false },
    "no-retention": { type: "boolean", default: false },
    "keep-page-cache": { type: "boolean", default: false },
    "broker-cpus": { type: "string" },
    "client-cpus": { type: "string" },
    targets: { type: "string", default: "bolide,rocketmq,kafka,rabbitmq,nats,redis,null" },
    workloads: { type: "string", default: workloadNames.join(",") },
    out: { type: "string", default: join(root, "bench/results") },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write(readFileSync(import.meta.path, "utf8").split("\n").filter((l) => l.startsWith("//")).map((l) => l.slice(3)).join("\n") + "\n");
  process.exit(0);
}
if ([values.smoke, values.quick, values.full].filter(Boolean).length > 1) throw new Error("--smoke, --quick and --full: one at most");
const modeName: W.ModeName = values.full ? "full" : values.smoke ? "smoke" : "quick";
const mode: W.Mode = {
  ...W.modes[modeName],
  ...(values.seconds ? { seconds: Number(values.seconds), latencySeconds: Math.max(Number(values.seconds), 1) } : {}),
  ...(values.reps ? { reps: Number(values.reps) } : {}),
  ...(values.backlog ? { backlog: Number(values.backlog) } : {}),
  ...(values.retention ? { retention: true } : {}),
  ...(values["no-retention"] ? { retention: false } : {}),
  ...(values["keep-page-cache"] ? { dropPageCache: false } : {}),
};
const workloads = new Set(values.workloads.split(",").map((name) => name.trim()).filter(Boolean));
for (const name of workloads) {
  if (!(workloadNames as readonly string[]).includes(name)) throw new Error(`--workloads: unknown workload "${name}" (known: ${workloadNames.join(", ")})`);
}
const runs = (name: (typeof workloadNames)[number]): boolean => workloads.has(name);
const bodyBytes = Number(values.size);
if (!(bodyBytes >= 8 && bodyBytes <= 4 * 1024 * 1024)) throw new Error(`--size must be 8 .. 4194304 bytes, got ${values.size}`);
const command = `npm run bench -- ${process.argv.slice(2).join(" ")}`.trim();
const pinning = parsePinning(values["broker-cpus"], values["client-cpus"], cpus().length);
// Every process the suite starts inherits its CPUs: the clients' (brokers move once started).
if (pinning) await pinTree(process.pid, pinning.client);

/** Moves a started broker's processes to the broker CPUs (when pinning); returns the CPUs its first process may use. */
async function pinBroker(running: Running): Promise<string | undefined> {
  if (!pinning) return undefined;
  for (const pid of running.pids()) await pinTree(pid, pinning.broker);
  const first = running.pids()[0];
  return first === undefined ? undefined : allowedCpus(first);
}

// ---- which targets -------------------------------------------------------------------------
interface TargetState {
  target: Target;
  status: "ok" | "skipped" | "failed";
  reason?: string;
  /** Why workload (g) did not run for this target (not root, the target has no disk retention, ...). */
  retentionSkipped?: string;
  /** With --broker-cpus: the CPUs the kernel reports the broker's first process may run on, once pinned. */
  brokerCpus?: string;
}
const requested = values.targets.split(",").map((t) => t.trim()).filter(Boolean);
const states: TargetState[] = [];
const unknown: string[] = [];
for (const name of requested) {
  const matched = allTargets.filter((t) => t.family === name || t.id === name);
  if (matched.length === 0) unknown.push(name);
  for (const target of matched) if (!states.some((s) => s.target === target)) states.push({ target, status: "ok" });
}

// ---- progress ------------------------------------------------------------------------------
const startedAt = performance.now();
const tty = process.stderr.isTTY;
const elapsed = (): string => {
  const s = Math.round((performance.now() - startedAt) / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
};
let lastProgress = "";
function progress(text: string): void {
  const line = `[bench ${elapsed()}] ${text}`;
  if (tty) process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
  else if (text !== lastProgress) process.stderr.write(`${line}\n`);
  lastProgress = text;
}
function note(text: string): void {
  if (tty) process.stderr.write("\r\x1b[2K");
  process.stderr.write(`[bench ${elapsed()}] ${text}\n`);
}

// ---- results -------------------------------------------------------------------------------
/** metric name -> value per run (one per rep), per target id. */
const samples = new Map<string, Map<string, number[]>>();
const errors = new Map<string, string[]>();
function record(targetId: string, metric: string, value: number): void {
  let perTarget = samples.get(targetId);
  if (!perTarget) samples.set(targetId, (perTarget = new Map()));
  let list = perTarget.get(metric);
  if (!list) perTarget.set(metric, (list = []));
  list.push(value);
}
function recordError(targetId: string, what: string, error: unknown): void {
  const text = `${what}: ${String(error instanceof Error ? error.message : error).slice(0, 200)}`;
  const list = errors.get(targetId) ?? [];
  list.push(text);
  errors.set(targetId, list);
  note(`${targetId} ${text}`);
}

// ---- running workers -----------------------------------------------------------------------
/** Samples the broker's RSS every 200 ms while `work` runs; returns its result and the peak. */
async function withRss<T>(running: Running, work: Promise<T>): Promise<{ result: T; peakBytes: number }> {
  let peak = 0;
  const sample = (): void => {
    peak = Math.max(peak, treeRss(running));
  };
  const timer = setInterval(sample, 200);
  try {
    const result = await work;
    sample();
    return { result, peakBytes: peak };
  } finally {
    clearInterval(timer);
  }
}

/** RSS of the broker's processes and their children (RabbitMQ's beam.smp runs under a shell script). */
function treeRss(running: Running): number {
  return running.pids().flatMap(processTree).reduce((sum, pid) => sum + rssBytes(pid), 0);
}

let topicSeq = 0;
const newTopic = (): string => `Bench${Date.now().toString(36)}${topicSeq++}`;

async function prepareTopic(target: Target, running: Running): Promise<string> {
  const topic = newTopic();
  const client = await openClient(target.client, running.endpoint);
  try {
    await client.prepare(topic, W.queues);
  } finally {
    await client.close();
  }
  return topic;
}

async function produceRun(target: Target, running: Running, topic: string, processes: number, senders: number, inflight: number, keys: boolean, messages: number, seconds = mode.seconds): Promise<ProduceFigures & { cpuPct: number; peakRss: number }> {
  const specs: WorkerSpec[] = Array.from({ length: processes }, (_, worker) => ({
    mode: "produce", client: target.client, endpoint: running.endpoint, topic, queues: W.queues, bytes: bodyBytes,
    seconds, messages: messages > 0 ? Math.ceil(messages / processes) : 0, senders, inflight, keys, worker,
  }));
  const timeoutMs = messages > 0 ? 900_000 : seconds * 1000 * 4 + 60_000;
  const { result, peakBytes } = await withRss(running, Promise.all(specs.map((spec) => runWorker<ProduceResult>(spec, timeoutMs))));
  const acked = result.reduce((sum, r) => sum + r.acked, 0);
  const failed = result.reduce((sum, r) => sum + r.failed, 0);
  const elapsedSec = Math.max(...result.map((r) => r.elapsedSec));
  if (acked === 0) throw new Error(`no send acknowledged (${failed} failed${result[0]?.error ? `: ${result[0].error}` : ""})`);
  const cpu = result.reduce((sum, r) => sum + r.cpuSec, 0);
  return {
    msgPerSec: Math.round(acked / elapsedSec), cpuPct: Math.round((cpu / elapsedSec) * 100), p99Ms: Math.max(...result.map((r) => r.sendP99Ms)),
    acked, failed, ackGapMaxMs: Math.max(...result.map((r) => r.ackGapMaxMs)), wallSec: Math.max(...result.map((r) => r.wallSec)), peakRss: peakBytes,
    ...(result.find((r) => r.error) ? { error: result.find((r) => r.error)!.error! } : {}),
  };
}

// ---- one target, one repetition ------------------------------------------------------------
async function runTarget(state: TargetState, rep: number, index: number): Promise<void> {
  const target = state.target;
  const tag = `${index + 1}/${states.length} ${target.id}${mode.reps > 1 ? ` rep ${rep + 1}/${mode.reps}` : ""}`;
  const dataRoot = mkdtempSync(join(tmpdir(), `bench-${target.id}-`));
  const dataDir = join(dataRoot, "data");
  mkdirSync(dataDir);
  let running: Running | null = null;
  const id = target.id;
  try {
    progress(`${tag}: starting`);
    const t0 = performance.now();
    let pinMs = 0;
    try {
      running = await target.start(dataDir);
      const pinStarted = performance.now();
      const brokerCpus = await pinBroker(running);
      pinMs = performance.now() - pinStarted;
      if (brokerCpus !== undefined) state.brokerCpus = brokerCpus;
    } catch (error) {
      throw new StartError(String(error instanceof Error ? error.message : error));
    }
    // (d) cold start: from spawning the broker to the first acknowledged send on a new topic (the
    // taskset calls of --broker-cpus not counted).
    await firstSend(target, running, t0);
    record(id, "coldStartMs", Math.round(performance.now() - t0 - pinMs));
    await Bun.sleep(1000);
    record(id, "idleRssMiB", round3(treeRss(running) / 1048576));
    let peakRss = 0;

    const stepsCpu = { total: 0, steal: 0 };
    /** keepPageCache: the step reads what the previous one wrote (the Java consumer tool). */
    const step = async (name: string, body: () => Promise<void>, keepPageCache = false): Promise<void> => {
      progress(`${tag}: ${name}`);
      if (!keepPageCache) beforeMeasurement(dataRoot);
      const before = cpuTime();
      try {
        await body();
      } catch (error) {
        recordError(id, name, error);
      }
      const after = cpuTime();
      stepsCpu.total += after.total - before.total;
      stepsCpu.steal += after.steal - before.steal;
    };

    // Warm-up (not measured): the JVM brokers need it most, every target gets the same. Sends for
    // warmupSeconds, then reads that topic back for at most as long, so that the first measured
    // backlog read (the only one in quick mode) does not carry the read path's JIT warm-up. Its own
    // topic: a RabbitMQ read takes the messages away.
    if (mode.warmupSeconds > 0) await step(`warm-up ${mode.warmupSeconds} s + read`, async () => {
      const topic = await prepareTopic(target, running!);
      const specs: WorkerSpec[] = [0, 1].map((worker) => ({
        mode: "produce", client: target.client, endpoint: running!.endpoint, topic, queues: W.queues, bytes: bodyBytes,
        seconds: mode.warmupSeconds, messages: 0, senders: 1, inflight: W.produce.inflight, keys: false, worker,
      }));
      const sent = await Promise.all(specs.map((spec) => runWorker<ProduceResult>(spec, mode.warmupSeconds * 4000 + 60_000)));
      const acked = sent.reduce((sum, r) => sum + r.acked, 0);
      await runWorker<ReadResult>(
        { mode: "read", client: target.client, endpoint: running!.endpoint, topic, queues: W.queues, expected: acked, seconds: mode.warmupSeconds },
        mode.warmupSeconds * 4000 + 60_000,
      );
    });

    // (a) produce throughput, many in flight, several client processes
    if (runs("produce")) await step(`produce ${W.produce.processes}×${W.produce.inflight} in flight`, async () => {
      const topic = await prepareTopic(target, running!);
      const r = await produceRun(target, running!, topic, W.produce.processes, 1, W.produce.inflight, false, 0);
      record(id, "produce.msgPerSec", r.msgPerSec);
      record(id, "produce.clientCpuPct", r.cpuPct);
      record(id, "produce.sendP99Ms", r.p99Ms);
      peakRss = Math.max(peakRss, r.peakRss);
    });

    // (f) 1, 16, 64 producers, with and without keys
    for (const producers of runs("producers") ? mode.producerCounts : []) {
      for (const keys of [false, true]) {
        await step(`${producers} producer${producers > 1 ? "s" : ""}${keys ? " with keys" : ""}`, async () => {
          const topic = await prepareTopic(target, running!);
          const processes = Math.min(producers, W.producerProcessesMax);
          const r = await produceRun(target, running!, topic, processes, producers / processes, 1, keys, 0);
          record(id, `producers${producers}${keys ? "keys" : ""}.msgPerSec`, r.msgPerSec);
          record(id, `producers${producers}${keys ? "keys" : ""}.clientCpuPct`, r.cpuPct);
          peakRss = Math.max(peakRss, r.peakRss);
        });
      }
    }

    // (c) end-to-end latency at fixed rates, from the scheduled send time
    for (const rate of runs("latency") ? mode.latencyRates : []) {
      await step(`latency at ${rate / 1000}k msg/s`, async () => {
        const topic = await prepareTopic(target, running!);
        const r = await runWorker<LatencyResult>(
          { mode: "latency", client: target.client, endpoint: running!.endpoint, topic, queues: W.queues, bytes: bodyBytes, rate, seconds: mode.latencySeconds },
          (mode.latencySeconds + 90) * 1000,
        );
        if (r.received === 0) throw new Error(`none of ${r.sent} messages arrived (${r.sendErrors} send errors)`);
        const k = `latency${rate / 1000}k`;
        record(id, `${k}.p50Ms`, r.p50Ms);
        record(id, `${k}.p99Ms`, r.p99Ms);
        record(id, `${k}.p999Ms`, r.p999Ms);
        record(id, `${k}.missingPct`, round3((r.missing / r.sent) * 100));
        record(id, `${k}.clientCpuPct`, Math.round((r.cpuSec / (mode.latencySeconds + 0.3)) * 100));
      });
    }

    // (b) consume a backlog
    if (runs("consume")) await step(`consume a ${mode.backlog.toLocaleString("en")}-message backlog (filling)`, async () => {
      const topic = await prepareTopic(target, running!);
      const fill = await produceRun(target, running!, topic, W.consume.fillProcesses, 1, W.consume.fillInflight, false, mode.backlog);
      peakRss = Math.max(peakRss, fill.peakRss);
      progress(`${tag}: consume a ${mode.backlog.toLocaleString("en")}-message backlog (reading)`);
      const { result: r, peakBytes } = await withRss(
        running!,
        runWorker<ReadResult>({ mode: "read", client: target.client, endpoint: running!.endpoint, topic, queues: W.queues, expected: fill.acked, seconds: 600 }, 660_000),
      );
      peakRss = Math.max(peakRss, peakBytes);
      if (r.read < fill.acked) throw new Error(`read ${r.read} of ${fill.acked} messages`);
      record(id, "consume.msgPerSec", Math.round(r.read / r.elapsedSec));
      record(id, "consume.clientCpuPct", Math.round((r.cpuSec / r.elapsedSec) * 100));
    });

    // (e) the broker's own Java benchmark tools (RocketMQ's producer loop, then its consumer reading
    // back what the producer wrote; Kafka's producer perf test)
    if (mode.javaProducer && runs("java") && (target.rocketmqProtocol || target.id === "kafka")) {
      const label = target.id === "kafka" ? "kafka-producer-perf-test" : `Java DefaultMQProducer benchmark, ${W.javaProducer.threads} threads`;
      const address = running!.endpoint.replace(/^ns:/, "");
      const produced = { topic: "", sent: 0 }; // what the consumer tool reads back
      await step(label, async () => {
        const topic = await prepareTopic(target, running!);
        const java = target.id === "kafka"
          ? kafkaProducerPerformance(address, topic, bodyBytes, mode.seconds)
          : rocketmqJavaProducer(address, topic, bodyBytes, mode.seconds, dataRoot);
        const { result, peakBytes } = await withRss(running!, java);
        peakRss = Math.max(peakRss, peakBytes);
        record(id, "javaProducer.tps", result.tps);
        record(id, "javaProducer.avgRtMs", result.avgRtMs);
        produced.topic = topic;
        produced.sent = result.sent;
      });
      const toRead = Math.min(produced.sent, mode.javaConsumerMessages);
      if (target.rocketmqProtocol && toRead > 0) {
        await step(`Java DefaultMQPushConsumer benchmark, reading ${toRead.toLocaleString("en")} messages`, async () => {
          const java = rocketmqJavaConsumer(address, produced.topic, toRead, W.javaConsumer.timeoutSeconds, dataRoot);
          const { result, peakBytes } = await withRss(running!, java);
          peakRss = Math.max(peakRss, peakBytes);
          record(id, "javaConsumer.tps", result.tps);
        }, true);
      }
    }
    if (peakRss > 0) record(id, "loadedRssMiB", round3(peakRss / 1048576));
    const steal = stealPct({ total: 0, steal: 0 }, stepsCpu);
    if (steal !== null) record(id, "stealPct", steal);
  } catch (error) {
    if (error instanceof StartError) {
      state.status = "failed";
      state.reason = `failed to start: ${error.message.slice(0, 300)}`;
      note(`${target.id}: ${state.reason}`);
    } else recordError(id, "run", error);
  } finally {
    if (running) {
      progress(`${tag}: stopping`);
      try {
        await running.stop();
      } catch (error) {
        recordError(id, "stop", error);
      }
    }
    rmSync(dataRoot, { recursive: true, force: true });
  }

  // (g) past retention on a nearly full disk: a broker of its own (other settings, a small disk),
  // so it runs once the one above has stopped.
  if (mode.retention && state.status === "ok") {
    progress(`${tag}: retention on a nearly full disk`);
    try {
      const { figures, notes } = await retentionRun({
        target, bodyBytes, progress: (text) => progress(`${tag}: ${text}`),
        prepareTopic: (running) => prepareTopic(target, running),
        produce: (running, topic, messages, seconds) => produceRun(target, running, topic, W.produce.processes, 1, W.produce.inflight, false, messages, seconds),
        firstSend: async (running) => {
          await pinBroker(running);
          await firstSend(target, running, performance.now());
        },
        sendOne: async (running, topic) => {
          const client = await openClient(target.client, running.endpoint);
          try {
            await client.send(topic, 0, new Uint8Array(bodyBytes).fill(0x61));
          } finally {
            await client.close();
          }
        },
      });
      for (const [metric, value] of Object.entries(figures)) record(id, `retention.${metric}`, value);
      for (const text of notes) recordError(id, "retention", text);
    } catch (error) {
      if (error instanceof RetentionSkip) state.retentionSkipped = error.message;
      else recordError(id, "retention", error);
    }
  }
}

/** Resolves at the first acknowledged send on a new topic; StartError after 180 s from `t0`. */
async function firstSend(target: Target, running: Running, t0: number): Promise<void> {
  for (;;) {
    try {
      const client = await openClient(target.client, running.endpoint);
      try {
        const topic = newTopic();
        await client.prepare(topic, W.queues);
        await client.send(topic, 0, new Uint8Array(bodyBytes).fill(0x61));
      } finally {
        await client.close();
      }
      return;
    } catch (error) {
      if (performance.now() - t0 > 180_000) throw new StartError(`no send accepted within 180 s: ${String(error)}`);
      await Bun.sleep(20);
    }
  }
}

// ---- page cache between measurements (lib/page_cache.ts) -----------------------------------
/** What the results say about it: dropped before each measurement, or kept and why. */
let pageCache = mode.dropPageCache
  ? "of the broker's data files dropped before each measurement (sync, then posix_fadvise DONTNEED on each file)"
  : "kept between measurements";
let pageCacheDropping = mode.dropPageCache;
let pageCacheDrops = 0;
function beforeMeasurement(dataRoot: string): void {
  if (!pageCacheDropping) return;
  const failed = dropPageCache(dataRoot);
  if (failed === null) {
    pageCacheDrops++;
    return;
  }
  pageCacheDropping = false;
  pageCache = `${pageCacheDrops > 0 ? `dropped before the first ${pageCacheDrops} measurements, then ` : ""}kept: ${failed}`;
  note(`page cache ${pageCache}`);
}

class StartError extends Error {}

// ---- main ----------------------------------------------------------------------------------
installSignalHandlers();
const loadStart = loadavg().map((l) => Math.round(l * 100) / 100);
const cpuStart = cpuTime();
note(`${modeName} run: ${states.map((s) => s.target.id).join(", ")}; ${bodyBytes} B messages, ${mode.seconds} s per measurement, ${mode.reps} run(s), backlog ${mode.backlog.toLocaleString("en")}${mode.retention ? ", with the retention workload" : ""}`);
for (const name of unknown) note(`unknown target "${name}" (known: ${[...new Set(allTargets.map((t) => t.family))].join(", ")})`);

// Clients and chart renderer live in scripts/bench/node_modules (scripts/bench/package.json).
let benchDepsError: string | null = null;
if (!existsSync(join(import.meta.dir, "node_modules/vega-lite"))) {
  progress("installing the benchmark clients (npm ci in scripts/bench)");
  const installed = await run(["npm", "ci", "--no-audit", "--no-fund"], { cwd: import.meta.dir, timeoutMs: 600_000 });
  if (installed.code !== 0) benchDepsError = `npm ci in scripts/bench failed: ${lastLine(installed.output)}`;
}

for (const state of states) {
  progress(`installing ${state.target.id}`);
  if (benchDepsError && state.target.client !== "remoting") {
    state.status = "skipped";
    state.reason = benchDepsError;
  } else {
    const reason = await state.target.install();
    if (reason) {
      state.status = "skipped";
      state.reason = reason;
    }
  }
  if (state.status !== "ok") note(`${state.target.id}: skipped: ${state.reason}`);
}

// Each rep starts one target later (A B C, B C A, C A B), so that what one target leaves behind in
// the machine falls on every target in turn, not always on the same one.
for (let rep = 0; rep < mode.reps; rep++) {
  for (let turn = 0; turn < states.length; turn++) {
    const index = (turn + rep) % states.length;
    const state = states[index]!;
    if (state.status !== "ok") continue;
    await runTarget(state, rep, index);
  }
}
killAll();
const loadEnd = loadavg().map((l) => Math.round(l * 100) / 100);

// ---- write results ---------------------------------------------------------------------------
const summary: Record<string, Record<string, Spread>> = {};
for (const [targetId, metrics] of samples) {
  summary[targetId] = {};
  for (const [metric, list] of metrics) {
    const s = spread(list);
    if (s) summary[targetId]![metric] = s;
  }
}
const now = new Date();
const results = {
  date: now.toISOString(),
  command,
  mode: modeName,
  settings: {
    ...mode, bodyBytes, queues: W.queues, pageCache, ...(pinning ? { cpuPinning: pinning } : {}),
    workloads: { produce: W.produce, consume: W.consume, javaProducer: W.javaProducer, javaConsumer: W.javaConsumer, retention: W.retention },
  },
  machine: {
    cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "?", memoryGiB: Math.round(totalmem() / 2 ** 30), kernel: release(),
    loadavgStart: loadStart, loadavgEnd: loadEnd, stealPct: stealPct(cpuStart, cpuTime()), bun: Bun.version,
  },
  targets: states.map((s) => ({
    id: s.target.id, broker: s.target.broker, durability: s.target.durability, client: s.target.clientLabel,
    status: s.status, ...(s.reason ? { reason: s.reason } : {}), ...(errors.get(s.target.id) ? { errors: errors.get(s.target.id) } : {}),
    ...(s.retentionSkipped ? { retentionSkipped: s.retentionSkipped } : {}),
    ...(s.brokerCpus !== undefined ? { brokerCpus: s.brokerCpus } : {}),
  })),
  unknownTargets: unknown,
  raw: Object.fromEntries([...samples].map(([t, m]) => [t, Object.fromEntries(m)])),
  summary,
};
mkdirSync(values.out, { recursive: true });
const stem = join(values.out, `${now.toISOString().slice(0, 10)}-${modeName}${bodyBytes !== 1024 ? `-${bodyBytes}B` : ""}`);
writeFileSync(`${stem}.json`, `${JSON.stringify(results, null, 2)}\n`);
const { markdown } = await import("./lib/report.ts");
const md = markdown(results);
writeFileSync(`${stem}.md`, md);
let chartNote = "";
if (!benchDepsError) {
  try {
    const { renderChart } = await import("./chart.ts");
    await renderChart(results, `${stem}.svg`);
    chartNote = `, ${stem}.svg`;
  } catch (error) {
    chartNote = ` (chart failed: ${String(error).slice(0, 200)})`;
  }
}
if (tty) process.stderr.write("\r\x1b[2K");
process.stdout.write(`${md}\n`);
note(`wrote ${stem}.json, ${stem}.md${chartNote}`);
process.exit(0);
