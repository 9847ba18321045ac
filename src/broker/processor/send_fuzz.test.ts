// Fuzz: SEND_BATCH_MESSAGE bodies (MessageBatch.encode's records). decodeBatch returns items
// whose bodies fit the limit, or throws RemotingError(MESSAGE_ILLEGAL); nothing else.
import { test } from "bun:test";
import { RemotingError } from "../../net/response_code.ts";
import { check, expectOnly, fuzz, FuzzRandom } from "../../testing/fuzz.ts";
import { decodeBatch } from "./send.ts";

/** One batch item as the Java client writes it: total, magic, bodyCRC, flag, body, properties. */
function item(body: Uint8Array, properties: string, flag: number): Uint8Array {
  const props = new TextEncoder().encode(properties);
  const out = new Uint8Array(20 + body.length + 2 + props.length);
  const view = new DataView(out.buffer);
  view.setInt32(0, out.length);
  view.setInt32(4, 0);
  view.setInt32(8, Bun.hash.crc32(body) & 0x7fffffff);
  view.setInt32(12, flag);
  view.setInt32(16, body.length);
  out.set(body, 20);
  view.setInt16(20 + body.length, props.length);
  out.set(props, 22 + body.length);
  return out;
}

test("fuzz: batch bodies", () => {
  const corpusRandom = new FuzzRandom(0xba7c);
  const corpus = Array.from({ length: 200 }, () =>
    new Uint8Array(Buffer.concat(Array.from({ length: 1 + corpusRandom.below(4) }, () => item(corpusRandom.bytes(corpusRandom.below(80)), corpusRandom.pick(["", "KEYS\u0001k\u0002", "TAGS\u0001A\u0002WAIT\u0001true\u0002"]), corpusRandom.below(9))))),
  );
  const header = new Map([["WAIT", "false"]]);
  const count = fuzz("batch", 150_000, (random) => {
    const input = random.mutate(random.pick(corpus), 1 + random.below(3));
    expectOnly([RemotingError], () => {
      for (const decoded of decodeBatch(input, header, 64)) check(decoded.body.length <= 64, "body within the limit");
    });
  });
  console.log(`fuzz batch: ${count} inputs`);
}, 60_000);
