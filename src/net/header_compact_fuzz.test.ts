// Fuzz: the compact ROCKETMQ header codec. Mutated real headers and random bytes either decode
// or throw HeaderError; a decoded header re-encodes to a header that decodes the same.
import { test } from "bun:test";
import { check, expectOnly, fuzz, sameJson } from "../testing/fuzz.ts";
import { decodeCompactHeader, encodeCompactHeader } from "./header_compact.ts";
import { HeaderError } from "./header_json.ts";
import { SerializeType } from "./remoting_command.ts";

const seeds = [
  encodeCompactHeader({ code: 310, language: "JAVA", version: 401, opaque: 2, flag: 0, remark: null, extFields: { a: "PG", b: "TopicX", e: "0", i: "TAGS\u0001A\u0002" }, body: null, serializeType: SerializeType.ROCKETMQ }),
  encodeCompactHeader({ code: 0, language: "NODE_JS", version: 1, opaque: -5, flag: 1, remark: "ok ✓", extFields: {}, body: null, serializeType: SerializeType.ROCKETMQ }),
  encodeCompactHeader({ code: 11, language: "GO", version: 3, opaque: 9, flag: 2, remark: "", extFields: { ü: "ß", "": "" }, body: null, serializeType: SerializeType.ROCKETMQ }),
];

test("fuzz: compact header codec", () => {
  const count = fuzz("header_compact", 250_000, (random) => {
    const input = random.oneIn(10) ? random.bytes(random.below(64)) : random.mutate(random.pick(seeds));
    expectOnly([HeaderError], () => {
      const header = decodeCompactHeader(input);
      const again = decodeCompactHeader(encodeCompactHeader({ ...header, body: null }));
      check(sameJson(again.extFields, header.extFields), "extFields round-trip");
      check(again.opaque === header.opaque, "opaque round-trips");
    });
  });
  console.log(`fuzz header_compact: ${count} inputs`);
}, 60_000);
