/**
 * Connection (src/net/connection.ts): one remoting peer over one TCP socket, either side.
 *
 * Guarantees:
 * - Every request frame is handed to `onRequest` as soon as it is decoded; requests run
 *   concurrently and their responses are written as each completes (a held pull never blocks
 *   a send behind it).
 * - Writes are batched: frames queued within one microtask leave in one socket write. A small
 *   frame is encoded straight into the write batch (no buffer of its own, its body copied once);
 *   a big one is written on its own. Bun's socket.write may take fewer bytes than offered; the
 *   rest waits for `drain`.
 * - Backpressure: once more than `sendBytesMax` bytes wait to be written, reading from the
 *   peer pauses until the queue drains below half of it, and frames already read but not yet
 *   decoded wait (copied out of the read buffer) until then. What one connection can make us
 *   hold is bounded: sendBytesMax + the answers of at most `requestsInFlightMax` requests + one
 *   read chunk.
 * - At most `requestsInFlightMax` requests of a peer are processed at once; one more is
 *   answered SYSTEM_BUSY (2) at once, unprocessed (a oneway one is dropped), as RocketMQ's
 *   [REJECTREQUEST] flow control does.
 * - A frame over `frameBytesMax` or a malformed header closes this connection only.
 * - lastActivityMs (bytes read or written) and partialFrameSinceMs (a frame started and not
 *   finished) let the server drop idle peers and slow senders (RemotingServer.sweep).
 * - invoke() matches responses by opaque and fails with RemotingTimeout after its timeout (one
 *   timer per connection, set for the earliest deadline, not one per request); all pending
 *   invokes fail when the connection closes.
 */
import { assert } from "../assert.ts";
import { logScoped } from "../log.ts";
import { decodeFrame, encodeFrame, encodeFrameInto } from "./frame.ts";
import { FrameDecoder, FrameTooLarge } from "./frame_decoder.ts";
import { HeaderError } from "./header_json.ts";
import { flagOneway, isOneway, isResponse, newResponse, type RemotingCommand } from "./remoting_command.ts";
import { RemotingError, ResponseCode } from "./response_code.ts";

const log = logScoped("net");

/** Small frames are encoded into write batches of this size (one syscall for many small answers). */
const writeBatchBytes = 256 * 1024;
/**
 * A frame with a body this big is written on its own, never copied into a batch: one more syscall
 * costs less than copying it again (pull answers of 32 × 1 KiB messages).
 */
const writeAloneBytesMin = 16 * 1024;
/** Past sendBytesMax × this + frameBytesMax, queued answers close the connection instead of growing. */
export const sendQueueHardFactor = 8;

/** What a Connection needs of a socket: Bun's TCP socket has all of it. */
export interface SocketLike {
  write(data: Uint8Array): number;
  end(): void;
  /** Close at once, dropping unsent bytes (for peers dropped by a limit). */
  terminate?(): void;
  pause?(): unknown;
  resume?(): unknown;
  readonly remoteAddress: string;
  readonly remotePort?: number;
}

export type RequestHandler = (connection: Connection, request: RemotingCommand) => Promise<RemotingCommand | null> | RemotingCommand | null;

export interface ConnectionOptions {
  frameBytesMax: number;
  sendBytesMax: number;
  onRequest: RequestHandler;
  onClose?: (connection: Connection) => void;
  /** Requests processed at once before SYSTEM_BUSY; default unlimited (clients). */
  requestsInFlightMax?: number;
  /**
   * Called with each queued frame once none of its bytes is needed any more (written, or copied
   * into a write batch), for pooled frame buffers (FrameBufferPool.release). Only for a socket
   * that copies what it takes: not one that keeps references to written data (TlsBridge).
   */
  releaseWritten?: (frame: Uint8Array) => void;
  /**
   * The socket hands every read a buffer of its own and never writes into it again: Bun's TCP
   * and TLS sockets (checked: chunks kept across later reads keep their bytes, each in its own
   * ArrayBuffer). Then a decoded body stays a view of the bytes read instead of a copy — one copy
   * and one allocation less per message (a send's body, a pull answer's records), and less for the
   * collector. A view keeps its whole read chunk alive while it lives; bodies live until the store
   * copies a send (or its flush is acknowledged) or a consumer has cut out its messages. Not for
   * TlsBridge, whose node:tls chunks come with no such promise.
   */
  readChunksOwned?: boolean;
  /**
   * The socket copies the bytes write() takes (a plain Bun TCP socket): a write batch is filled
   * again from its start once written. Otherwise (TlsBridge, whose TLS session may keep a view of
   * what it was given) a written batch is never written into again.
   */
  socketCopiesWrites?: boolean;
  /**
   * Called before queued frames are written. False: what is queued must not leave (the broker's
   * answers stand for appends the store could not write to its file): the connection is closed
   * at once, unwritten, and the peer sees its requests fail as with a broker that died.
   */
  beforeWrite?: () => boolean;
}

