// Restart time with a large store (issue #4: with 20 GiB stored, a send is accepted within 1 s of
// a clean restart and within 5 s after a crash). Writes `--gib` of messages (less 384 MiB, so that
// the last segment is mostly full: the worst case) into a data dir with the store directly (1 GiB
// segments, 4 KiB bodies and 1 KiB ones in the last segment, 8 queues, UNIQ_KEY per message so
// the index fills too), then, with the compiled binary (dist/bolide, ASYNC_FLUSH):
//   clean  start → SIGTERM (clean stop) → start again, timed from spawn to the first send accepted
//   crash  while a client sends (256 in flight), SIGKILL → start again, timed the same way
// `--rounds` of each. The broker's own recovery time (store.recovered, ms) is read from its log.
//
//   bun run scripts/build.ts && bun scripts/bench/restart.ts [--gib 20] [--rounds 3] [--dir /tmp] [--keep DIR]
//
// Prints a JSON line per restart and a summary. Deletes the data dir (unless --keep names one to reuse).
import { spawn, type Subprocess } from "bun";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { realIo } from "../../src/io/io.ts";
import { newRequest } from "../../src/net/remoting_command.ts";
import { RequestCode } from "../../src/net/request_code.ts";
import { ResponseCode } from "../../src/net/response_code.ts";
import { RemotingClient } from "../../src/net/tcp_client.ts";
import { javaHashCode } from "../../src/protocol/message_properties.ts";
import { hostBytes, type MessageToStore } from "../../src/protocol/message_record.ts";
import { MessageStore } from "../../src/store/message_store.ts";
import { PutStatus } from "../../src/store/put_status.ts";

const { values } = parseArgs({
  options: {
    gib: { type: "string", default: "20" },
    rounds: { type: "string", default: "3" },
    dir: { type: "string", default: "/tmp" },
    keep: { type: "string" },
  },
});
const root = join(import.meta.dir, "../..");
const ports = { namesrv: 25876, broker: 25911, http: 25080 };
const brokerAddr = `127.0.0.1:${ports.broker}`;
const segmentBytes = 1024 ** 3;
const topic = "RestartBench";
const load = (): number => Number(loadavg()[0]!.toFixed(2));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dataDir = values.keep ?? mkdtempSync(join(values.dir, "bolide-restart-"));

/** Fills the data dir through the store (no broker, no network): the fastest way to 20 GiB. */
async function fill(bytes: number): Promise<Record<string, number>> {
  const store = new MessageStore({
    dataDir, commitLogFileBytes: segmentBytes, consumeQueueEntriesPerFile: 300_000, messageBodyBytesMax: 4 * 1024 * 1024,
    flush: "async", flushIntervalMs: 500, syncFlushTimeoutMs: 5000, pullBytesMax: 256 * 1024,
  }, realIo);
  store.load();
  const bigBody = new Uint8Array(4096).fill(0x63);
  const smallBody = new Uint8Array(1024).fill(0x63);
  const lastSegmentFrom = bytes - (bytes % segmentBytes || segmentBytes);
  const bornHost = hostBytes("127.0.0.1", 1);
  const storeHost = hostBytes("127.0.0.1", ports.broker);
  const tagsCode = javaHashCode("A");
  const started = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (store.commitLog.maxOffset < bytes) {
      const i = next++;
      // The last segment gets 1 KiB bodies: the most records for a restart to walk and re-dispatch.
      const body = store.commitLog.maxOffset < lastSegmentFrom ? bigBody : smallBody;
      const message: MessageToStore = {
        topic, queueId: i % 8, flag: 0, body, properties: `TAGS\u0001A\u0002UNIQ_KEY\u0001R${i.toString(16).padStart(24, "0")}\u0002`,
        sysFlag: 0, bornTimestamp: Date.now(), bornHost, storeHost, reconsumeTimes: 0, preparedTransactionOffset: 0, tagsCode,
      };
      const result = await store.put(message);
      if (result.status !== PutStatus.OK) throw new Error(`put: ${result.status}`);
    }
  };
  await Promise.all(Array.from({ length: 64 }, lane));
  const ms = performance.now() - started;
  const written = store.commitLog.maxOffset;
  await store.shutdown();
  return { messages: next, gib: Number((written / 1024 ** 3).toFixed(2)), seconds: Math.round(ms / 1000) };
}

