/**
 * The HA wire format (src/repl/ha_frame.ts): RocketMQ 4.x master/slave replication, raw TCP on
 * the master's haListenPort, no remoting framing. Everything is big-endian.
 *
 *   slave → master, "report": the slave's commit-log end (its max physical offset)
 *     ┌──────────────────────────┐
 *     │ 8  maxPhysicalOffset i64 │   on connect (the master starts streaming from it), after
 *     └──────────────────────────┘   every received frame was appended, and every 5 s
 *                                    (haSendHeartbeatInterval). The master keeps the last
 *                                    complete 8 bytes it read as the slave's acknowledged offset.
 *
 *   master → slave, "frame": commit-log bytes from `fromOffset` on
 *     ┌──────────────────────────┬──────────────┬────────────────────────┐
 *     │ 8  fromOffset i64        │ 4  size i32  │ size  commit-log bytes │   12 + size bytes
 *     └──────────────────────────┴──────────────┴────────────────────────┘
 *     size ≤ haTransferBatchSize (32 KiB); the bytes never cross a commit-log file boundary
 *     and may cut a record anywhere (the slave's reput parses them). size 0 is a heartbeat
 *     (sent after 5 s with nothing to send) and fromOffset is then the master's next offset.
 */
import { assert } from "../assert.ts";

export const reportBytes = 8;
export const frameHeaderBytes = 8 + 4;
/** RocketMQ's haTransferBatchSize. */
export const transferBatchBytes = 32 * 1024;
/** RocketMQ's haSendHeartbeatInterval: the slave reports at least this often; an idle master sends an empty frame. */
export const heartbeatIntervalMs = 5_000;
/** RocketMQ's haHousekeepingInterval: either side closes a connection it read nothing from for this long. */
export const housekeepingIntervalMs = 20_000;

export function encodeReport(maxPhysicalOffset: number): Uint8Array {
  assert(Number.isSafeInteger(maxPhysicalOffset) && maxPhysicalOffset >= 0, "report offset");
  const out = new Uint8Array(reportBytes);
  new DataView(out.buffer).setBigInt64(0, BigInt(maxPhysicalOffset));
  return out;
}

/** Frame header + body in one buffer (the body is copied: the source may be a mapped file). */
export function encodeFrame(fromOffset: number, body: Uint8Array): Uint8Array {
  assert(body.length <= transferBatchBytes, "frame body over haTransferBatchSize");
  const out = new Uint8Array(frameHeaderBytes + body.length);
  const view = new DataView(out.buffer);
  view.setBigInt64(0, BigInt(fromOffset));
  view.setInt32(8, body.length);
  out.set(body, frameHeaderBytes);
  return out;
}

/**
 * Accumulates bytes read from a socket; the parsers below take whole units out of it.
 * Invariant: `length` bytes from `start` in `buffer` are unread.
 */
export class ReadBuffer {
  private buffer = new Uint8Array(64 * 1024);
  private start = 0;
  private end = 0;

  get length(): number {
    return this.end - this.start;
  }

  push(chunk: Uint8Array): void {
    if (this.end + chunk.length > this.buffer.length) {
      const needed = this.length + chunk.length;
      const next = needed > this.buffer.length ? new Uint8Array(Math.max(needed, this.buffer.length * 2)) : this.buffer;
      next.set(this.buffer.subarray(this.start, this.end), 0);
      this.buffer = next;
      this.end = this.length;
      this.start = 0;
    }
    this.buffer.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** The unread bytes (a view, valid until the next push). */
  peek(): Uint8Array {
    return this.buffer.subarray(this.start, this.end);
  }

  consume(bytes: number): void {
    assert(bytes <= this.length, "consume past the end");
    this.start += bytes;
    if (this.start === this.end) this.start = this.end = 0;
  }
}

/** Master side: the last complete report in `buffer` (consumed, with any before it), or null. */
export function takeLastReport(buffer: ReadBuffer): number | null {
  const whole = buffer.length - (buffer.length % reportBytes);
  if (whole === 0) return null;
  const bytes = buffer.peek();
  const offset = Number(new DataView(bytes.buffer, bytes.byteOffset + whole - reportBytes, reportBytes).getBigInt64(0));
  buffer.consume(whole);
  return offset;
}

export interface Frame {
  fromOffset: number;
  /** A view into the read buffer: use before the next push. */
  body: Uint8Array;
}

/** Slave side: the next complete frame in `buffer` (consumed), or null; throws on a bad size. */
export function takeFrame(buffer: ReadBuffer): Frame | null {
  if (buffer.length < frameHeaderBytes) return null;
  const bytes = buffer.peek();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fromOffset = Number(view.getBigInt64(0));
  const size = view.getInt32(8);
  if (size < 0 || size > transferBatchBytes || fromOffset < 0) throw new Error(`bad HA frame header: offset ${fromOffset}, size ${size}`);
  if (buffer.length < frameHeaderBytes + size) return null;
  const body = bytes.subarray(frameHeaderBytes, frameHeaderBytes + size);
  buffer.consume(frameHeaderBytes + size);
  return { fromOffset, body };
}
