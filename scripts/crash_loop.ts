// Crash loop: the compiled broker under `--flush sync` with small commit-log segments, several
// producers sending concurrently, SIGKILLed at seeded random moments and restarted. After every
// restart each acknowledged message must be readable by pull at the queue offset its ack named,
// byte for byte, in send order per queue; every other message found must be one we sent (an
// unacknowledged send may or may not have been stored); a consumer group resumes from its
// committed offset. Every few rounds the broker is stopped cleanly instead (the clean-restart path).
//
//   bun scripts/crash_loop.ts [--rounds 100] [--seed N] [--producers 4] [--inflight 8]
//
// Prints one JSON line per round and a summary; exits 1 on the first violation, naming the seed.
// test/e2e/crash.test.ts runs the same loop for ~20 rounds in `npm test`.
import { parseArgs } from "node:util";
import { Prng } from "../src/io/io.ts";
import { newRequest } from "../src/net/remoting_command.ts";
import { RequestCode } from "../src/net/request_code.ts";
import { ResponseCode } from "../src/net/response_code.ts";
import { RemotingClient } from "../src/net/tcp_client.ts";
import { decodeProperties } from "../src/protocol/message_properties.ts";
import { decodeRecords } from "../src/protocol/message_record.ts";
import { type Broker, cleanupAll, sleep, startBinary } from "../test/e2e/helpers.ts";

export interface CrashOptions {
  rounds: number;
  seed: number;
  producers: number;
  /** Sends in flight per producer (one connection each). */
  inflight: number;
  /** The kill comes this long after the producers start: uniform in [min, max). */
  killAfterMsMin: number;
  killAfterMsMax: number;
  /** Stop starting rounds after this long (the test's time budget); 0 = no limit. */
  budgetMs: number;
  /** One round in this many ends with SIGTERM instead of SIGKILL. */
  cleanStopEvery: number;
  log(line: string): void;
}

export interface CrashReport {
  seed: number;
  rounds: number;
  cleanStops: number;
  kills: number;
  acked: number;
  /** Messages found stored though their send was never acknowledged (cut off by the kill). */
  unackedStored: number;
  /** Records read back and compared, re-reads included. */
  verifiedReads: number;
  /** QUERY_MESSAGE lookups of acknowledged keys after restarts, each answered with the message. */
  queries: number;
  /** Milliseconds from spawning the restarted binary until it accepted connections. */
  restartMs: number[];
  violations: string[];
}

const topic = "CrashTopic";
const consumerGroup = "CrashCG";
const commitLogFileBytes = "1m";
const sendTimeoutMs = 10_000;

