import { describe, expect, test } from "bun:test";
import { Prng } from "../io/io.ts";
import { decodeFrame, encodeFrame, frameBytesMaxDefault } from "./frame.ts";
import { FrameDecoder, FrameTooLarge } from "./frame_decoder.ts";
import { HeaderError } from "./header_json.ts";
import { SerializeType, flagOneway, flagResponse, type RemotingCommand } from "./remoting_command.ts";

function command(overrides: Partial<RemotingCommand>): RemotingCommand {
  return {
    code: 310,
    language: "JAVA",
    version: 401,
    opaque: 7,
    flag: 0,
    remark: null,
    extFields: {},
    body: null,
    serializeType: SerializeType.JSON,
    ...overrides,
  };
}

/** A recorded conversation: a send, its answer, a pull, a oneway offset update, in both codecs. */
function corpus(): RemotingCommand[] {
  const out: RemotingCommand[] = [];
  for (const serializeType of [SerializeType.JSON, SerializeType.ROCKETMQ]) {
    out.push(
      command({
        serializeType,
        extFields: { a: "PG", b: "TopicX", c: "TBW102", d: "4", e: "0", f: "0", g: "1795606674682", h: "0", i: "TAGS\u0001TagA\u0002KEYS\u0001k1 k2\u0002", j: "0", k: "false" },
        body: new TextEncoder().encode("hello, wörld"),
      }),
      command({ serializeType, code: 0, flag: flagResponse, remark: "ok ✓", extFields: { msgId: "7F00000100002A9F0000000000000000", queueId: "1", queueOffset: "7" } }),
      command({ serializeType, code: 11, opaque: 2 ** 31 - 1, extFields: { consumerGroup: "G", topic: "T", queueId: "0", queueOffset: "0" } }),
      command({ serializeType, code: 15, opaque: -5, flag: flagOneway, extFields: {} }),
      command({ serializeType, code: 34, body: new Uint8Array(3000).fill(0x5a) }),
    );
  }
  return out;
}

function decodeAll(chunks: Uint8Array[]): RemotingCommand[] {
  const decoder = new FrameDecoder(frameBytesMaxDefault);
  const out: RemotingCommand[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (let frame = decoder.next(); frame !== null; frame = decoder.next()) out.push(decodeFrame(frame));
  }
  return out;
}

describe("frame decoder", () => {
  test("every frame, split at every offset, decodes to the same command", () => {
    for (const original of corpus()) {
      const wire = encodeFrame(original);
      const expected = decodeAll([wire]);
      expect(expected.length).toBe(1);
      for (let split = 0; split <= wire.length; split++) {
        expect(decodeAll([wire.subarray(0, split), wire.subarray(split)])).toEqual(expected);
      }
      expect(decodeAll([...wire].map((byte) => Uint8Array.of(byte)))).toEqual(expected);
    }
  });

  test("a whole conversation in one chunk, or cut at every offset, gives every frame in order", () => {
    const frames = corpus().map(encodeFrame);
    const wire = new Uint8Array(frames.reduce((sum, frame) => sum + frame.length, 0));
    let at = 0;
    for (const frame of frames) {
      wire.set(frame, at);
      at += frame.length;
    }
    const expected = decodeAll([wire]);
    expect(expected.length).toBe(frames.length);
    for (let split = 0; split <= wire.length; split += 7) {
      expect(decodeAll([wire.subarray(0, split), wire.subarray(split)])).toEqual(expected);
    }
  });

  test("both codecs round-trip every field", () => {
    for (const original of corpus()) {
      const decoded = decodeFrame(encodeFrame(original));
      expect(decoded.code).toBe(original.code);
      expect(decoded.language).toBe(original.language);
      expect(decoded.version).toBe(original.version);
      expect(decoded.opaque).toBe(original.opaque);
      expect(decoded.flag).toBe(original.flag);
      expect(decoded.remark).toBe(original.remark);
      expect(decoded.extFields).toEqual(original.extFields);
      expect(decoded.serializeType).toBe(original.serializeType);
      expect(decoded.body === null ? null : [...decoded.body]).toEqual(original.body === null ? null : [...original.body]);
    }
  });

  test("JSON headers from ali-ons carry numbers and booleans; they become strings", () => {
    const header = new TextEncoder().encode('{"code":310,"language":"JAVA","opaque":2,"flag":0,"version":121,"extFields":{"d":4,"k":false,"x":null}}');
    const wire = new Uint8Array(8 + header.length);
    new DataView(wire.buffer).setUint32(0, 4 + header.length);
    new DataView(wire.buffer).setUint32(4, header.length);
    wire.set(header, 8);
    const decoded = decodeFrame(wire);
    expect(decoded.extFields).toEqual({ d: "4", k: "false" });
    expect(decoded.version).toBe(121);
  });

  test("the compact codec matches the worked example byte for byte", () => {
    const wire = encodeFrame(command({ code: 14, opaque: 7, serializeType: SerializeType.ROCKETMQ, extFields: { topic: "T", queueId: "0" } }));
    const expected = "000000330100002f000e0001910000000700000000000000000000001a0005746f706963000000015400077175657565496400000001" + "30";
    expect(Buffer.from(wire).toString("hex")).toBe(expected);
  });

  test("an oversize or undersize declared length is refused before its bytes arrive", () => {
    const decoder = new FrameDecoder(1024);
    decoder.push(Uint8Array.of(0, 0, 0x10, 0));
    expect(() => decoder.next()).toThrow(FrameTooLarge);
    const small = new FrameDecoder(1024);
    small.push(Uint8Array.of(0, 0, 0, 2, 0, 0));
    expect(() => small.next()).toThrow(FrameTooLarge);
  });

  test("a header longer than its frame, bad JSON, or a bad codec byte is a HeaderError", () => {
    const wire = encodeFrame(command({}));
    const view = new DataView(wire.buffer);
    const long = wire.slice();
    new DataView(long.buffer).setUint32(4, view.getUint32(4) + 100);
    expect(() => decodeFrame(long)).toThrow(HeaderError);
    const badType = wire.slice();
    badType[4] = 7;
    expect(() => decodeFrame(badType)).toThrow(HeaderError);
    const badJson = wire.slice();
    badJson[8] = "[".charCodeAt(0);
    expect(() => decodeFrame(badJson)).toThrow(HeaderError);
  });

  test("100,000 seeded random inputs never crash the decoder (only FrameTooLarge or HeaderError)", () => {
    const prng = new Prng(20261125);
    const seeds = corpus().map(encodeFrame);
    for (let i = 0; i < 100_000; i++) {
      let bytes: Uint8Array;
      if (i % 2 === 0) {
        bytes = new Uint8Array(prng.below(64));
        for (let j = 0; j < bytes.length; j++) bytes[j] = prng.below(256);
      } else {
        // Mutate a valid frame: flips, truncation, junk appended.
        bytes = seeds[prng.below(seeds.length)]!.slice();
        for (let flips = 1 + prng.below(4); flips > 0; flips--) bytes[prng.below(bytes.length)] = prng.below(256);
        if (prng.below(4) === 0) bytes = bytes.subarray(0, prng.below(bytes.length));
      }
      const decoder = new FrameDecoder(64 * 1024);
      try {
        decoder.push(bytes);
        for (let frame = decoder.next(); frame !== null; frame = decoder.next()) decodeFrame(frame);
      } catch (error) {
        if (!(error instanceof FrameTooLarge) && !(error instanceof HeaderError)) throw error;
      }
    }
  });
});
