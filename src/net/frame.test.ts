import { describe, expect, test } from "bun:test";
import { decodeFrame, encodeFrame, encodeFrameInto } from "./frame.ts";
import { SerializeType, flagResponse, type RemotingCommand } from "./remoting_command.ts";

function pullAnswer(serializeType: SerializeType, body: Uint8Array, bodyHeadroom?: number): RemotingCommand {
  const command: RemotingCommand = {
    code: 0, language: "JAVA", version: 401, opaque: 42, flag: flagResponse, remark: null,
    extFields: { nextBeginOffset: "32", minOffset: "0", maxOffset: "1000", suggestWhichBrokerId: "0" },
    body, serializeType,
  };
  if (bodyHeadroom !== undefined) command.bodyHeadroom = bodyHeadroom;
  return command;
}

describe("encodeFrame with bodyHeadroom", () => {
  for (const serializeType of [SerializeType.JSON, SerializeType.ROCKETMQ]) {
    test(`serialize type ${serializeType}: the head goes in front of the body, same bytes as a copied frame`, () => {
      const headroom = 512;
      const buffer = new Uint8Array(headroom + 3000).fill(0xee);
      const body = buffer.subarray(headroom);
      for (let i = 0; i < body.length; i++) body[i] = i & 0xff;
      const copied = encodeFrame(pullAnswer(serializeType, body.slice()));
      const inPlace = encodeFrame(pullAnswer(serializeType, body, headroom));
      expect(inPlace.buffer).toBe(buffer.buffer); // no new frame
      expect(inPlace.byteOffset + inPlace.length).toBe(buffer.length);
      expect(Array.from(inPlace)).toEqual(Array.from(copied));
      expect(decodeFrame(inPlace).extFields["maxOffset"]).toBe("1000");
    });

    test(`serialize type ${serializeType}: too little headroom copies and leaves the bytes before the body alone`, () => {
      const buffer = new Uint8Array(16 + 100).fill(0xee);
      const body = buffer.subarray(16);
      const frame = encodeFrame(pullAnswer(serializeType, body, 16));
      expect(frame.buffer).not.toBe(buffer.buffer);
      expect(Array.from(buffer.subarray(0, 16))).toEqual(new Array(16).fill(0xee));
      expect(Array.from(frame)).toEqual(Array.from(encodeFrame(pullAnswer(serializeType, body.slice()))));
    });
  }
});

describe("encodeFrameInto", () => {
  for (const serializeType of [SerializeType.JSON, SerializeType.ROCKETMQ]) {
    test(`serialize type ${serializeType}: the bytes of encodeFrame, with room to spare, one byte or none; 0 and nothing written where it does not`, () => {
      const command = pullAnswer(serializeType, new Uint8Array(300).fill(7));
      command.remark = "消息 too large: ключ \u{1F600}"; // multi-byte UTF-8 in the header
      const expected = encodeFrame(command);
      const target = Buffer.alloc(4096);
      for (const spare of [2000, 1, 0, -1, -expected.length + 100]) {
        const at = target.length - expected.length - spare;
        target.fill(0xee);
        const written = encodeFrameInto(command, target, at);
        if (spare >= 0) {
          expect(written).toBe(expected.length);
          expect(Array.from(target.subarray(at, at + written))).toEqual(Array.from(expected));
          expect(target[at - 1]).toBe(0xee);
        } else {
          expect(written).toBe(0);
          expect(target.every((byte) => byte === 0xee)).toBe(true);
        }
      }
    });
  }
});