export class RemotingTimeout extends Error {}
export class ConnectionClosed extends Error {}

interface Pending {
  resolve(command: RemotingCommand): void;
  reject(error: Error): void;
  /** performance.now() past which it fails with RemotingTimeout. */
  deadlineMs: number;
  timeoutMs: number;
  code: number;
}

export class Connection {
  private readonly decoder: FrameDecoder;
  private readonly pending = new Map<number, Pending>();
  /** Frames to write, in order, before the open part of the batch: sealed batch parts and big frames. */
  private sendChunks: Uint8Array[] = [];
  /**
   * The write batch small frames are encoded into; bytes [batchFrom, batchTo) are queued and not
   * in sendChunks yet (the open part). Bytes before batchFrom may still be referenced by a chunk.
   */
  private batch: Buffer | null = null;
  private batchFrom = 0;
  private batchTo = 0;
  /** The one timer for invoke timeouts: set for timeoutAtMs (performance.now()), the earliest deadline known when set. */
  private timeoutTimer: ReturnType<typeof setTimeout> | null = null;
  private timeoutAtMs = Infinity;
  /**
   * Queued frames that lie in a body's own buffer (commands with bodyHeadroom: pull answers,
   * possibly pooled), the only ones releaseWritten gets. Asking any frame for its ArrayBuffer
   * (what the pool keys by) made the engine give each small ack frame an ArrayBuffer of its own,
   * a copy: 4.5 % of the broker's samples while filling a backlog.
   */
  private readonly releasable = new Set<Uint8Array>();
  private sendBytes = 0;
  private flushScheduled = false;
  /** A write took less than offered: wait for the socket's drain before writing again. */
  private writeBlocked = false;
  private paused = false;
  closed = false;
  private closeHandled = false;
  /** Requests handed to onRequest and not answered yet. */
  requestsInFlight = 0;
  /** performance.now() of the last byte read or written. */
  lastActivityMs = performance.now();
  /** performance.now() when the frame now being received started; 0 when none is partial. */
  partialFrameSinceMs = 0;
  readonly remoteHost: string;
  readonly remotePort: number;
  /** Free for the owner: e.g. the broker keeps the client id here. */
  readonly attributes = new Map<string, unknown>();

  constructor(
    private readonly socket: SocketLike,
    private readonly options: ConnectionOptions,
  ) {
    this.decoder = new FrameDecoder(options.frameBytesMax);
    this.remoteHost = normaliseHost(socket.remoteAddress ?? "");
    this.remotePort = socket.remotePort ?? 0;
  }

  /** "host:port" of the peer, read once at open: Bun may report undefined once the socket ends. */
  get remoteAddress(): string {
    return `${this.remoteHost}:${this.remotePort}`;
  }
  get queuedSendBytes(): number {
    return this.sendBytes;
  }
  /** True while reading is paused because the peer does not take our answers. */
  get readPaused(): boolean {
    return this.paused;
  }

  /** Feed bytes read from the socket. */
  onData(chunk: Uint8Array): void {
    if (this.closed) return;
    this.lastActivityMs = performance.now();
    this.decoder.push(chunk);
    this.readFrames();
  }

  private readFrames(): void {
    for (;;) {
      if (this.closed) return;
      if (this.paused) {
        this.decoder.retain(); // the rest waits, out of the socket's read buffer, for resume
        return;
      }
      let frame: Uint8Array | null;
      let command: RemotingCommand;
      try {
        frame = this.decoder.next();
        if (frame === null) {
          if (this.decoder.bufferedBytes === 0) this.partialFrameSinceMs = 0;
          else if (this.partialFrameSinceMs === 0) this.partialFrameSinceMs = performance.now();
          return;
        }
        command = decodeFrame(frame, this.options.readChunksOwned !== true);
      } catch (error) {
        if (error instanceof FrameTooLarge || error instanceof HeaderError) {
          log.warn("connection.bad_frame", { peer: this.remoteAddress, reason: error.message });
          this.close();
          return;
        }
        throw error;
      }
      if (isResponse(command)) this.onResponse(command);
      else this.dispatch(command);
    }
  }

  private onResponse(command: RemotingCommand): void {
    const waiting = this.pending.get(command.opaque);
    if (!waiting) return; // late answer to a timed-out request
    this.pending.delete(command.opaque);
    waiting.resolve(command);
  }

