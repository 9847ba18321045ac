// Fuzz: stored message records (the pull body, the commit log). decodeRecord/decodeRecords throw
// only RecordError; checkRecord never throws; whenever checkRecord accepts a record, decodeRecord
// decodes it with the same size.
import { test } from "bun:test";
import { check, expectOnly, fuzz, FuzzRandom } from "../testing/fuzz.ts";
import { checkRecord, decodeRecord, decodeRecords, hostBytes, RecordError, recordSizes, writeRecord, type MessageToStore } from "./message_record.ts";

function randomRecords(random: FuzzRandom): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 1 + random.below(3); i > 0; i--) {
    const message: MessageToStore = {
      topic: random.pick(["T", "TopicX", "%RETRY%G", "ü"]),
      queueId: random.below(8),
      flag: random.u32() | 0,
      body: random.bytes(random.below(64)),
      properties: random.pick(["", "TAGS\u0001A\u0002", "KEYS\u0001k1 k2\u0002UNIQ_KEY\u0001X\u0002"]),
      sysFlag: random.below(16),
      bornTimestamp: 1_700_000_000_000 + random.below(1000),
      bornHost: random.oneIn(5) ? new Uint8Array(20) : hostBytes("127.0.0.1", 1 + random.below(60000)),
      storeHost: random.oneIn(5) ? new Uint8Array(20) : hostBytes("10.0.0.1", 10911),
      reconsumeTimes: random.below(3),
      preparedTransactionOffset: 0,
      tagsCode: 0,
    };
    const sizes = recordSizes(message);
    const bytes = new Uint8Array(sizes.total);
    writeRecord(bytes, 0, message, sizes, random.below(1000), random.below(1 << 20), 1_700_000_000_500);
    parts.push(bytes);
  }
  return new Uint8Array(Buffer.concat(parts));
}

test("fuzz: message records", () => {
  const corpusRandom = new FuzzRandom(0x5eed);
  const corpus = Array.from({ length: 300 }, () => randomRecords(corpusRandom));
  const count = fuzz("message_record", 200_000, (random) => {
    const input = random.oneIn(20) ? random.bytes(random.below(200)) : random.mutate(random.pick(corpus), 1 + random.below(3));
    expectOnly([RecordError], () => decodeRecords(input));
    const checkCrc = random.oneIn(2);
    const size = checkRecord(input, 0, input.length, checkCrc);
    if (size > 0) {
      const decoded = decodeRecord(input, 0);
      check(decoded.storeSize === size, "checkRecord and decodeRecord agree on the size");
    }
  });
  console.log(`fuzz message_record: ${count} inputs`);
}, 60_000);
