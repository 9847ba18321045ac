// Fuzz: the JSON header codec. Mutated real headers and random bytes either decode to a
// well-typed command or throw HeaderError; a decoded header re-encodes and decodes the same.
import { test } from "bun:test";
import { check, expectOnly, fuzz, sameJson } from "../testing/fuzz.ts";
import { decodeJsonHeader, encodeJsonHeader, HeaderError, jsonHeaderText } from "./header_json.ts";
import { SerializeType, type RemotingCommand } from "./remoting_command.ts";

const seeds = [
  encodeJsonHeader({ code: 310, language: "JAVA", version: 401, opaque: 2, flag: 0, remark: null, extFields: { a: "PG", b: "T", e: "0" }, body: null, serializeType: SerializeType.JSON }),
  encodeJsonHeader({ code: 0, language: "NODE_JS", version: 1, opaque: -5, flag: 1, remark: "ok ✓", extFields: {}, body: null, serializeType: SerializeType.JSON }),
  new TextEncoder().encode('{"code":11,"extFields":{"queueId":3,"sub":true,"n":null,"o":{"x":[1]}},"flag":0,"language":"JAVA","opaque":"7","version":401}'),
  new TextEncoder().encode('{"code":310,"extFields":{"__proto__":"x","1":"a","b":"\\u0001","b":"c"},"opaque":1}'),
];

/** extFields as every header was decoded before strings-only objects were kept as parsed: copied, values coerced. */
function referenceExtFields(input: Uint8Array): Array<[string, string]> {
  const raw = (JSON.parse(new TextDecoder().decode(input)) as { extFields?: Record<string, unknown> | null }).extFields ?? {};
  const copy: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === null || value === undefined) continue;
    copy[key] = typeof value === "string" ? value : typeof value === "object" ? JSON.stringify(value) : String(value);
  }
  return Object.entries(copy);
}

/** The header text as it was written before jsonHeaderText: JSON.stringify of one object. */
function referenceHeaderText(command: Omit<RemotingCommand, "body">): string {
  const header: Record<string, unknown> = {
    code: command.code, extFields: command.extFields, flag: command.flag, language: command.language, opaque: command.opaque,
    serializeTypeCurrentRPC: "JSON", version: command.version,
  };
  if (command.remark !== null) header["remark"] = command.remark;
  return JSON.stringify(header);
}

test("fuzz: JSON header codec", () => {
  const count = fuzz("header_json", 150_000, (random) => {
    const input = random.oneIn(10) ? random.bytes(random.below(64)) : random.mutate(random.pick(seeds));
    expectOnly([HeaderError], () => {
      const header = decodeJsonHeader(input);
      check(Number.isInteger(header.code) && Number.isInteger(header.opaque), "integer code and opaque");
      for (const value of Object.values(header.extFields)) check(typeof value === "string", "string extFields");
      check(sameJson(Object.entries(header.extFields), referenceExtFields(input)), "extFields as the copying decoder gives them");
      const again = decodeJsonHeader(encodeJsonHeader({ ...header, body: null }));
      check(jsonHeaderText({ ...header, body: null }) === referenceHeaderText(header), "header text as JSON.stringify writes it");
      check(again.code === header.code, "code round-trips");
      check(sameJson(again.extFields, header.extFields), "extFields round-trip");
    });
  });
  console.log(`fuzz header_json: ${count} inputs`);
}, 60_000);
