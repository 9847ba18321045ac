// Recovery: torn tails at every byte of the last record, checkpoint + abort marker, the data-dir
// lock, and the index rebuilt by re-dispatch. Seeded: STORE_SEED=n replays one run.
import { smallStoreConfig } from "../testing/store_config.ts";
import { afterEach, expect, test } from "bun:test";
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { Prng, realIo, type Io } from "../io/io.ts";
import { javaHashCode } from "../protocol/message_properties.ts";
import { decodeRecord, hostBytes, type MessageToStore } from "../protocol/message_record.ts";
import { fileNameOf } from "./mapped_file.ts";
import { checkpointBytes } from "./checkpoint.ts";
import { DataDirLockedError } from "./data_dir_lock.ts";
import { MessageStore, type StoreConfig } from "./message_store.ts";
import { GetStatus, PutStatus } from "./put_status.ts";

const seed = Number(process.env.STORE_SEED ?? 4);
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function config(): StoreConfig {
  return smallStoreConfig("bolide-recovery-", dirs);
}

function message(queueId: number, body: Uint8Array, keys = ""): MessageToStore {
  return {
    topic: "T", queueId, flag: 0, body, properties: `TAGS\u0001A\u0002${keys ? `KEYS\u0001${keys}\u0002` : ""}`, sysFlag: 0,
    bornTimestamp: 1, bornHost: hostBytes("127.0.0.1", 1), storeHost: hostBytes("127.0.0.1", 10911),
    reconsumeTimes: 0, preparedTransactionOffset: 0, tagsCode: javaHashCode("A"),
  };
}

function bodyOf(prng: Prng, i: number, bytesMax: number): Uint8Array {
  const body = new Uint8Array(8 + prng.below(bytesMax - 8));
  for (let j = 0; j < body.length; j++) body[j] = prng.below(256);
  new DataView(body.buffer).setInt32(0, i);
  return body;
}

function open(cfg: StoreConfig): MessageStore {
  const store = new MessageStore(cfg, realIo);
  store.load();
  return store;
}

test("a torn or corrupt last record is dropped at every byte of it; every earlier record stays", async () => {
  const cfg = config();
  const prng = new Prng(seed);
  const bodies: Uint8Array[] = [];
  const queueOf = (i: number): number => i % 3;
  let store = open(cfg);
  let last = { physicalOffset: 0, size: 0 };
  for (let i = 0; i < 200; i++) {
    bodies.push(bodyOf(prng, i, i === 199 ? 64 : 1000));
    const result = await store.put(message(queueOf(i), bodies[i]!));
    expect(result.status).toBe(PutStatus.OK);
    last = result;
  }
  await store.shutdown();
  const lastFile = join(cfg.dataDir, "commitlog", fileNameOf(last.physicalOffset - (last.physicalOffset % cfg.commitLogFileBytes)));
  expect(last.physicalOffset).toBeGreaterThan(cfg.commitLogFileBytes); // the log rolled at least once
  const pristine = readFileSync(lastFile);
  const at = last.physicalOffset % cfg.commitLogFileBytes;
  const lastQueue = queueOf(199);
  const lastQueueCount = bodies.filter((_, i) => queueOf(i) === lastQueue).length;

  const damages: Array<{ name: string; apply(bytes: Uint8Array, k: number): boolean }> = [
    // A write cut short: the bytes from k on never reached the file (zero, as preallocated).
    { name: "cut", apply: (bytes, k) => (bytes.fill(0, at + k, at + last.size), true) },
    // A flipped byte where the record's checks cover it: size, magic, body (CRC), the tail.
    {
      name: "corrupt",
      apply: (bytes, k) => {
        const record = decodeRecord(pristine, at);
        const bodyStart = 84 + 4; // IPv4 hosts: body length at 84
        const bodyEnd = bodyStart + record.body.length;
        const covered = k < 8 || (k >= bodyStart && k < bodyEnd) || k === last.size - 1;
        if (!covered) return false;
        bytes[at + k] = bytes[at + k]! ^ (1 + prng.below(255));
        return true;
      },
    },
  ];
  let checks = 0;
  for (const damage of damages) {
    for (let k = 0; k < last.size; k++) {
      const bytes = new Uint8Array(pristine);
      if (!damage.apply(bytes, k)) continue;
      writeFileSync(lastFile, bytes);
      const crashed = prng.below(2) === 0;
      if (crashed) writeFileSync(join(cfg.dataDir, "abort"), "");
      store = open(cfg);
      expect(store.recovery.crashed).toBe(crashed);
      expect(store.commitLog.maxOffset).toBe(last.physicalOffset);
      expect(store.maxOffset("T", lastQueue)).toBe(lastQueueCount - 1);
      // The previous record of that queue and the first record of the damaged file are intact.
      const previous = store.get("T", lastQueue, lastQueueCount - 2, 1, () => true);
      expect(previous.status).toBe(GetStatus.FOUND);
      expect(decodeRecord(previous.records[0]!).body).toEqual(bodies[196]!);
      expect(store.get("T", lastQueue, lastQueueCount - 1, 1, () => true).status).toBe(GetStatus.OFFSET_OVERFLOW_ONE);
      const again = await store.put(message(lastQueue, bodies[199]!));
      expect(again.queueOffset).toBe(lastQueueCount - 1);
      expect(again.physicalOffset).toBe(last.physicalOffset);
      await store.shutdown();
      checks++;
    }
  }
  expect(checks).toBeGreaterThan(last.size);
  // Finally everything, from a fresh start: all 200 records, byte for byte.
  writeFileSync(lastFile, pristine);
  store = open(cfg);
  for (let queueId = 0; queueId < 3; queueId++) {
    const expected = bodies.filter((_, i) => queueOf(i) === queueId);
    const got = store.get("T", queueId, 0, 1000, () => true).records.map((record) => decodeRecord(record).body);
    expect(got).toEqual(expected);
  }
  await store.shutdown();
}, 60_000);

