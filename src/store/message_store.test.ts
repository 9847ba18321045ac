import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, readdirSync, openSync, writeSync, closeSync, readSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { realIo } from "../io/io.ts";
import { hostBytes, decodeRecord, type MessageToStore } from "../protocol/message_record.ts";
import { decodeProperties, javaHashCode } from "../protocol/message_properties.ts";
import { lastPropertyValue, MessageStore, RecordSpans, type StoreConfig } from "./message_store.ts";
import { GetStatus, PutStatus } from "./put_status.ts";
import { diskMapper, type FileMapper } from "./file_mapper.ts";
import { fileNameOf } from "./mapped_file.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function config(): StoreConfig {
  const dataDir = mkdtempSync(join(tmpdir(), "bolide-store-"));
  dirs.push(dataDir);
  return {
    dataDir,
    commitLogFileBytes: 256 * 1024,
    consumeQueueEntriesPerFile: 100,
    messageBodyBytesMax: 64 * 1024,
    flush: "async",
    flushIntervalMs: 50,
    syncFlushTimeoutMs: 5000,
    pullBytesMax: 256 * 1024,
  };
}

function message(topic: string, queueId: number, text: string, tag = "A"): MessageToStore {
  return {
    topic, queueId, flag: 0, body: new TextEncoder().encode(text), properties: `TAGS\u0001${tag}\u0002`, sysFlag: 0,
    bornTimestamp: 1, bornHost: hostBytes("127.0.0.1", 1), storeHost: hostBytes("127.0.0.1", 10911),
    reconsumeTimes: 0, preparedTransactionOffset: 0, tagsCode: javaHashCode(tag),
  };
}

test("messages survive a clean restart across several commit-log files and consume-queue files", async () => {
  const cfg = config();
  let store = new MessageStore(cfg, realIo);
  store.load();
  const body = "x".repeat(3000);
  for (let i = 0; i < 500; i++) {
    const result = await store.put(message("T", i % 2, `${i}:${body}`));
    expect(result.status).toBe(PutStatus.OK);
    expect(result.queueOffset).toBe(Math.floor(i / 2));
  }
  await store.shutdown();
  expect(readdirSync(join(cfg.dataDir, "commitlog")).length).toBeGreaterThan(3);
  store = new MessageStore(cfg, realIo);
  store.load();
  expect(store.maxOffset("T", 0)).toBe(250);
  expect(store.maxOffset("T", 1)).toBe(250);
  const seen: string[] = [];
  for (const queueId of [0, 1]) {
    for (let offset = 0; offset < 250; ) {
      const got = store.get("T", queueId, offset, 32, () => true);
      expect(got.status).toBe(GetStatus.FOUND);
      for (const record of got.records) seen.push(new TextDecoder().decode(decodeRecord(record).body).split(":")[0]!);
      offset = got.nextBeginOffset;
    }
  }
  expect(new Set(seen).size).toBe(500);
  await store.shutdown();
});

test("a torn last record is cut off and its consume-queue entry dropped; earlier ones stay", async () => {
  const cfg = config();
  let store = new MessageStore(cfg, realIo);
  store.load();
  for (let i = 0; i < 10; i++) await store.put(message("T", 0, `m${i}`));
  const end = store.commitLog.maxOffset;
  await store.shutdown();
  // Corrupt the body of the last record (as a crash mid-write would leave it).
  const fd = openSync(join(cfg.dataDir, "commitlog", "00000000000000000000"), "r+");
  writeSync(fd, Uint8Array.of(0xff, 0xff), 0, 2, end - 13); // the body "m9": props (9) and topic (2) follow it
  closeSync(fd);
  store = new MessageStore(cfg, realIo);
  store.load();
  expect(store.maxOffset("T", 0)).toBe(9);
  const next = await store.put(message("T", 0, "after"));
  expect(next.queueOffset).toBe(9);
  await store.shutdown();
});

test("lost consume-queue entries are rebuilt from the commit log", async () => {
  const cfg = config();
  let store = new MessageStore(cfg, realIo);
  store.load();
  for (let i = 0; i < 20; i++) await store.put(message("T", 0, `m${i}`));
  await store.shutdown();
  rmSync(join(cfg.dataDir, "consumequeue"), { recursive: true });
  store = new MessageStore(cfg, realIo);
  store.load();
  expect(store.maxOffset("T", 0)).toBe(20);
  expect(store.get("T", 0, 0, 32, () => true).records.length).toBe(20);
  await store.shutdown();
});

test("pull statuses: empty queue, offset too big, tag filter", async () => {
  const cfg = config();
  const store = new MessageStore(cfg, realIo);
  store.load();
  expect(store.get("T", 0, 0, 32, () => true).status).toBe(GetStatus.NO_MATCHED_LOGIC_QUEUE);
  await store.put(message("T", 0, "a", "A"));
  await store.put(message("T", 0, "b", "B"));
  expect(store.get("T", 0, 2, 32, () => true).status).toBe(GetStatus.OFFSET_OVERFLOW_ONE);
  expect(store.get("T", 0, 5, 32, () => true)).toMatchObject({ status: GetStatus.OFFSET_OVERFLOW_BADLY, nextBeginOffset: 2 });
  const onlyB = store.get("T", 0, 0, 32, (code) => code === javaHashCode("B"));
  expect(onlyB.records.length).toBe(1);
  expect(onlyB.nextBeginOffset).toBe(2);
  expect(store.get("T", 0, 0, 1, (code) => code === javaHashCode("C"))).toMatchObject({ status: GetStatus.NO_MATCHED_MESSAGE, nextBeginOffset: 2 });
  await store.shutdown();
});

