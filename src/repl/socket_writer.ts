/**
 * SocketWriter (src/repl/socket_writer.ts): writes to a Bun socket that may take only part of a
 * buffer (socket.write returns the bytes it took; the rest is ours to keep). Unsent bytes wait
 * in a queue and go out from the socket's drain handler, in order.
 * Requires: the owner calls drain() from the socket's `drain` handler.
 */
import type { Socket } from "bun";

export class SocketWriter {
  private readonly queue: Uint8Array[] = [];
  private queuedBytes = 0;
  /** Writes the socket took only part of (the drain path ran): for tests and diagnostics. */
  partialWrites = 0;

  constructor(private readonly socket: Socket<unknown>) {}

  /** Bytes accepted by write() but not yet taken by the socket. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  write(bytes: Uint8Array): void {
    if (this.queue.length === 0) {
      const written = this.socket.write(bytes);
      if (written >= bytes.length) return;
      this.partialWrites++;
      bytes = bytes.subarray(Math.max(0, written));
    }
    this.queue.push(bytes);
    this.queuedBytes += bytes.length;
  }

  /** Writes what the socket takes of the queue; true once the queue is empty. */
  drain(): boolean {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const written = this.socket.write(head);
      if (written < head.length) {
        const rest = head.subarray(Math.max(0, written));
        this.queue[0] = rest;
        this.queuedBytes -= head.length - rest.length;
        return false;
      }
      this.queue.shift();
      this.queuedBytes -= head.length;
    }
    return true;
  }
}
