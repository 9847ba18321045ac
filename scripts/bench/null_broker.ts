// The "null broker": a Bun TCP server that speaks just enough RocketMQ remoting for the bench's raw
// remoting client (clients/remoting.ts) and stores nothing, so that each workload against it
// shows what the client and the machine can do without a broker's work:
//   - sends are acknowledged at once; per queue it keeps a count, the last body size and the first
//     8 bytes of each of the last `headsMax` bodies (the latency workload's index and marker);
//   - a pull is answered with records made up from those (the rest of each body zero);
//   - a pull with the suspend flag (a live read: the latency workload's reader) that finds nothing
//     is held until a send arrives for its queue, or for suspendTimeoutMillis: the relay a broker
//     does, minus the store.
// Records carry only what the bench client reads: the total size at 0 and the body length at 84,
// the body after it (a real client would want the rest of the MessageDecoder layout).
// GET_BROKER_CLUSTER_INFO names itself as the master, so the client finds it as usual.
//
//   bun scripts/bench/null_broker.ts --port 19911
import type { Socket } from "bun";
import { parseArgs } from "node:util";
import { decodeFrame, encodeFrame, frameBytesMaxDefault } from "../../src/net/frame.ts";
import { FrameDecoder } from "../../src/net/frame_decoder.ts";
import { newResponse, type RemotingCommand } from "../../src/net/remoting_command.ts";
import { RequestCode } from "../../src/net/request_code.ts";
import { ResponseCode } from "../../src/net/response_code.ts";

const { values } = parseArgs({ options: { port: { type: "string", default: "19911" } } });
const port = Number(values.port);
const self = `127.0.0.1:${port}`;
const clusterInfo = new TextEncoder().encode(JSON.stringify({ brokerAddrTable: { null: { brokerName: "null", brokerAddrs: { "0": self } } }, clusterAddrTable: {} }));
const sendOk = { msgId: "00000000000000000000000000000000", queueId: "0", queueOffset: "0" };

/** Where a record's body length sits (MessageDecoder, IPv4 hosts); the body follows it. */
const recordBodyLengthAt = 84;
const recordHeadBytes = recordBodyLengthAt + 4;
/** Bytes of each body kept (the latency workload's index and marker). */
const bodyHeadBytes = 8;
/** Body heads a queue keeps (a power of two); older offsets read as zero bodies. */
const headsMax = 65_536;
const pullSysFlagSuspend = 0x2;

interface HeldPull {
  socket: Socket<Conn>;
  request: RemotingCommand;
  offset: number;
  maxMessages: number;
  timer: ReturnType<typeof setTimeout>;
}
interface Queue {
  /** Messages sent so far: the next send's queue offset. */
  sent: number;
  lastBodyBytes: number;
  /** Ring: the first 8 bytes of the body at offset o at (o % headsMax) * 8. */
  heads: Uint8Array;
  held: HeldPull | null;
}
interface Conn {
  decoder: FrameDecoder;
  /** Bytes not written yet: queued this turn, or left by a partial write (sent on drain). */
  unsent: Uint8Array[];
}

const queues = new Map<string, Queue>();
function queueOf(topic: string, queueId: string): Queue {
  const key = `${topic}\u0000${queueId}`;
  let queue = queues.get(key);
  if (queue === undefined) {
    queue = { sent: 0, lastBodyBytes: 0, heads: new Uint8Array(headsMax * bodyHeadBytes), held: null };
    queues.set(key, queue);
  }
  return queue;
}

/** Queues `bytes` for `socket`; everything queued in one turn of the event loop goes out in one write. */
function write(socket: Socket<Conn>, bytes: Uint8Array): void {
  const conn = socket.data;
  conn.unsent.push(bytes);
  if (conn.unsent.length === 1) queueMicrotask(() => drain(socket));
}

function drain(socket: Socket<Conn>): void {
  const conn = socket.data;
  if (conn.unsent.length === 0) return;
  const bytes = conn.unsent.length === 1 ? conn.unsent[0]! : Buffer.concat(conn.unsent);
  const written = Math.max(socket.write(bytes), 0);
  conn.unsent.length = 0;
  if (written < bytes.length) conn.unsent.push(bytes.subarray(written));
}

/** Records of zero bodies of one size, back to back: the template answers are cut from. */
const templates = new Map<number, Uint8Array>();
function template(bodyBytes: number, count: number): Uint8Array {
  const recordBytes = recordHeadBytes + bodyBytes;
  let block = templates.get(bodyBytes);
  if (block === undefined || block.length < count * recordBytes) {
    block = new Uint8Array(Math.max(count, 32) * recordBytes);
    const view = new DataView(block.buffer);
    for (let at = 0; at < block.length; at += recordBytes) {
      view.setInt32(at, recordBytes);
      view.setInt32(at + recordBodyLengthAt, bodyBytes);
    }
    templates.set(bodyBytes, block);
  }
  return block.subarray(0, count * recordBytes);
}

