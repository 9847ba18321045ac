// Store benchmark: put throughput (ASYNC and SYNC flush, 1 KiB bodies, many puts in flight) and
// restart time against the amount of data kept, after a clean shutdown and after a crash
// (abort marker left behind). Runs the MessageStore in-process, no network.
//
//   bun scripts/bench/store.ts [--mib 64,256,1024] [--segment-mib 64] [--body 1024]
//
// Store times come from a fake clock that advances 1 ms per message (1,000 messages/s), so a
// crash restart re-walks only what was stored in the 3 s before the last checkpoint, as it would
// on a broker that has been running for a while. Prints one JSON line per size.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { realIo, type Io } from "../../src/io/io.ts";
import { javaHashCode } from "../../src/protocol/message_properties.ts";
import { hostBytes, type MessageToStore } from "../../src/protocol/message_record.ts";
import { MessageStore, type StoreConfig } from "../../src/store/message_store.ts";
import { PutStatus } from "../../src/store/put_status.ts";

const { values } = parseArgs({
  options: {
    mib: { type: "string", default: "64,256,1024" },
    "segment-mib": { type: "string", default: "64" },
    body: { type: "string", default: "1024" },
    inflight: { type: "string", default: "256" },
  },
});
const sizesMib = values.mib.split(",").map(Number);
const segmentBytes = Number(values["segment-mib"]) * 1024 * 1024;
const bodyBytes = Number(values.body);
const inflight = Number(values.inflight);

let fakeNowMs = 1_700_000_000_000;
const io: Io = { ...realIo, clock: { monotonicMs: () => performance.now(), realtimeMs: () => fakeNowMs++ } };

function config(dataDir: string, flush: "sync" | "async"): StoreConfig {
  return {
    dataDir, commitLogFileBytes: segmentBytes, consumeQueueEntriesPerFile: 300_000, messageBodyBytesMax: 4 * 1024 * 1024,
    flush, flushIntervalMs: 500, syncFlushTimeoutMs: 5000, pullBytesMax: 256 * 1024,
  };
}

function message(i: number, body: Uint8Array): MessageToStore {
  return {
    topic: "Bench", queueId: i % 8, flag: 0, body, properties: `TAGS\u0001A\u0002KEYS\u0001k${i}\u0002`, sysFlag: 0,
    bornTimestamp: 1, bornHost: hostBytes("127.0.0.1", 1), storeHost: hostBytes("127.0.0.1", 10911),
    reconsumeTimes: 0, preparedTransactionOffset: 0, tagsCode: javaHashCode("A"),
  };
}

async function fill(store: MessageStore, count: number): Promise<number> {
  const body = new Uint8Array(bodyBytes).fill(0x61);
  let next = 0;
  const started = performance.now();
  const lane = async (): Promise<void> => {
    while (next < count) {
      const result = await store.put(message(next++, body));
      if (result.status !== PutStatus.OK) throw new Error(`put: ${result.status}`);
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  return Math.round(count / ((performance.now() - started) / 1000));
}

function timedLoad(dataDir: string): { ms: number; store: MessageStore } {
  const store = new MessageStore(config(dataDir, "async"), io);
  const started = performance.now();
  store.load();
  return { ms: Math.round(performance.now() - started), store };
}

for (const flush of ["async", "sync"] as const) {
  const dataDir = mkdtempSync(join(tmpdir(), "bolide-bench-"));
  try {
    const store = new MessageStore(config(dataDir, flush), io);
    store.load();
    const count = Math.floor((64 * 1024 * 1024) / (bodyBytes + 150));
    const perSecond = await fill(store, count);
    await store.shutdown();
    console.log(JSON.stringify({ bench: "put", flush, bodyBytes, inflight, messages: count, messagesPerSecond: perSecond }));
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

for (const mib of sizesMib) {
  const dataDir = mkdtempSync(join(tmpdir(), "bolide-bench-"));
  try {
    let store = new MessageStore(config(dataDir, "async"), io);
    store.load();
    await fill(store, Math.floor((mib * 1024 * 1024) / (bodyBytes + 150)));
    await store.shutdown();
    const clean = timedLoad(dataDir);
    await clean.store.shutdown();
    writeFileSync(join(dataDir, "abort"), ""); // as if killed
    const crashed = timedLoad(dataDir);
    store = crashed.store;
    console.log(JSON.stringify({
      bench: "restart", dataMib: mib, segmentMib: segmentBytes / 1024 / 1024, cleanMs: clean.ms, crashMs: crashed.ms,
      crashWalkedMib: Math.round((store.commitLog.maxOffset - store.recovery.scanFrom) / 1024 / 1024),
    }));
    await store.shutdown();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