test("SYNC flush acknowledges after an fsync shared by concurrent puts", async () => {
  const cfg = { ...config(), flush: "sync" as const };
  const store = new MessageStore(cfg, realIo);
  store.load();
  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.put(message("T", 0, `m${i}`))));
  expect(results.every((result) => result.status === PutStatus.OK)).toBe(true);
  expect(store.commitLog.flushedOffset).toBe(store.commitLog.maxOffset);
  await store.shutdown();
});

test("lastPropertyValue agrees with decodeProperties on random property strings (recovery's tag code)", () => {
  let seed = 7;
  const below = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = ["TAGS", "KEYS", "T", "AGS", "\u0001", "\u0002", "a", "b", "XTAGS"];
  for (let i = 0; i < 20_000; i++) {
    let text = "";
    for (let j = below(12); j > 0; j--) text += alphabet[below(alphabet.length)];
    for (const name of ["TAGS", "KEYS", "a"]) expect(lastPropertyValue(text, name)).toBe(decodeProperties(text).get(name));
  }
});

test("get() into RecordSpans locates the same records get() views, across commit-log files, with tag filters", async () => {
  const store = new MessageStore(config(), realIo);
  store.load();
  for (let i = 0; i < 300; i++) await store.put(message("T", i % 3, `${i}:${"y".repeat(2000)}`, i % 5 === 0 ? "B" : "A"));
  const spans = new RecordSpans();
  for (const accept of [() => true, (code: number) => code === javaHashCode("B")]) {
    for (const queueId of [0, 1, 2]) {
      for (let offset = 0; offset < 100; ) {
        const viewed = store.get("T", queueId, offset, 32, accept);
        const located = store.get("T", queueId, offset, 32, accept, spans);
        expect(located).toMatchObject({ status: viewed.status, nextBeginOffset: viewed.nextBeginOffset, recordCount: viewed.recordCount, recordBytes: viewed.recordBytes });
        expect(located.records.length).toBe(0);
        expect(spans.count).toBe(viewed.records.length);
        viewed.records.forEach((record, i) => {
          const segment = spans.segments[i]!;
          expect(Array.from(segment.subarray(spans.positions[i]!, spans.positions[i]! + spans.sizes[i]!))).toEqual(Array.from(record));
        });
        if (viewed.records.length > 0) expect(spans.lastPhysicalOffset).toBe(Number(new DataView(viewed.records.at(-1)!.buffer, viewed.records.at(-1)!.byteOffset).getBigInt64(28)));
        offset = viewed.nextBeginOffset;
      }
    }
  }
  await store.shutdown();
});

test.each(["async", "sync"] as const)("staged appends (%s flush) reach the file at the end of the turn, before any reader sees them, and when commitAppends() asks; a failed write refuses puts", async (flush) => {
  let failWrites = false;
  // The disk, except that writes through the file fail with EIO while failWrites is set.
  const failing: FileMapper = {
    map(path, fileBytes, reserve) {
      const region = diskMapper.map(path, fileBytes, reserve);
      return Object.assign(Object.create(region) as typeof region, {
        write(source: Uint8Array, position: number) {
          if (failWrites) throw Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" });
          region.write(source, position);
        },
      });
    },
  };
  const cfg = { ...config(), flush, flushIntervalMs: 60_000, commitLogFileBytes: 1024 * 1024, fileMapper: failing };
  const store = new MessageStore(cfg, realIo);
  store.load();
  /** The commit log's bytes as the file has them (pread: what a killed process leaves behind). */
  const inFile = (offset: number, size: number): Uint8Array => {
    const fd = openSync(join(cfg.dataDir, "commitlog", fileNameOf(0)), "r");
    const bytes = new Uint8Array(size);
    readSync(fd, bytes, 0, size, offset);
    closeSync(fd);
    return bytes;
  };
  const stored = (result: { physicalOffset: number; size: number }): boolean => {
    const bytes = inFile(result.physicalOffset, result.size);
    return new DataView(bytes.buffer).getInt32(0) === result.size;
  };

  const first = store.putNow(message("T", 0, "first"));
  expect(first.status).toBe(PutStatus.OK);
  expect(stored(first)).toBe(false); // staged: still in the process only
  await Promise.resolve(); // the end of the turn
  expect(stored(first)).toBe(true);

  const second = store.putNow(message("T", 0, "second"));
  expect(stored(second)).toBe(false);
  const got = store.get("T", 0, 1, 1, () => true); // a reader in the same turn
  expect(got.status).toBe(GetStatus.FOUND);
  expect(new TextDecoder().decode(decodeRecord(got.records[0]!).body)).toBe("second");
  expect(stored(second)).toBe(true);

  const third = store.putNow(message("T", 0, "third"));
  expect(stored(third)).toBe(false);
  expect(store.commitAppends()).toBe(true); // what the broker calls before its answers leave
  expect(stored(third)).toBe(true);

  if (flush === "sync") {
    // Every commit is a pwrite under SYNC_FLUSH (under ASYNC a commit this small is copied into the mapping).
    failWrites = true;
    const fourth = store.putNow(message("T", 0, "fourth"));
    expect(fourth.status).toBe(PutStatus.OK); // staged; the write fails at the end of the turn
    await Promise.resolve();
    expect(stored(fourth)).toBe(false);
    expect(store.commitAppends()).toBe(false); // the broker must not answer for it
    expect(store.refusalReason()).toContain("EIO");
    expect(store.putNow(message("T", 0, "fifth")).status).toBe(PutStatus.SERVICE_NOT_AVAILABLE);
    failWrites = false;
    expect(store.commitAppends()).toBe(true); // the staged record is written on the next try
    expect(stored(fourth)).toBe(true);
  }
  await store.shutdown();
});
