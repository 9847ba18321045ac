// Retention (old commit-log files deleted, consume queues and index follow, pulls below the new
// min get OFFSET_TOO_SMALL) and a full disk (puts refused, reads go on).
import { smallStoreConfig } from "../testing/store_config.ts";
import { afterEach, expect, test } from "bun:test";
import { readdirSync, rmSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { realIo } from "../io/io.ts";
import { javaHashCode } from "../protocol/message_properties.ts";
import { decodeRecord, hostBytes, type MessageToStore } from "../protocol/message_record.ts";
import { forcedDeleteFilesPerPassMax, MessageStore, type StoreConfig } from "./message_store.ts";
import { GetStatus, PutStatus } from "./put_status.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

let diskUsedRatio = 0.1;
function config(): StoreConfig {
  return smallStoreConfig("bolide-retention-", dirs, {
    consumeQueueEntriesPerFile: 50, indexEntriesMax: 200, deleteWhen: "99", fileReservedMs: 3600_000, diskUsedRatio: () => diskUsedRatio,
  });
}

function message(queueId: number, i: number): MessageToStore {
  const body = new Uint8Array(900).fill(i & 0xff);
  new DataView(body.buffer).setInt32(0, i);
  return {
    topic: "T", queueId, flag: 0, body, properties: `TAGS\u0001A\u0002KEYS\u0001k${i}\u0002`, sysFlag: 0,
    bornTimestamp: 1, bornHost: hostBytes("127.0.0.1", 1), storeHost: hostBytes("127.0.0.1", 10911),
    reconsumeTimes: 0, preparedTransactionOffset: 0, tagsCode: javaHashCode("A"),
  };
}

test("expired commit-log files are deleted, consume queues follow, pulls below the min are told to move", async () => {
  diskUsedRatio = 0.1;
  const cfg = config();
  let store = new MessageStore(cfg, realIo);
  store.load();
  for (let i = 0; i < 1000; i++) expect((await store.put(message(i % 2, i))).status).toBe(PutStatus.OK);
  const files = readdirSync(join(cfg.dataDir, "commitlog")).sort();
  expect(files.length).toBeGreaterThan(8);
  const now = Date.now();
  // Nothing is old yet, the hour does not match and the disk is empty: nothing goes.
  expect(store.clean(now, false).commitLogFiles).toBe(0);
  expect(store.clean(now, true).commitLogFiles).toBe(0);
  // Age the first four files by two hours: a manual pass deletes exactly those.
  for (const name of files.slice(0, 4)) utimesSync(join(cfg.dataDir, "commitlog", name), (now - 7200_000) / 1000, (now - 7200_000) / 1000);
  const cleaned = store.clean(now, true);
  expect(cleaned.commitLogFiles).toBe(4);
  expect(cleaned.consumeQueueFiles).toBeGreaterThan(0);
  expect(store.commitLog.minOffset).toBe(4 * cfg.commitLogFileBytes);
  const minOffset = store.minOffset("T", 0);
  expect(minOffset).toBeGreaterThan(0);
  expect(store.get("T", 0, 0, 32, () => true)).toMatchObject({ status: GetStatus.OFFSET_TOO_SMALL, nextBeginOffset: minOffset });
  const first = store.get("T", 0, minOffset, 1, () => true);
  expect(first.status).toBe(GetStatus.FOUND);
  expect(decodeRecord(first.records[0]!).commitLogOffset).toBeGreaterThanOrEqual(store.commitLog.minOffset);
  expect(store.recordAt("T", 0, minOffset - 1)).toBeNull();
  // Survives a restart (min offsets recomputed from the commit log), then disk pressure forces more.
  await store.shutdown();
  store = new MessageStore(cfg, realIo);
  store.load();
  expect(store.minOffset("T", 0)).toBe(minOffset);
  expect(store.maxOffset("T", 0)).toBe(500);
  // Past diskCleanForciblyRatio: young files go, oldest first, until the disk is below it again —
  // here each deleted file frees 1 % of the disk (its space comes back at once, MappedRegion.discard).
  const filesBefore = readdirSync(join(cfg.dataDir, "commitlog")).length;
  cfg.diskUsedRatio = () => 0.825 + 0.01 * (readdirSync(join(cfg.dataDir, "commitlog")).length - filesBefore + 5);
  expect(store.clean(now, false).commitLogFiles).toBe(3); // 0.875, 0.865, 0.855 → deleted; 0.845: stop
  cfg.diskUsedRatio = () => 0.99; // never gets better: at most forcedDeleteFilesPerPassMax files a pass, the last one kept
  const remaining = readdirSync(join(cfg.dataDir, "commitlog")).length;
  expect(store.clean(now, false).commitLogFiles).toBe(Math.min(forcedDeleteFilesPerPassMax, remaining - 1));
  cfg.diskUsedRatio = () => diskUsedRatio;
  expect(store.minOffset("T", 0)).toBeGreaterThan(minOffset);
  expect(store.queryMessage("T", "k999", 4, 0, Number.MAX_SAFE_INTEGER).records.length).toBe(1);
  await store.shutdown();
});

test("a full disk refuses puts with SERVICE_NOT_AVAILABLE; reads go on; puts resume when space returns", async () => {
  diskUsedRatio = 0.1;
  const cfg = config();
  const store = new MessageStore(cfg, realIo);
  store.load();
  for (let i = 0; i < 10; i++) await store.put(message(0, i));
  diskUsedRatio = 0.95;
  store.checkDisk();
  expect(store.diskFull).toBe(true);
  expect((await store.put(message(0, 10))).status).toBe(PutStatus.SERVICE_NOT_AVAILABLE);
  expect(store.get("T", 0, 0, 32, () => true).records.length).toBe(10);
  diskUsedRatio = 0.5;
  store.checkDisk();
  expect((await store.put(message(0, 10))).status).toBe(PutStatus.OK);
  // A storage error while appending (a new segment that cannot be created) refuses the put too.
  const append = store.commitLog.append.bind(store.commitLog);
  store.commitLog.append = () => {
    throw Object.assign(new Error("ENOSPC: no space left on device, ftruncate"), { code: "ENOSPC" });
  };
  expect((await store.put(message(0, 11))).status).toBe(PutStatus.SERVICE_NOT_AVAILABLE);
  expect(store.diskFull).toBe(true);
  store.commitLog.append = append;
  expect(store.get("T", 0, 0, 32, () => true).records.length).toBe(11);
  expect(store.maxOffset("T", 0)).toBe(11);
  await store.shutdown();
});