test("abort marker and checkpoint: clean restart walks the last file only; a crash walks from the checkpoint", async () => {
  const cfg = config();
  // Stored one second apart, so the checkpoint (last store time − 3 s) falls near the end.
  let nowMs = 1_700_000_000_000;
  const io: Io = { ...realIo, clock: { monotonicMs: () => performance.now(), realtimeMs: () => (nowMs += 1000) } };
  const open = (c: StoreConfig): MessageStore => {
    const opened = new MessageStore(c, io);
    opened.load();
    return opened;
  };
  let store = open(cfg);
  expect(store.recovery.crashed).toBe(false);
  expect(existsSync(join(cfg.dataDir, "abort"))).toBe(true);
  const body = new Uint8Array(900).fill(7);
  for (let i = 0; i < 600; i++) await store.put(message(i % 4, body));
  const end = store.commitLog.maxOffset;
  await store.shutdown();
  expect(existsSync(join(cfg.dataDir, "abort"))).toBe(false);
  expect(statSync(join(cfg.dataDir, "checkpoint")).size).toBe(checkpointBytes);
  const files = Math.ceil(end / cfg.commitLogFileBytes);
  expect(files).toBeGreaterThan(4);

  store = open(cfg);
  const lastFileStart = Math.floor(end / cfg.commitLogFileBytes) * cfg.commitLogFileBytes;
  expect(store.recovery).toMatchObject({ crashed: false, scanFrom: lastFileStart, dispatchFrom: end, redispatched: 0, maxOffset: end });
  await store.shutdown();

  // A crash now (abort left behind) with everything stored more than 3 s before the checkpoint:
  // the walk starts at the newest file whose first record is older than the checkpoint's minimum.
  writeFileSync(join(cfg.dataDir, "abort"), "");
  store = open(cfg);
  expect(store.recovery.crashed).toBe(true);
  expect(store.recovery.maxOffset).toBe(end);
  expect(store.recovery.scanFrom).toBeGreaterThan(0); // not the whole log
  expect(store.recovery.scanFrom).toBeGreaterThanOrEqual(lastFileStart - cfg.commitLogFileBytes);
  expect(store.maxOffset("T", 0)).toBe(150);
  await store.shutdown();
});

test("a second store cannot open a data dir in use; it can once the first shut down", async () => {
  const cfg = config();
  const first = open(cfg);
  expect(() => open(cfg)).toThrow(DataDirLockedError);
  await first.shutdown();
  const second = open(cfg);
  await second.shutdown();
});

test("index: query by KEYS and UNIQ_KEY; survives a clean restart; rebuilt after a crash; rolls files", async () => {
  const cfg = config();
  let store = open(cfg);
  for (let i = 0; i < 400; i++) {
    const msg = message(i % 2, new TextEncoder().encode(`m${i}`), `order-${i % 50} all`);
    msg.properties += `UNIQ_KEY\u0001U${i}\u0002`;
    await store.put(msg);
  }
  const check = (): void => {
    const found = store.queryMessage("T", "order-7", 32, 0, Number.MAX_SAFE_INTEGER);
    const bodies = found.records.map((record) => new TextDecoder().decode(decodeRecord(record).body)).sort();
    expect(bodies).toEqual(["m107", "m157", "m207", "m257", "m307", "m357", "m57", "m7"]);
    expect(found.indexLastUpdatePhyOffset).toBeGreaterThan(0);
    expect(store.queryMessage("T", "U123", 32, 0, Number.MAX_SAFE_INTEGER).records.length).toBe(1);
    expect(store.queryMessage("T", "all", 10, 0, Number.MAX_SAFE_INTEGER).records.length).toBe(10);
    expect(store.queryMessage("T", "order-", 32, 0, Number.MAX_SAFE_INTEGER).records.length).toBe(0);
    expect(store.queryMessage("Other", "order-7", 32, 0, Number.MAX_SAFE_INTEGER).records.length).toBe(0);
    expect(store.queryMessage("T", "order-7", 32, 0, 1000).records.length).toBe(0); // outside the time window
  };
  check();
  await store.shutdown();
  expect(readFileSync(join(cfg.dataDir, "checkpoint")).length).toBe(checkpointBytes);
  store = open(cfg);
  check();
  await store.shutdown();
  // Crash: abort marker left, index files lost; re-dispatch from the checkpoint rebuilds them.
  rmSync(join(cfg.dataDir, "index"), { recursive: true });
  writeFileSync(join(cfg.dataDir, "abort"), "");
  store = open(cfg);
  expect(store.recovery.crashed).toBe(true);
  check();
  await store.shutdown();
});

test("checkpoint file: a short or missing one means recover from the start", async () => {
  const cfg = config();
  let store = open(cfg);
  for (let i = 0; i < 10; i++) await store.put(message(0, new Uint8Array(10)));
  await store.shutdown();
  const fd = openSync(join(cfg.dataDir, "checkpoint"), "w");
  writeSync(fd, new Uint8Array(3));
  closeSync(fd);
  writeFileSync(join(cfg.dataDir, "abort"), "");
  store = open(cfg);
  expect(store.recovery).toMatchObject({ crashed: true, scanFrom: 0 });
  expect(store.maxOffset("T", 0)).toBe(10);
  await store.shutdown();
});
