// Fuzz: the frame decoder and decodeFrame over mutated streams of real frames in random chunks.
// Only FrameTooLarge and HeaderError may come out; a stream of valid frames in any chunking
// decodes to the same commands. Replay: FUZZ_SEED=s FUZZ_ITERATION=i (src/testing/fuzz.ts).
import { test } from "bun:test";
import { check, expectOnly, fuzz, FuzzRandom } from "../testing/fuzz.ts";
import { decodeFrame, encodeFrame } from "./frame.ts";
import { FrameDecoder, FrameTooLarge } from "./frame_decoder.ts";
import { HeaderError } from "./header_json.ts";
import { SerializeType, type RemotingCommand } from "./remoting_command.ts";

const frameBytesMax = 64 * 1024;

function randomCommand(random: FuzzRandom): RemotingCommand {
  const extFields: Record<string, string> = {};
  for (let i = random.below(6); i > 0; i--) extFields[random.pick(["a", "topic", "queueId", "ü", "k\u0001"])] = String(random.u32());
  return {
    code: random.below(400),
    language: random.pick(["JAVA", "NODE_JS", "OTHER"]),
    version: random.below(500),
    opaque: random.u32() | 0,
    flag: random.below(4),
    remark: random.oneIn(3) ? "remark ✓" : null,
    extFields,
    body: random.oneIn(2) ? random.bytes(random.below(200)) : null,
    serializeType: random.oneIn(2) ? SerializeType.JSON : SerializeType.ROCKETMQ,
  };
}

function feed(random: FuzzRandom, stream: Uint8Array, onFrame: (command: RemotingCommand) => void): void {
  const decoder = new FrameDecoder(frameBytesMax);
  let at = 0;
  while (at < stream.length) {
    const take = 1 + random.below(random.oneIn(4) ? 8 : 400);
    decoder.push(stream.subarray(at, at + take));
    at += take;
    if (random.oneIn(8)) decoder.retain();
    for (let frame = decoder.next(); frame !== null; frame = decoder.next()) onFrame(decodeFrame(frame));
  }
}

test("fuzz: frame decoder", () => {
  // A corpus of real streams made once (seeded), then mutated per input.
  const corpus: Array<{ stream: Uint8Array; frames: number }> = [];
  const corpusRandom = new FuzzRandom(0xf4a3e);
  for (let i = 0; i < 200; i++) {
    const commands = Array.from({ length: 1 + corpusRandom.below(4) }, () => randomCommand(corpusRandom));
    corpus.push({ stream: new Uint8Array(Buffer.concat(commands.map(encodeFrame))), frames: commands.length });
  }
  let valid = 0;
  const count = fuzz("frame_decoder", 40_000, (random) => {
    const { stream, frames } = random.pick(corpus);
    if (random.oneIn(8)) {
      let decoded = 0;
      feed(random, stream, () => decoded++);
      check(decoded === frames, "every valid frame decodes");
      valid++;
      return;
    }
    expectOnly([FrameTooLarge, HeaderError], () => feed(random, random.mutate(stream), () => {}));
  });
  console.log(`fuzz frame_decoder: ${count} inputs (${valid} valid streams checked)`);
}, 60_000);
