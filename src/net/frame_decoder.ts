// Incremental frame splitter over a TCP byte stream. Chunks of any size go in; whole frames
// (length field included) come out. A frame wholly inside one chunk is returned as a view into
// the chunk; only a frame that straddles chunks is copied, once, into a buffer of its own size.
//
// Contract: push() a chunk, then call next() until it returns null. A returned frame is a view of
// a pushed chunk or a buffer of its own; the decoder never writes into either afterwards, so a
// frame stays valid as long as the caller does not reuse the chunk it pushed (Bun never does:
// ConnectionOptions.readChunksOwned; a caller that does decodes with decodeFrame's body copy).
// A reader that stops calling next() early (backpressure) calls retain(): the unread rest of the
// chunk is copied so the caller's read buffer can be reused; a later push() appends to it.
import { frameLengthBytes, frameHeaderWordBytes, readU32 } from "./frame.ts";

export class FrameTooLarge extends Error {}

const empty = new Uint8Array(0);
const frameBytesMin = frameLengthBytes + frameHeaderWordBytes;

export class FrameDecoder {
  private chunk: Uint8Array = empty;
  private chunkAt = 0;
  /** A frame being assembled across chunks, or its 4-byte length prefix while that is incomplete. */
  private pending: Uint8Array = new Uint8Array(frameLengthBytes);
  private pendingBytes = 0;
  private pendingWant = frameLengthBytes;

  constructor(private readonly frameBytesMax: number) {}

  push(chunk: Uint8Array): void {
    const unread = this.chunk.length - this.chunkAt;
    if (unread > 0) {
      const joined = new Uint8Array(unread + chunk.length);
      joined.set(this.chunk.subarray(this.chunkAt));
      joined.set(chunk, unread);
      chunk = joined;
    }
    this.chunk = chunk;
    this.chunkAt = 0;
  }

  /** Copies the unread rest of the current chunk, so that the chunk itself may be reused. */
  retain(): void {
    if (this.chunkAt >= this.chunk.length) {
      this.chunk = empty;
      this.chunkAt = 0;
      return;
    }
    this.chunk = this.chunk.slice(this.chunkAt);
    this.chunkAt = 0;
  }

  /** Bytes pushed and not yet taken by next(): the unread rest of the chunk. */
  get unreadBytes(): number {
    return this.chunk.length - this.chunkAt;
  }

  /** The next whole frame, or null when more bytes are needed. Throws FrameTooLarge. */
  next(): Uint8Array | null {
    const rest = this.chunk.length - this.chunkAt;
    if (this.pendingBytes === 0 && rest >= frameLengthBytes) {
      const total = frameLengthBytes + readU32(this.chunk, this.chunkAt);
      this.check(total);
      if (total <= rest) {
        const frame = this.chunk.subarray(this.chunkAt, this.chunkAt + total);
        this.chunkAt += total;
        return frame;
      }
    }
    if (rest === 0) return null;
    const take = Math.min(this.pendingWant - this.pendingBytes, rest);
    this.pending.set(this.chunk.subarray(this.chunkAt, this.chunkAt + take), this.pendingBytes);
    this.pendingBytes += take;
    this.chunkAt += take;
    if (this.pendingBytes < this.pendingWant) return null;
    if (this.pendingWant === frameLengthBytes) {
      const total = frameLengthBytes + readU32(this.pending, 0);
      this.check(total);
      const frame = new Uint8Array(total);
      frame.set(this.pending.subarray(0, frameLengthBytes));
      this.pending = frame;
      this.pendingWant = total;
      return this.next();
    }
    const frame = this.pending;
    this.pending = new Uint8Array(frameLengthBytes);
    this.pendingBytes = 0;
    this.pendingWant = frameLengthBytes;
    return frame;
  }

  /** Bytes held in a partly received frame. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  private check(total: number): void {
    if (total > this.frameBytesMax) throw new FrameTooLarge(`frame of ${total} bytes exceeds the limit of ${this.frameBytesMax}`);
    if (total < frameBytesMin) throw new FrameTooLarge(`frame of ${total} bytes is shorter than a frame header`);
  }
}