/**
 * The answer to a pull at `offset`: up to `maxMessages` records, or PULL_NOT_FOUND. A live pull's
 * records carry the kept body heads; a backlog read's are all zero bodies (nobody looks at them).
 */
function pullAnswer(request: RemotingCommand, queue: Queue, offset: number, maxMessages: number, live: boolean): Uint8Array {
  const count = Math.max(0, Math.min(maxMessages, queue.sent - offset));
  const fields = { nextBeginOffset: String(offset + count), minOffset: "0", maxOffset: String(queue.sent), suggestWhichBrokerId: "0" };
  if (count === 0) return encodeFrame(newResponse(request, ResponseCode.PULL_NOT_FOUND, null, fields));
  const bodyBytes = queue.lastBodyBytes;
  const body = template(bodyBytes, count);
  if (live) {
    const recordBytes = recordHeadBytes + bodyBytes;
    const headBytes = Math.min(bodyHeadBytes, bodyBytes);
    const frame = encodeFrame(newResponse(request, ResponseCode.SUCCESS, null, fields, body));
    const bodyAt = frame.length - body.length;
    const keptFrom = queue.sent - headsMax;
    for (let i = 0; i < count; i++) {
      const o = offset + i;
      if (o < keptFrom) continue;
      const from = (o % headsMax) * bodyHeadBytes;
      frame.set(queue.heads.subarray(from, from + headBytes), bodyAt + i * recordBytes + recordHeadBytes);
    }
    return frame;
  }
  return encodeFrame(newResponse(request, ResponseCode.SUCCESS, null, fields, body));
}

function onSend(request: RemotingCommand): void {
  const v2 = request.code === RequestCode.SEND_MESSAGE_V2;
  const queue = queueOf(request.extFields[v2 ? "b" : "topic"] ?? "", request.extFields[v2 ? "e" : "queueId"] ?? "0");
  const body = request.body ?? new Uint8Array(0);
  const at = (queue.sent % headsMax) * bodyHeadBytes;
  queue.heads.fill(0, at, at + bodyHeadBytes);
  queue.heads.set(body.subarray(0, bodyHeadBytes), at);
  queue.lastBodyBytes = body.length;
  queue.sent++;
  const held = queue.held;
  if (held !== null) {
    queue.held = null;
    clearTimeout(held.timer);
    write(held.socket, pullAnswer(held.request, queue, held.offset, held.maxMessages, true));
  }
}

function onPull(socket: Socket<Conn>, request: RemotingCommand): void {
  const fields = request.extFields;
  const queue = queueOf(fields["topic"] ?? "", fields["queueId"] ?? "0");
  const offset = Number(fields["queueOffset"] ?? 0);
  const maxMessages = Number(fields["maxMsgNums"] ?? 32);
  const live = (Number(fields["sysFlag"] ?? 0) & pullSysFlagSuspend) !== 0;
  if (offset < queue.sent || !live) {
    write(socket, pullAnswer(request, queue, offset, maxMessages, live));
    return;
  }
  const earlier = queue.held;
  if (earlier !== null) {
    clearTimeout(earlier.timer);
    write(earlier.socket, pullAnswer(earlier.request, queue, earlier.offset, 0, true));
  }
  const held: HeldPull = {
    socket, request, offset, maxMessages,
    timer: setTimeout(() => {
      if (queue.held !== held) return;
      queue.held = null;
      write(socket, pullAnswer(request, queue, offset, 0, true));
    }, Number(fields["suspendTimeoutMillis"] ?? 1000)),
  };
  queue.held = held;
}

Bun.listen<Conn>({
  hostname: "127.0.0.1",
  port,
  socket: {
    open(socket) {
      socket.data = { decoder: new FrameDecoder(frameBytesMaxDefault), unsent: [] };
    },
    data(socket, chunk) {
      const decoder = socket.data.decoder;
      decoder.push(chunk);
      for (let frame = decoder.next(); frame !== null; frame = decoder.next()) {
        const request = decodeFrame(frame);
        switch (request.code) {
          case RequestCode.GET_BROKER_CLUSTER_INFO:
            write(socket, encodeFrame(newResponse(request, ResponseCode.SUCCESS, null, {}, clusterInfo)));
            break;
          case RequestCode.PULL_MESSAGE:
            onPull(socket, request);
            break;
          case RequestCode.SEND_MESSAGE:
          case RequestCode.SEND_MESSAGE_V2:
            onSend(request);
            write(socket, encodeFrame(newResponse(request, ResponseCode.SUCCESS, null, sendOk)));
            break;
          default:
            write(socket, encodeFrame(newResponse(request, ResponseCode.SUCCESS, null, sendOk)));
        }
      }
    },
    drain,
    close(socket) {
      for (const queue of queues.values()) {
        if (queue.held?.socket === socket) {
          clearTimeout(queue.held.timer);
          queue.held = null;
        }
      }
    },
  },
});
process.stdout.write(`null broker on ${self}\n`);
