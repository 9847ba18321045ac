// Replication at the store level, without sockets: a master store's commit log streamed into a
// replica store in frames of random sizes (ha_frame.ts encoding, split into random socket chunks)
// must give byte-identical files, the same consume queues and index, survive a torn tail on
// restart, and refuse a frame that does not continue the log. Seeded: REPL_SEED=n replays.
import { smallStoreConfig } from "../testing/store_config.ts";
import { afterEach, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Prng, realIo } from "../io/io.ts";
import { javaHashCode } from "../protocol/message_properties.ts";
import { decodeRecord, hostBytes, type MessageToStore } from "../protocol/message_record.ts";
import { MessageStore, type StoreConfig } from "../store/message_store.ts";
import { GetStatus, PutStatus } from "../store/put_status.ts";
import { encodeFrame, encodeReport, ReadBuffer, takeFrame, takeLastReport, transferBatchBytes } from "./ha_frame.ts";

const seed = Number(process.env.REPL_SEED ?? 7);
const dirs: string[] = [];
const stores: MessageStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.shutdown().catch(() => undefined);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function config(): StoreConfig {
  return smallStoreConfig("bolide-replica-", dirs);
}

function open(cfg: StoreConfig, replica: boolean): MessageStore {
  const store = new MessageStore(cfg, realIo);
  store.replica = replica;
  store.load();
  stores.push(store);
  return store;
}

function message(i: number, prng: Prng): MessageToStore {
  const body = new Uint8Array(8 + prng.below(1000));
  for (let j = 0; j < body.length; j++) body[j] = prng.below(256);
  new DataView(body.buffer).setInt32(0, i);
  return {
    topic: `T${i % 2}`, queueId: i % 3, flag: 0, body, properties: `TAGS\u0001A\u0002KEYS\u0001k${i}\u0002`, sysFlag: 0,
    bornTimestamp: 1, bornHost: hostBytes("127.0.0.1", 1), storeHost: hostBytes("127.0.0.1", 10911),
    reconsumeTimes: 0, preparedTransactionOffset: 0, tagsCode: javaHashCode("A"),
  };
}

/** Streams master bytes from the replica's end, as HaMaster/HaSlave do, through random socket chunking. */
function replicate(master: MessageStore, replica: MessageStore, prng: Prng): void {
  const wire = new ReadBuffer();
  const pendingChunks: Uint8Array[] = [];
  let next = replica.commitLog.maxOffset === 0 ? master.commitLog.minOffset : replica.commitLog.maxOffset;
  while (next < master.commitLog.maxOffset) {
    const body = master.commitLog.readRaw(next, 1 + prng.below(transferBatchBytes))!;
    pendingChunks.push(encodeFrame(next, body));
    next += body.length;
  }
  const bytes = Buffer.concat(pendingChunks);
  for (let at = 0; at < bytes.length;) {
    const chunk = bytes.subarray(at, Math.min(bytes.length, at + 1 + prng.below(40_000)));
    at += chunk.length;
    wire.push(chunk);
    for (let frame = takeFrame(wire); frame !== null; frame = takeFrame(wire)) {
      expect(replica.appendReplicated(frame.fromOffset, frame.body)).toBe(true);
    }
  }
  expect(wire.length).toBe(0);
}

function expectSameCommitLog(a: string, b: string, upTo: number): void {
  const names = readdirSync(join(b, "commitlog")).sort();
  expect(readdirSync(join(a, "commitlog")).sort()).toEqual(names);
  for (const name of names) {
    const from = Number(name);
    if (from >= upTo) continue;
    const end = Math.min(96 * 1024, upTo - from);
    expect(Buffer.compare(readFileSync(join(a, "commitlog", name)).subarray(0, end), readFileSync(join(b, "commitlog", name)).subarray(0, end))).toBe(0);
  }
}

test("frames of random sizes in random socket chunks: identical files, queues and index on the replica", async () => {
  const prng = new Prng(seed);
  const masterCfg = config();
  const replicaCfg = config();
  const master = open(masterCfg, false);
  const replica = open(replicaCfg, true);
  const arrivals: string[] = [];
  replica.onArrival((topic, queueId, maxOffset) => arrivals.push(`${topic}/${queueId}/${maxOffset}`));
  for (let round = 0; round < 4; round++) {
    for (let i = round * 150; i < (round + 1) * 150; i++) expect((await master.put(message(i, prng))).status).toBe(PutStatus.OK);
    replicate(master, replica, prng);
    expect(replica.commitLog.maxOffset).toBe(master.commitLog.maxOffset);
  }
  expect(master.commitLog.maxOffset).toBeGreaterThan(3 * 96 * 1024); // several files, rolled at the same offsets
  expectSameCommitLog(masterCfg.dataDir, replicaCfg.dataDir, master.commitLog.maxOffset);
  expect(arrivals.length).toBe(600);
  for (const topic of ["T0", "T1"]) {
    for (let queueId = 0; queueId < 3; queueId++) {
      expect(replica.maxOffset(topic, queueId)).toBe(master.maxOffset(topic, queueId));
      const got = replica.get(topic, queueId, 0, 1000, () => true);
      const want = master.get(topic, queueId, 0, 1000, () => true);
      expect(got.status).toBe(GetStatus.FOUND);
      expect(got.records.map((r) => Buffer.from(r).toString("hex"))).toEqual(want.records.map((r) => Buffer.from(r).toString("hex")));
    }
  }
  const byKey = replica.queryMessage("T1", "k301", 10, 0, Date.now() + 1000);
  expect(byKey.records.length).toBe(1);
  expect(new DataView(decodeRecord(byKey.records[0]!).body.buffer).getInt32(decodeRecord(byKey.records[0]!).body.byteOffset)).toBe(301);
  // A replica refuses puts and frames that do not continue its log.
  expect((await replica.put(message(9999, prng))).status).toBe(PutStatus.SERVICE_NOT_AVAILABLE);
  expect(replica.appendReplicated(replica.commitLog.maxOffset + 1, new Uint8Array(4))).toBe(false);
  expect(replica.appendReplicated(replica.commitLog.maxOffset - 1, new Uint8Array(4))).toBe(false);
});

