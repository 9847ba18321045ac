import { describe, expect, test } from "bun:test";
import { Connection, type SocketLike } from "./connection.ts";
import { encodeFrame, frameBytesMaxDefault } from "./frame.ts";
import { flagResponse, SerializeType, type RemotingCommand } from "./remoting_command.ts";

/** A socket that takes at most `takeMax` bytes per write and records each write. */
class RecordingSocket implements SocketLike {
  readonly writes: Uint8Array[] = [];
  readonly remoteAddress = "127.0.0.1";
  constructor(public takeMax = Infinity) {}
  write(data: Uint8Array): number {
    const taken = Math.min(data.length, this.takeMax);
    this.writes.push(data.slice(0, taken));
    return taken;
  }
  end(): void {}
}

function answer(opaque: number, bodyBytes: number): RemotingCommand {
  return {
    code: 0, language: "JAVA", version: 401, opaque, flag: flagResponse, remark: null, extFields: {},
    body: bodyBytes > 0 ? new Uint8Array(bodyBytes).fill(opaque & 0xff) : null, serializeType: SerializeType.JSON,
  };
}

function joined(parts: Uint8Array[]): number[] {
  return parts.flatMap((part) => Array.from(part));
}

describe("Connection writes", () => {
  test("small frames leave in one write, a big frame on its own, in order", async () => {
    const socket = new RecordingSocket();
    const connection = new Connection(socket, { frameBytesMax: frameBytesMaxDefault, sendBytesMax: 1 << 24, onRequest: () => null });
    const commands = [answer(1, 10), answer(2, 0), answer(3, 40_000), answer(4, 5), answer(5, 20_000), answer(6, 7)];
    for (const command of commands) connection.send(command);
    await Promise.resolve();
    expect(socket.writes.map((write) => write.length)).toEqual([
      encodeFrame(commands[0]!).length + encodeFrame(commands[1]!).length,
      encodeFrame(commands[2]!).length,
      encodeFrame(commands[3]!).length,
      encodeFrame(commands[4]!).length,
      encodeFrame(commands[5]!).length,
    ]);
    expect(joined(socket.writes)).toEqual(joined(commands.map(encodeFrame)));
  });

  test("after a partial write the rest follows on drain, bytes intact", async () => {
    const socket = new RecordingSocket(1000);
    const connection = new Connection(socket, { frameBytesMax: frameBytesMaxDefault, sendBytesMax: 1 << 24, onRequest: () => null });
    const commands = [answer(1, 30_000), answer(2, 10), answer(3, 20_000)];
    for (const command of commands) connection.send(command);
    await Promise.resolve();
    for (let i = 0; i < 100 && connection.queuedSendBytes > 0; i++) connection.flush(true);
    expect(connection.queuedSendBytes).toBe(0);
    expect(joined(socket.writes)).toEqual(joined(commands.map(encodeFrame)));
  });

  test("releaseWritten gets each frame once no byte of it is needed: after its last byte is written, or once copied into a batch", async () => {
    const socket = new RecordingSocket(1000);
    const released: Uint8Array[] = [];
    const connection = new Connection(socket, {
      frameBytesMax: frameBytesMaxDefault, sendBytesMax: 1 << 24, onRequest: () => null,
      releaseWritten: (frame) => released.push(frame),
    });
    const big = answer(1, 30_000);
    connection.send(answer(2, 10));
    connection.send(answer(3, 10));
    connection.send(big);
    await Promise.resolve();
    // The two small frames were copied into one batch (released), whose write was cut short.
    expect(released.length).toBe(2);
    for (let i = 0; i < 100 && connection.queuedSendBytes > 0; i++) {
      const before = released.length;
      connection.flush(true);
      if (connection.queuedSendBytes > 0) expect(released.length).toBe(before); // the big frame is not all out yet
    }
    expect(connection.queuedSendBytes).toBe(0);
    expect(released.length).toBe(3);
    expect(released[2]!.length).toBeLessThan(encodeFrame(big).length); // the rest of it, a view of the same buffer
  });
});

