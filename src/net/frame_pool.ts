/**
 * FrameBufferPool (src/net/frame_pool.ts): reusable buffers for big answers (pull bodies), so that
 * an answer is built in memory that is mapped and warm, not in a fresh allocation that page-faults
 * on every 4 KiB it fills (~9 faults per 32 × 1 KiB pull answer, measured with /proc minflt).
 *
 * Protocol: acquire() lends a whole buffer of `bufferBytes`; the one that lent it calls release()
 * once no byte of it is needed any more (Connection: once the frame built in it was written to a
 * socket that copies, or copied into a write batch). Only buffers lent and not yet returned are
 * taken back (a second release, or one of a buffer the pool did not lend, does nothing); a lent
 * buffer never returned is simply collected. At most `freeMax` buffers wait to be lent again.
 */
import { assert } from "../assert.ts";

export class FrameBufferPool {
  private readonly free: Uint8Array[] = [];
  /** Buffers lent and not yet released, by their ArrayBuffer. */
  private readonly lent = new WeakSet<ArrayBufferLike>();

  constructor(
    readonly bufferBytes: number,
    readonly freeMax: number,
  ) {
    assert(bufferBytes > 0 && freeMax >= 0);
  }

  get freeCount(): number {
    return this.free.length;
  }

  /** A buffer of bufferBytes (a whole ArrayBuffer); its old bytes are still there. */
  acquire(): Uint8Array {
    const buffer = this.free.pop() ?? new Uint8Array(this.bufferBytes);
    assert(buffer.byteOffset === 0 && buffer.length === this.bufferBytes);
    this.lent.add(buffer.buffer);
    return buffer;
  }

  /** Takes back the buffer `view` lies in, if the pool lent it and it is not back already. */
  release(view: Uint8Array): void {
    const buffer = view.buffer;
    if (!this.lent.has(buffer)) return;
    this.lent.delete(buffer);
    if (this.free.length < this.freeMax) this.free.push(new Uint8Array(buffer, 0, this.bufferBytes));
  }
}

/**
 * The most message bytes one pull answer carries unless a single message is bigger: the broker's
 * pullBytesMax (src/main.ts), RocketMQ's maxTransferBytesOnMessageInMemory.
 */
export const pullAnswerBytesMax = 256 * 1024;

/**
 * Bytes of a pooled pull-answer buffer: pullAnswerBytesMax plus room for the frame's head, so that
 * only an answer of one message bigger than that allocates its own. Was 64 KiB: every answer of
 * messages over ~1.9 KiB then got a fresh buffer, page-faulting on each 4 KiB it filled — 16 KiB
 * messages read at 62.7k msg/s and 14.6 µs of broker CPU each, against 116.3k and 5.6 µs pooled
 * (`ab.ts --workload consume --bytes 16384 --messages 50000 --passes 5`).
 */
const pullFrameBufferBytes = pullAnswerBytesMax + 1024;

/**
 * At most 64 buffers kept (16 MiB, filled only as answers that big are written): a few pulls in
 * flight per consumer connection. An answer touches only its own bytes of a buffer, so pages of
 * small answers stay few.
 */
export const pullFramePool = new FrameBufferPool(pullFrameBufferBytes, 64);