function startBroker(): { child: Subprocess<"ignore", "ignore", "pipe">; log: () => Promise<string> } {
  const child = spawn([
    join(root, "dist/bolide"), "--data-dir", dataDir, "--namesrv-port", String(ports.namesrv), "--broker-port", String(ports.broker),
    "--broker-ip", "127.0.0.1", "--listen-host", "127.0.0.1", "--http-port", String(ports.http), "--flush", "async",
    "--commitlog-file-bytes", "1g", "--log-level", "info",
  ], { stdout: "ignore", stderr: "pipe" }); // the log is on stderr
  let text = "";
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) text += decoder.decode(chunk);
  })();
  return { child, log: async () => (await reading, text) };
}

function sendRequest(index: number) {
  return newRequest(RequestCode.SEND_MESSAGE_V2, {
    a: "RestartPG", b: topic, c: "TBW102", d: "8", e: String(index % 8), f: "0", g: String(Date.now()), h: "0",
    i: "WAIT\u0001true\u0002", j: "0", k: "false", m: "false",
  }, new Uint8Array(1024).fill(0x64));
}

/** Spawns the broker and retries one send until it is accepted; ms from spawn to the answer. */
async function timedStart(): Promise<{ ms: number; broker: ReturnType<typeof startBroker> }> {
  const started = performance.now();
  const broker = startBroker();
  const client = new RemotingClient();
  try {
    for (;;) {
      const ok = await client.invoke(brokerAddr, sendRequest(0), 2000).then((r) => r.code === ResponseCode.SUCCESS, () => false);
      if (ok) return { ms: Math.round(performance.now() - started), broker };
      if (performance.now() - started > 120_000) throw new Error("no send accepted within 120 s");
      await Bun.sleep(5);
    }
  } finally {
    client.close();
  }
}

/** Sends for `ms` with 256 in flight, then SIGKILLs the broker while they are still going. */
async function loadThenKill(child: Subprocess, ms: number): Promise<number> {
  const client = new RemotingClient();
  let stop = false;
  let acked = 0;
  const lane = async (): Promise<void> => {
    for (let i = 0; !stop; i++) {
      const ok = await client.invoke(brokerAddr, sendRequest(i), 5000).then((r) => r.code === ResponseCode.SUCCESS, () => false);
      if (!ok) return;
      acked++;
    }
  };
  const lanes = Promise.all(Array.from({ length: 256 }, lane));
  await Bun.sleep(ms);
  child.kill("SIGKILL");
  stop = true;
  await child.exited;
  await lanes;
  client.close();
  return acked;
}

const recoveredOf = (log: string): Record<string, unknown> | null => {
  const line = log.split("\n").find((l) => l.includes('"store.recovered"'));
  return line ? (JSON.parse(line) as Record<string, unknown>) : null;
};

try {
  if (!values.keep || !existsSync(join(dataDir, "commitlog"))) {
    // Stop 384 MiB short of a segment end: the last segment is mostly full through every round
    // (each round appends some 100-200 MiB), the worst case for both walks.
    const filled = await fill(Number(values.gib) * 1024 ** 3 - 384 * 1024 ** 2);
    console.log(JSON.stringify({ bench: "fill", ...filled, load: load() }));
  }
  const clean: number[] = [];
  const crash: number[] = [];
  for (let round = 0; round < Number(values.rounds); round++) {
    // Clean: a broker that ran and stopped on SIGTERM, started again.
    let { broker } = await timedStart();
    broker.child.kill("SIGTERM");
    await broker.child.exited;
    const cleanStart = await timedStart();
    clean.push(cleanStart.ms);
    console.log(JSON.stringify({ bench: "restart", kind: "clean", round, firstSendMs: cleanStart.ms, recovery: recoveredOf(await stopAndLog(cleanStart.broker, "SIGTERM")), load: load() }));
    // Crash: killed with SIGKILL under load, started again.
    broker = (await timedStart()).broker;
    const acked = await loadThenKill(broker.child, 3000);
    const crashStart = await timedStart();
    crash.push(crashStart.ms);
    console.log(JSON.stringify({ bench: "restart", kind: "crash", round, ackedBeforeKill: acked, firstSendMs: crashStart.ms, recovery: recoveredOf(await stopAndLog(crashStart.broker, "SIGTERM")), load: load() }));
  }
  console.log(JSON.stringify({
    summary: "restart → first accepted send", gib: Number(values.gib), rounds: Number(values.rounds),
    cleanMsMedian: median(clean), cleanMsMax: Math.max(...clean), crashMsMedian: median(crash), crashMsMax: Math.max(...crash), load: load(),
  }));
} finally {
  if (!values.keep) rmSync(dataDir, { recursive: true, force: true });
}

async function stopAndLog(broker: ReturnType<typeof startBroker>, signal: "SIGTERM" | "SIGKILL"): Promise<string> {
  broker.child.kill(signal);
  await broker.child.exited;
  return broker.log();
}
