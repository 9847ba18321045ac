// Fuzz: the commit-log record walk recovery does (checkRecord with CRC, recordTailIntact) over
// mutated runs of real records: it never throws, and every record it accepts decodes. Then whole
// recoveries: a store's last file damaged at random places still opens, keeps every record before
// the first damaged one, and ends on a record boundary.
import { smallStoreConfig } from "../testing/store_config.ts";
import { afterEach, expect, test } from "bun:test";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { realIo } from "../io/io.ts";
import { setLogLevel } from "../log.ts";
import { decodeRecord, hostBytes, recordSizes, writeRecord, checkRecord, type MessageToStore } from "../protocol/message_record.ts";
import { check, fuzz, fuzzAsync, FuzzRandom } from "../testing/fuzz.ts";
import { recordTailIntact } from "./commit_log.ts";
import { fileNameOf } from "./mapped_file.ts";
import { MessageStore, type StoreConfig } from "./message_store.ts";
import { GetStatus } from "./put_status.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function message(random: FuzzRandom, queueId: number): MessageToStore {
  return {
    topic: "T", queueId, flag: 0, body: random.bytes(8 + random.below(200)), properties: "TAGS\u0001A\u0002", sysFlag: 0,
    bornTimestamp: 1, bornHost: hostBytes("127.0.0.1", 1), storeHost: hostBytes("127.0.0.1", 10911),
    reconsumeTimes: 0, preparedTransactionOffset: 0, tagsCode: 0,
  };
}

/** Walks records as recovery does; returns where the log would end. Must never throw. */
function walk(bytes: Uint8Array): number {
  let at = 0;
  for (;;) {
    const size = checkRecord(bytes, at, bytes.length, true);
    if (size <= 0) return at;
    if (!recordTailIntact(bytes, at, size)) return at;
    check(decodeRecord(bytes, at).storeSize === size, "an accepted record decodes");
    at += size;
  }
}

test("fuzz: commit-log record walk", () => {
  const corpusRandom = new FuzzRandom(0xc0ffee);
  const corpus = Array.from({ length: 100 }, () => {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 1 + corpusRandom.below(5); i++) {
      const m = message(corpusRandom, i % 3);
      const sizes = recordSizes(m);
      const bytes = new Uint8Array(sizes.total);
      writeRecord(bytes, 0, m, sizes, i, 0, 2);
      parts.push(bytes);
    }
    return new Uint8Array(Buffer.concat(parts));
  });
  const count = fuzz("commit_log_walk", 60_000, (random) => {
    const input = random.mutate(random.pick(corpus), 1 + random.below(3));
    const end = walk(input);
    check(end >= 0 && end <= input.length, "the walk ends inside the input");
  });
  console.log(`fuzz commit_log_walk: ${count} inputs`);
}, 60_000);

test("fuzz: recovery of a damaged last file", async () => {
  const cfg = smallStoreConfig("bolide-recovery-fuzz-", dirs);
  const dataDir = cfg.dataDir;
  setLogLevel("silent"); // damaged records log consume_queue.offset_gap; expected here
  const random = new FuzzRandom(0xdeca);
  let store = new MessageStore(cfg, realIo);
  store.load();
  const boundaries: number[] = [0];
  const bodies: Uint8Array[] = [];
  for (let i = 0; i < 60; i++) {
    const m = message(random, 0);
    const result = await store.put(m);
    bodies.push(m.body);
    boundaries.push(result.physicalOffset + result.size);
  }
  await store.shutdown();
  const end = boundaries[boundaries.length - 1]!;
  const file = join(dataDir, "commitlog", fileNameOf(0));
  const pristine = readFileSync(file);
  // Every iteration starts from this intact store (log, queues, index, checkpoint), so that one
  // iteration's damage — say a flipped queue id, which no CRC covers — cannot leave consume-queue
  // state behind for the next, and FUZZ_ITERATION replays an iteration exactly.
  const snapshot = `${dataDir}.intact`;
  dirs.push(snapshot);
  cpSync(dataDir, snapshot, { recursive: true });
  const count = await fuzzAsync("commit_log_recovery", 60, async (iteration) => {
    rmSync(dataDir, { recursive: true, force: true });
    cpSync(snapshot, dataDir, { recursive: true });
    const bytes = new Uint8Array(pristine);
    const damageAt = iteration.below(end);
    bytes[damageAt] = bytes[damageAt]! ^ (1 + iteration.below(255));
    writeFileSync(file, bytes);
    if (iteration.oneIn(2)) writeFileSync(join(dataDir, "abort"), "");
    const recovered = new MessageStore(cfg, realIo);
    recovered.load();
    const maxOffset = recovered.commitLog.maxOffset;
    const damaged = boundaries.findIndex((b, k) => damageAt >= b && damageAt < boundaries[k + 1]!);
    check(boundaries.includes(maxOffset), `log ends on a record boundary (${maxOffset})`);
    check(maxOffset >= boundaries[damaged]!, `records before the damaged one kept (${maxOffset} < ${boundaries[damaged]})`);
    if (damaged > 0) {
      const first = recovered.get("T", 0, 0, 1, () => true);
      check(first.status === GetStatus.FOUND && Buffer.compare(decodeRecord(first.records[0]!).body, bodies[0]!) === 0, "first record intact");
    }
    await recovered.shutdown();
  });
  writeFileSync(file, pristine);
  store = new MessageStore(cfg, realIo);
  store.load();
  expect(store.commitLog.maxOffset).toBe(end);
  await store.shutdown();
  setLogLevel("warn");
  console.log(`fuzz commit_log_recovery: ${count} recoveries`);
}, 60_000);