  private dispatch(request: RemotingCommand): void {
    const inFlightMax = this.options.requestsInFlightMax ?? Infinity;
    if (this.requestsInFlight >= inFlightMax) {
      log.warnEvery(1000, "connection.busy", { peer: this.remoteAddress, requestsInFlight: this.requestsInFlight, limit: inFlightMax, code: request.code });
      if (!isOneway(request)) this.send(newResponse(request, ResponseCode.SYSTEM_BUSY, `[REJECTREQUEST]system busy: ${inFlightMax} requests in flight on this connection`));
      return;
    }
    this.requestsInFlight++;
    let result: Promise<RemotingCommand | null> | RemotingCommand | null;
    try {
      result = this.options.onRequest(this, request);
    } catch (error) {
      this.answerError(request, error);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (response) => this.answer(request, response),
        (error: unknown) => this.answerError(request, error),
      );
    } else {
      this.answer(request, result);
    }
  }

  private answer(request: RemotingCommand, response: RemotingCommand | null): void {
    this.requestsInFlight--;
    if (response === null || isOneway(request) || this.closed) return;
    this.send(response);
  }

  private answerError(request: RemotingCommand, error: unknown): void {
    if (error instanceof RemotingError) {
      this.answer(request, newResponse(request, error.code, error.message));
      return;
    }
    if (this.closed) {
      this.requestsInFlight--;
      return;
    }
    log.error("request.failed", { code: request.code, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    this.answer(request, newResponse(request, ResponseCode.SYSTEM_ERROR, error instanceof Error ? error.message : String(error)));
  }

  /** Queue a command for writing; it leaves with others queued in the same microtask. */
  send(command: RemotingCommand): void {
    if (this.closed) return;
    const body = command.body;
    let frameBytes = body === null || body.length < writeAloneBytesMin ? this.encodeIntoBatch(command) : 0;
    if (frameBytes > 0) {
      if (command.bodyHeadroom !== undefined && body !== null) this.options.releaseWritten?.(body); // copied: its pooled buffer is free
    } else {
      const frame = encodeFrame(command);
      this.sealBatch();
      this.sendChunks.push(frame);
      if (command.bodyHeadroom !== undefined && this.options.releaseWritten) this.releasable.add(frame);
      frameBytes = frame.length;
    }
    this.sendBytes += frameBytes;
    // Reading paused long ago and answers to requests read before still pile up: a peer this far
    // behind is not reading at all. Bounded, whatever it asked for.
    const hardBytesMax = this.options.sendBytesMax * sendQueueHardFactor + this.options.frameBytesMax;
    if (this.sendBytes > hardBytesMax) {
      log.warnEvery(1000, "connection.send_queue_overflow", { peer: this.remoteAddress, queuedBytes: this.sendBytes, limit: hardBytesMax });
      this.close(true);
      return;
    }
    if (this.sendBytes > this.options.sendBytesMax && !this.paused) {
      this.paused = true;
      this.socket.pause?.();
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Encodes `command` at the end of the write batch: the frame's length, or 0 if it is bigger than a batch. */
  private encodeIntoBatch(command: RemotingCommand): number {
    let batch = this.batch;
    if (batch === null) batch = this.batch = Buffer.alloc(writeBatchBytes);
    let frameBytes = encodeFrameInto(command, batch, this.batchTo);
    if (frameBytes === 0 && this.batchTo > 0) {
      // Full: what is open leaves as a chunk, and the bytes before batchTo may be referenced; a new batch.
      this.sealBatch();
      batch = this.batch = Buffer.alloc(writeBatchBytes);
      this.batchFrom = this.batchTo = 0;
      frameBytes = encodeFrameInto(command, batch, 0);
    }
    this.batchTo += frameBytes;
    return frameBytes;
  }

  /** The open part of the batch joins sendChunks (before a big frame, or to be written). */
  private sealBatch(): void {
    if (this.batchTo === this.batchFrom) return;
    // A plain Uint8Array view, not a Buffer one: a socket may slice() what it is given to copy it.
    const batch = this.batch!;
    this.sendChunks.push(new Uint8Array(batch.buffer, batch.byteOffset + this.batchFrom, this.batchTo - this.batchFrom));
    this.batchFrom = this.batchTo;
  }

  /**
   * Write what is queued; called once per microtask and from the socket's drain handler. Small
   * frames went into batches of up to writeBatchBytes; a big one (writeAloneBytesMin) goes as it is.
   * After a partial write nothing more is tried until the socket drains, so a peer that does not
   * read costs no copying per queued answer.
   */
  readonly flush = (fromDrain = false): void => {
    this.flushScheduled = false;
    if (fromDrain === true) this.writeBlocked = false;
    if (this.closed || this.sendBytes === 0 || this.writeBlocked) return;
    if (this.options.beforeWrite !== undefined && !this.options.beforeWrite()) {
      log.error("connection.answers_dropped", { peer: this.remoteAddress, queuedBytes: this.sendBytes });
      this.close(true);
      return;
    }
    this.sealBatch();
    const chunks = this.sendChunks;
    const release = this.releasable.size > 0 ? this.options.releaseWritten : undefined;
    const releasable = this.releasable;
    for (let head = 0; head < chunks.length; head++) {
      const data = chunks[head]!;
      const written = this.socket.write(data);
      assert(written >= -1 && written <= data.length, "socket wrote more than offered");
      const taken = Math.max(written, 0);
      if (taken > 0) this.lastActivityMs = performance.now();
      this.sendBytes -= taken;
      if (taken < data.length) {
        // The rest of this chunk stays; the socket tells us (drain) when to go on.
        const rest = data.subarray(taken);
        if (releasable.delete(data)) releasable.add(rest);
        chunks.splice(0, head + 1, rest);
        this.writeBlocked = true;
        break;
      }
      if (release && releasable.delete(data)) release(data);
    }
    if (!this.writeBlocked) {
      this.sendChunks = [];
      // Nothing queued refers to the batch now; a socket that copied what it took lets it be reused.
      if (this.options.socketCopiesWrites === true) this.batchFrom = this.batchTo = 0;
    }
    if (this.paused && this.sendBytes <= this.options.sendBytesMax / 2) {
      this.paused = false;
      this.socket.resume?.();
      if (this.decoder.unreadBytes > 0) queueMicrotask(() => this.readFrames());
    }
  };

  /** Send a request and wait for its response. */
  invoke(request: RemotingCommand, timeoutMs: number): Promise<RemotingCommand> {
    if (this.closed) return Promise.reject(new ConnectionClosed(`connection to ${this.remoteAddress} is closed`));
    return new Promise<RemotingCommand>((resolve, reject) => {
      const deadlineMs = performance.now() + timeoutMs;
      this.pending.set(request.opaque, { resolve, reject, deadlineMs, timeoutMs, code: request.code });
      if (deadlineMs < this.timeoutAtMs) this.armTimeout(deadlineMs);
      this.send(request);
    });
  }

  private armTimeout(atMs: number): void {
    if (this.timeoutTimer !== null) clearTimeout(this.timeoutTimer);
    this.timeoutAtMs = atMs;
    this.timeoutTimer = setTimeout(this.expire, Math.max(0, atMs - performance.now()));
  }

  /** The timeout timer fired: fail every invoke past its deadline, set the timer for the earliest left. */
  private readonly expire = (): void => {
    this.timeoutTimer = null;
    this.timeoutAtMs = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const [opaque, waiting] of this.pending) {
      if (waiting.deadlineMs <= now) {
        this.pending.delete(opaque);
        waiting.reject(new RemotingTimeout(`request code ${waiting.code} to ${this.remoteAddress} timed out after ${waiting.timeoutMs} ms`));
      } else if (waiting.deadlineMs < next) next = waiting.deadlineMs;
    }
    if (next !== Infinity && !this.closed) this.armTimeout(next);
  };

  /** Send a request that gets no response. */
  invokeOneway(request: RemotingCommand): void {
    request.flag |= flagOneway;
    this.send(request);
  }

  /** Closes the connection; `abort` drops what is unsent and closes at once (a peer dropped by a limit). */
  close(abort = false): void {
    if (this.closed) return;
    if (!abort) this.flush();
    this.closed = true;
    try {
      if (abort && this.socket.terminate) this.socket.terminate();
      else this.socket.end();
    } catch {
      // already closed
    }
    this.onClosed();
  }

  /** The socket closed (by either side). Idempotent: every pending invoke fails, onClose runs once. */
  onClosed(): void {
    this.closed = true;
    if (this.closeHandled) return;
    this.closeHandled = true;
    this.releasable.clear(); // unwritten pooled frames are left to the collector
    this.batch = null;
    if (this.timeoutTimer !== null) clearTimeout(this.timeoutTimer);
    this.timeoutTimer = null;
    try {
      const error = new ConnectionClosed(`connection to ${this.remoteAddress} closed`);
      const waiting = [...this.pending.values()];
      this.pending.clear();
      for (const request of waiting) request.reject(error);
    } finally {
      this.options.onClose?.(this);
    }
  }
}

/** A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; store and show them as IPv4. */
export function normaliseHost(host: string): string {
  if (typeof host !== "string") return "";
  return host.startsWith("::ffff:") && host.includes(".") ? host.slice(7) : host;
}