/** The body of message (producer, round, seq): 16..2015 bytes, derived from the id alone. */
export function bodyOf(id: string): Uint8Array {
  const hash = Number(BigInt.asUintN(32, Bun.hash.wyhash(id)));
  const prng = new Prng(hash);
  const bytes = new Uint8Array(16 + (hash % 2000));
  const head = new TextEncoder().encode(id);
  bytes.set(head.subarray(0, Math.min(head.length, bytes.length)));
  for (let i = head.length; i < bytes.length; i++) bytes[i] = prng.below(256);
  return bytes;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface Acked {
  id: string;
  seq: number;
}

/** Per queue (= per producer): queue offset → the acknowledged message stored there. */
type AckTable = Map<number, Acked>;

export async function crashLoop(options: CrashOptions): Promise<CrashReport> {
  const prng = new Prng(options.seed);
  const report: CrashReport = {
    seed: options.seed, rounds: 0, cleanStops: 0, kills: 0, acked: 0, unackedStored: 0, verifiedReads: 0, queries: 0, restartMs: [], violations: [],
  };
  const started = Date.now();
  const broker = await startBinary({
    extraArgs: ["--flush", "sync", "--commitlog-file-bytes", commitLogFileBytes, "--message-bytes-max", "64k", "--log-level", "error"],
  });
  const acks: AckTable[] = Array.from({ length: options.producers }, () => new Map());
  /** Per queue: offsets below this were verified after an earlier restart. */
  const verifiedTo: number[] = new Array<number>(options.producers).fill(0);
  const nextSeq: number[] = new Array<number>(options.producers).fill(0);
  const violation = (text: string): void => {
    report.violations.push(text);
    options.log(`VIOLATION (seed ${options.seed}): ${text}`);
  };
  try {
    await createTopic(broker, options.producers);
    for (let round = 0; round < options.rounds; round++) {
      if (options.budgetMs > 0 && Date.now() - started > options.budgetMs) break;
      const clean = options.cleanStopEvery > 0 && prng.below(options.cleanStopEvery) === 0;
      const killAfterMs = options.killAfterMsMin + prng.below(options.killAfterMsMax - options.killAfterMsMin);
      const stop = { now: false };
      const producers = Array.from({ length: options.producers }, (_, queueId) =>
        produce(broker, queueId, round, options.inflight, nextSeq, acks[queueId]!, stop, report),
      );
      await sleep(killAfterMs);
      if (clean) {
        stop.now = true;
        await Promise.all(producers);
        const code = await broker.stop();
        if (code !== 0) violation(`round ${round}: clean stop exited with ${code}`);
        report.cleanStops++;
      } else {
        await broker.kill();
        stop.now = true;
        await Promise.all(producers);
        report.kills++;
      }
      const restartAt = performance.now();
      await broker.start();
      report.restartMs.push(Math.round(performance.now() - restartAt));
      const before = report.verifiedReads;
      for (let queueId = 0; queueId < options.producers; queueId++) {
        await verifyQueue(broker, queueId, acks[queueId]!, verifiedTo, report, violation, round);
      }
      report.rounds++;
      options.log(JSON.stringify({
        round, stop: clean ? "SIGTERM" : "SIGKILL", killAfterMs, acked: report.acked, reads: report.verifiedReads - before,
        restartMs: report.restartMs.at(-1),
      }));
      if (report.violations.length > 0) break;
    }
    // A last full pass from offset 0: nothing acknowledged in any round went missing later.
    if (report.violations.length === 0) {
      verifiedTo.fill(0);
      for (let queueId = 0; queueId < options.producers; queueId++) {
        await verifyQueue(broker, queueId, acks[queueId]!, verifiedTo, report, violation, -1, false);
      }
    }
  } finally {
    await broker.kill().catch(() => 0);
  }
  return report;
}

async function createTopic(broker: Broker, queues: number): Promise<void> {
  const client = new RemotingClient();
  try {
    const response = await client.invoke(
      broker.brokerAddr,
      newRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, {
        topic, defaultTopic: "TBW102", readQueueNums: String(queues), writeQueueNums: String(queues), perm: "6",
        topicFilterType: "SINGLE_TAG", topicSysFlag: "0", order: "false",
      }),
      10_000,
    );
    if (response.code !== ResponseCode.SUCCESS) throw new Error(`create topic: ${response.code} ${response.remark}`);
  } finally {
    client.close();
  }
}

/** One producer: `inflight` sends at a time to its own queue, over one connection, until stopped or cut off. */
async function produce(
  broker: Broker, queueId: number, round: number, inflight: number, nextSeq: number[], acks: AckTable,
  stop: { now: boolean }, report: CrashReport,
): Promise<void> {
  const client = new RemotingClient();
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!stop.now && !failed) {
      const seq = nextSeq[queueId]!++;
      const id = `p${queueId}-r${round}-s${seq}`;
      const request = newRequest(
        RequestCode.SEND_MESSAGE_V2,
        {
          a: "CrashPG", b: topic, c: "TBW102", d: "4", e: String(queueId), f: "0", g: String(Date.now()), h: "0",
          i: `KEYS\u0001${id}\u0002WAIT\u0001true\u0002`, j: "0", k: "false", m: "false",
        },
        bodyOf(id),
      );
      try {
        const response = await client.invoke(broker.brokerAddr, request, sendTimeoutMs);
        if (response.code !== ResponseCode.SUCCESS) {
          failed = true; // e.g. SERVICE_NOT_AVAILABLE while stopping: not acknowledged
          continue;
        }
        const queueOffset = Number(response.extFields["queueOffset"]);
        acks.set(queueOffset, { id, seq });
        report.acked++;
      } catch {
        failed = true; // the connection died with the broker: not acknowledged
      }
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  client.close();
}