test("a replica restarted with a record cut in half drops the half and resumes from the last whole record", async () => {
  const prng = new Prng(seed + 1);
  const masterCfg = config();
  const replicaCfg = config();
  const master = open(masterCfg, false);
  for (let i = 0; i < 300; i++) await master.put(message(i, prng));
  let replica = open(replicaCfg, true);
  // Everything but the last 100 bytes: the last record arrives cut.
  const end = master.commitLog.maxOffset - 100;
  for (let at = 0; at < end;) {
    const body = master.commitLog.readRaw(at, Math.min(transferBatchBytes, end - at))!;
    expect(replica.appendReplicated(at, body)).toBe(true);
    at += body.length;
  }
  expect(replica.commitLog.maxOffset).toBe(end);
  const queuesBefore = [0, 1, 2].map((queueId) => replica.maxOffset("T1", queueId) + replica.maxOffset("T0", queueId));
  expect(queuesBefore.reduce((a, b) => a + b)).toBe(299); // the cut record was not dispatched
  await replica.shutdown();
  stores.splice(stores.indexOf(replica), 1);
  replica = open(replicaCfg, true);
  const resumeAt = replica.commitLog.maxOffset;
  expect(resumeAt).toBeLessThan(end);
  expect(resumeAt).toBeGreaterThan(end - 1100);
  replicate(master, replica, prng);
  expectSameCommitLog(masterCfg.dataDir, replicaCfg.dataDir, master.commitLog.maxOffset);
  for (let queueId = 0; queueId < 3; queueId++) expect(replica.maxOffset("T1", queueId)).toBe(master.maxOffset("T1", queueId));
});

test("reports: the master keeps the last whole 8 bytes; frames: header checks", () => {
  const buffer = new ReadBuffer();
  const two = Buffer.concat([encodeReport(5), encodeReport(2 ** 40 + 3)]);
  buffer.push(two.subarray(0, 11));
  expect(takeLastReport(buffer)).toBe(5);
  buffer.push(two.subarray(11));
  expect(takeLastReport(buffer)).toBe(2 ** 40 + 3);
  expect(takeLastReport(buffer)).toBeNull();
  // A frame byte by byte.
  const frame = encodeFrame(1234, new Uint8Array([1, 2, 3]));
  for (let i = 0; i < frame.length - 1; i++) {
    buffer.push(frame.subarray(i, i + 1));
    expect(takeFrame(buffer)).toBeNull();
  }
  buffer.push(frame.subarray(frame.length - 1));
  const taken = takeFrame(buffer)!;
  expect(taken.fromOffset).toBe(1234);
  expect([...taken.body]).toEqual([1, 2, 3]);
  const bad = new Uint8Array(12);
  new DataView(bad.buffer).setInt32(8, transferBatchBytes + 1);
  buffer.push(bad);
  expect(() => takeFrame(buffer)).toThrow();
});

test("a replica restarted right after a file's blank end marker re-receives it and rolls at the same offset", async () => {
  const prng = new Prng(seed + 2);
  const masterCfg = config();
  const replicaCfg = config();
  const master = open(masterCfg, false);
  for (let i = 0; i < 300; i++) await master.put(message(i, prng));
  const fileBytes = masterCfg.commitLogFileBytes;
  expect(master.commitLog.maxOffset).toBeGreaterThan(fileBytes);
  let replica = open(replicaCfg, true);
  for (let at = 0; at < fileBytes;) {
    const body = master.commitLog.readRaw(at, Math.min(transferBatchBytes, fileBytes - at))!;
    expect(replica.appendReplicated(at, body)).toBe(true);
    at += body.length;
  }
  expect(replica.commitLog.maxOffset).toBe(fileBytes); // the first file, whole; no second file yet
  await replica.shutdown();
  stores.splice(stores.indexOf(replica), 1);
  replica = open(replicaCfg, true);
  expect(replica.commitLog.maxOffset).toBeLessThan(fileBytes); // the marker is re-sent
  replicate(master, replica, prng);
  expectSameCommitLog(masterCfg.dataDir, replicaCfg.dataDir, master.commitLog.maxOffset);
  for (let queueId = 0; queueId < 3; queueId++) expect(replica.maxOffset("T0", queueId)).toBe(master.maxOffset("T0", queueId));
});
