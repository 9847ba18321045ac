import { expect, test } from "bun:test";
import { javaHashCode } from "./message_properties.ts";
import { checkRecord, decodeRecord, hostBytes, offsetMessageId, parseOffsetMessageId, recordSizes, writeRecord, type MessageToStore } from "./message_record.ts";

const example: MessageToStore = {
  topic: "T",
  queueId: 0,
  flag: 0,
  body: new TextEncoder().encode("hi"),
  properties: "TAGS\u0001A\u0002",
  sysFlag: 0,
  bornTimestamp: 1700000000000,
  bornHost: hostBytes("127.0.0.1", 50000),
  storeHost: hostBytes("127.0.0.1", 10911),
  reconsumeTimes: 0,
  preparedTransactionOffset: 0,
  tagsCode: javaHashCode("A"),
};

test("a stored record matches the reference's worked example byte for byte", () => {
  const sizes = recordSizes(example);
  expect(sizes.total).toBe(101);
  const bytes = new Uint8Array(101);
  writeRecord(bytes, 0, example, sizes, 0, 0, 1700000000005);
  const expected =
    "00000065daa320a7" + (Bun.hash.crc32(example.body) & 0x7fffffff).toString(16).padStart(8, "0") + "0000000000000000" +
    "0000000000000000" + "0000000000000000" + "00000000" + "0000018bcfe56800" + "7f0000010000c350" + "0000018bcfe56805" +
    "7f00000100002a9f" + "00000000" + "0000000000000000" + "000000026869" + "0154" + "0007544147530141" + "02";
  expect(Buffer.from(bytes).toString("hex")).toBe(expected);
  expect(checkRecord(bytes, 0, bytes.length, true)).toBe(101);
  const decoded = decodeRecord(bytes);
  expect(decoded.topic).toBe("T");
  expect(decoded.bornHost).toBe("127.0.0.1:50000");
  expect(decoded.storeHost).toBe("127.0.0.1:10911");
  expect(decoded.storeTimestamp).toBe(1700000000005);
  expect(offsetMessageId(example.storeHost, 0)).toBe("7F00000100002A9F0000000000000000");
  expect(parseOffsetMessageId("0A00000500002A9F0000000000012C40")).toEqual({ address: "10.0.0.5:10911", commitLogOffset: 76864 });
});

test("a corrupted body fails the CRC check; a truncated record is not a record", () => {
  const sizes = recordSizes(example);
  const bytes = new Uint8Array(sizes.total);
  writeRecord(bytes, 0, example, sizes, 3, 4096, 1);
  bytes[88] = bytes[88]! ^ 1;
  expect(checkRecord(bytes, 0, bytes.length, true)).toBe(-1);
  expect(checkRecord(bytes, 0, bytes.length, false)).toBe(101);
  expect(checkRecord(bytes, 0, 100, false)).toBe(-1);
});

test("Java String.hashCode semantics for tag codes", () => {
  expect(javaHashCode("TagA")).toBe(2598919);
  expect(javaHashCode("A")).toBe(65);
  expect(javaHashCode("a much longer tag that overflows")).toBe(-2142409375) // checked with jshell;
});

test("offsets beyond 2^32 survive the record", () => {
  const sizes = recordSizes(example);
  const bytes = new Uint8Array(sizes.total);
  writeRecord(bytes, 0, example, sizes, 2 ** 40 + 3, 3 * 2 ** 32 + 17, 1);
  const decoded = decodeRecord(bytes);
  expect(decoded.queueOffset).toBe(2 ** 40 + 3);
  expect(decoded.commitLogOffset).toBe(3 * 2 ** 32 + 17);
});
