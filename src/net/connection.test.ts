import { describe, expect, test } from "bun:test";
import { Connection, RemotingTimeout, type SocketLike } from "./connection.ts";
import { encodeFrame, frameBytesMaxDefault } from "./frame.ts";
import { flagResponse, newRequest, SerializeType, type RemotingCommand } from "./remoting_command.ts";

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
  ended = 0;
  end(): void {
    this.ended++;
  }
  terminated = 0;
  terminate(): void {
    this.terminated++;
  }
}

function answer(opaque: number, bodyBytes: number): RemotingCommand {
  return {
    code: 0, language: "JAVA", version: 401, opaque, flag: flagResponse, remark: null, extFields: {},
    body: bodyBytes > 0 ? new Uint8Array(bodyBytes).fill(opaque & 0xff) : null, serializeType: SerializeType.JSON,
  };
}

/** An answer whose body has `headroom` free bytes in front of it, as pull answers are built (pooled). */
function answerWithHeadroom(opaque: number, bodyBytes: number, headroom = 128): RemotingCommand {
  const command = answer(opaque, 0);
  command.body = new Uint8Array(new ArrayBuffer(headroom + bodyBytes), headroom, bodyBytes).fill(opaque & 0xff);
  command.bodyHeadroom = headroom;
  return command;
}

/** A socket that keeps a view of what it takes, as a TLS session may: bytes written must never change afterwards. */
class ViewKeepingSocket extends RecordingSocket {
  override write(data: Uint8Array): number {
    const taken = Math.min(data.length, this.takeMax);
    this.writes.push(data.subarray(0, taken));
    return taken;
  }
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

  test("beforeWrite runs before each write; when it says no, nothing queued leaves and the connection is closed at once", async () => {
    const socket = new RecordingSocket();
    let allow = true;
    let calls = 0;
    const beforeWrite = (): boolean => {
      calls++;
      return allow;
    };
    const connection = new Connection(socket, { frameBytesMax: frameBytesMaxDefault, sendBytesMax: 1 << 24, onRequest: () => null, beforeWrite });
    connection.send(answer(1, 10));
    connection.send(answer(2, 10));
    await Promise.resolve();
    expect(calls).toBe(1);
    expect(socket.writes.length).toBe(1);
    allow = false;
    connection.send(answer(3, 10));
    await Promise.resolve();
    expect(calls).toBe(2);
    expect(socket.writes.length).toBe(1); // answer 3 never left
    expect(connection.closed).toBe(true);
    expect(socket.terminated).toBe(1);
    expect(socket.ended).toBe(0);
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

  test("releaseWritten gets each frame built in its body's buffer once no byte of it is needed: after its last byte is written, or once copied into a batch; other frames never", async () => {
    const socket = new RecordingSocket(1000);
    const released: Uint8Array[] = [];
    const connection = new Connection(socket, {
      frameBytesMax: frameBytesMaxDefault, sendBytesMax: 1 << 24, onRequest: () => null,
      releaseWritten: (frame) => released.push(frame),
    });
    const big = answerWithHeadroom(1, 30_000);
    const small = [answerWithHeadroom(2, 10), answerWithHeadroom(3, 10)];
    connection.send(small[0]!);
    connection.send(answer(4, 10)); // an ack-like frame of its own: not the pool's business
    connection.send(small[1]!);
    connection.send(big);
    await Promise.resolve();
    // The three small frames were copied into one batch (the two in body buffers released), whose write was cut short.
    expect(released.length).toBe(2);
    expect(released.map((frame) => frame.buffer)).toEqual(small.map((command) => command.body!.buffer));
    for (let i = 0; i < 100 && connection.queuedSendBytes > 0; i++) {
      const before = released.length;
      connection.flush(true);
      if (connection.queuedSendBytes > 0) expect(released.length).toBe(before); // the big frame is not all out yet
    }
    expect(connection.queuedSendBytes).toBe(0);
    expect(released.length).toBe(3);
    expect(released[2]!.buffer).toBe(big.body!.buffer);
    expect(released[2]!.length).toBeLessThan(encodeFrame(answerWithHeadroom(1, 30_000)).length); // the rest of it, a view of the same buffer
  });

  test("write batches: bytes intact over many rounds of partial writes, whether the batch is reused (a socket that copies) or never rewritten (one that keeps views)", async () => {
    for (const copies of [true, false]) {
      let seed = 7;
      const random = (below: number): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % below;
      };
      const socket = copies ? new RecordingSocket() : new ViewKeepingSocket();
      const connection = new Connection(socket, { frameBytesMax: frameBytesMaxDefault, sendBytesMax: 1 << 26, onRequest: () => null, socketCopiesWrites: copies });
      const sent: RemotingCommand[] = [];
      for (let round = 0; round < 60; round++) {
        socket.takeMax = random(3) === 0 ? 1 + random(5000) : Infinity;
        const frames = 1 + random(400); // some rounds more than a 256 KiB batch
        for (let f = 0; f < frames; f++) {
          const command = answer(sent.length, random(10) === 0 ? 16_384 + random(20_000) : random(1500));
          command.extFields = { n: String(sent.length) };
          sent.push(command);
          connection.send(command);
        }
        await Promise.resolve();
        socket.takeMax = Infinity;
        if (random(2) === 0) connection.flush(true); // drained now, or only with the next round
      }
      connection.flush(true);
      expect(connection.queuedSendBytes).toBe(0);
      expect(Buffer.concat(socket.writes).equals(Buffer.concat(sent.map(encodeFrame)))).toBe(true);
    }
  });
});

describe("Connection invoke timeouts", () => {
  test("each invoke fails after its own timeout, through one timer; an answered one never", async () => {
    const socket = new RecordingSocket();
    const connection = new Connection(socket, { frameBytesMax: frameBytesMaxDefault, sendBytesMax: 1 << 24, onRequest: () => null });
    const started = performance.now();
    const failedAt = (promise: Promise<RemotingCommand>): Promise<number> =>
      promise.then(
        () => -1,
        (error: unknown) => {
          expect(error).toBeInstanceOf(RemotingTimeout);
          return performance.now() - started;
        },
      );
    const late = failedAt(connection.invoke(newRequest(11), 120));
    const early = failedAt(connection.invoke(newRequest(12), 40));
    const answered = newRequest(13);
    const answeredPromise = connection.invoke(answered, 60);
    setTimeout(() => connection.onData(encodeFrame({ ...answer(answered.opaque, 0) })), 10);
    expect((await answeredPromise).opaque).toBe(answered.opaque);
    const [earlyMs, lateMs] = await Promise.all([early, late]);
    expect(earlyMs).toBeGreaterThanOrEqual(39);
    expect(earlyMs).toBeLessThan(lateMs);
    expect(lateMs).toBeGreaterThanOrEqual(119);
  });
});