/** Pulls queue `queueId` from the group's committed offset (or where we verified to) to its end. */
async function verifyQueue(
  broker: Broker, queueId: number, acks: AckTable, verifiedTo: number[], report: CrashReport,
  violation: (text: string) => void, round: number, fromCommitted = true,
): Promise<void> {
  const client = new RemotingClient();
  try {
    const committedResponse = await client.invoke(
      broker.brokerAddr, newRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup, topic, queueId: String(queueId) }), 5000,
    );
    const committed = committedResponse.code === ResponseCode.SUCCESS && fromCommitted ? Number(committedResponse.extFields["offset"]) : 0;
    if (committed > verifiedTo[queueId]!) violation(`round ${round} q${queueId}: committed offset ${committed} ahead of consumed ${verifiedTo[queueId]}`);
    const maxResponse = await client.invoke(
      broker.brokerAddr, newRequest(RequestCode.GET_MAX_OFFSET, { topic, queueId: String(queueId) }), 5000,
    );
    const maxOffset = Number(maxResponse.extFields["offset"]);
    let highestAcked = -1;
    for (const offset of acks.keys()) highestAcked = Math.max(highestAcked, offset);
    if (maxOffset <= highestAcked) violation(`round ${round} q${queueId}: max offset ${maxOffset}, but offset ${highestAcked} was acknowledged`);
    let offset = Math.max(committed, verifiedTo[queueId]!);
    let lastSeq = -1;
    while (offset < maxOffset) {
      const response = await client.invoke(
        broker.brokerAddr,
        newRequest(RequestCode.PULL_MESSAGE, {
          consumerGroup, topic, queueId: String(queueId), queueOffset: String(offset), maxMsgNums: "256",
          sysFlag: String(1 | 4), commitOffset: String(offset), suspendTimeoutMillis: "0", subscription: "*",
          subVersion: "0", expressionType: "TAG",
        }),
        10_000,
      );
      if (response.code !== ResponseCode.SUCCESS || !response.body) {
        violation(`round ${round} q${queueId}: pull at ${offset} of ${maxOffset} answered ${response.code} ${response.remark}`);
        return;
      }
      for (const message of decodeRecords(response.body)) {
        report.verifiedReads++;
        if (message.queueOffset !== offset) violation(`round ${round} q${queueId}: expected offset ${offset}, got ${message.queueOffset}`);
        const id = decodeProperties(message.properties).get("KEYS") ?? "";
        if (!equalBytes(message.body, bodyOf(id))) violation(`round ${round} q${queueId}@${offset}: body of ${id} differs`);
        const acked = acks.get(offset);
        if (acked && acked.id !== id) violation(`round ${round} q${queueId}@${offset}: acknowledged ${acked.id}, stored ${id}`);
        if (!acked && offset >= verifiedTo[queueId]!) report.unackedStored++;
        const seq = Number(id.slice(id.lastIndexOf("-s") + 2));
        if (seq <= lastSeq) violation(`round ${round} q${queueId}@${offset}: seq ${seq} after ${lastSeq}`);
        lastSeq = seq;
        offset++;
      }
      offset = Math.max(offset, Number(response.extFields["nextBeginOffset"]));
    }
    verifiedTo[queueId] = Math.max(verifiedTo[queueId]!, offset);
    // The index was rebuilt too: the newest acknowledged message is found by its key.
    const newest = acks.get(highestAcked);
    if (newest) {
      const response = await client.invoke(
        broker.brokerAddr,
        newRequest(RequestCode.QUERY_MESSAGE, { topic, key: newest.id, maxNum: "4", beginTimestamp: "0", endTimestamp: String(Date.now() + 60_000) }),
        5000,
      );
      const found = response.code === ResponseCode.SUCCESS && response.body ? decodeRecords(response.body) : [];
      report.queries++;
      if (found.length !== 1 || !equalBytes(found[0]!.body, bodyOf(newest.id))) {
        violation(`round ${round} q${queueId}: QUERY_MESSAGE ${newest.id} answered ${response.code} with ${found.length} records`);
      }
    }
  } finally {
    client.close();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      rounds: { type: "string", default: "100" },
      seed: { type: "string" },
      producers: { type: "string", default: "4" },
      inflight: { type: "string", default: "8" },
    },
  });
  const seed = values.seed !== undefined ? Number(values.seed) : crypto.getRandomValues(new Uint32Array(1))[0]!;
  console.log(`crash_loop: seed ${seed} (replay: bun scripts/crash_loop.ts --seed ${seed} --rounds ${values.rounds})`);
  let report: CrashReport;
  try {
    report = await crashLoop({
      rounds: Number(values.rounds), seed, producers: Number(values.producers), inflight: Number(values.inflight),
      killAfterMsMin: 100, killAfterMsMax: 1500, budgetMs: 0, cleanStopEvery: 5, log: (line) => console.log(line),
    });
  } finally {
    cleanupAll();
  }
  const sorted = [...report.restartMs].sort((a, b) => a - b);
  console.log(JSON.stringify({
    ...report, restartMs: undefined,
    restartMsP50: sorted[Math.floor(sorted.length / 2)], restartMsMax: sorted.at(-1),
  }));
  process.exit(report.violations.length > 0 ? 1 : 0);
}
