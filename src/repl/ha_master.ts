/**
 * HaMaster (src/repl/ha_master.ts): the master's side of replication, RocketMQ 4.x's HAService +
 * HAConnection + GroupTransferService. Listens on haListenPort; wire format in ha_frame.ts.
 *
 * Per slave connection:
 * - The first report is the slave's commit-log end: streaming starts there. A slave ahead of the
 *   master (it holds bytes the master does not) is refused: logged and closed. A report of 0 from
 *   an empty slave starts at the master's first retained byte (RocketMQ starts at its newest file;
 *   we copy everything still kept, so a new slave can serve every queue from its min offset).
 * - Frames of ≤ 32 KiB, one commit-log file at a time, sent whenever the log grows; at most one
 *   frame waits in our queue (the rest waits for the socket's drain: backpressure). After 5 s with
 *   nothing sent, an empty frame; after 20 s with nothing read, the connection is closed.
 * - Later reports are the slave's acknowledged offset (bytes it has appended).
 *
 * SYNC_MASTER (waitReplicated): one wait list ordered by commit-log end offset, resolved from its
 * head as the highest acknowledged offset of any slave advances; one timer sweeps out waits older
 * than syncFlushTimeout (FLUSH_SLAVE_TIMEOUT). No slave connected, or the best slave more than
 * slaveFallBehindBytesMax behind: SLAVE_NOT_AVAILABLE at once. The message is stored either way.
 */
import type { Socket, TCPSocketListener } from "bun";
import type { Clock } from "../io/io.ts";
import { logScoped } from "../log.ts";
import type { MessageStore } from "../store/message_store.ts";
import {
  encodeFrame,
  heartbeatIntervalMs,
  housekeepingIntervalMs,
  ReadBuffer,
  takeLastReport,
  transferBatchBytes,
} from "./ha_frame.ts";
import { SocketWriter } from "./socket_writer.ts";

const log = logScoped("repl");

export const ReplicaStatus = {
  OK: "OK",
  SLAVE_NOT_AVAILABLE: "SLAVE_NOT_AVAILABLE",
  FLUSH_SLAVE_TIMEOUT: "FLUSH_SLAVE_TIMEOUT",
} as const;
export type ReplicaStatus = (typeof ReplicaStatus)[keyof typeof ReplicaStatus];

export interface HaMasterConfig {
  hostname: string;
  port: number;
  /** How long a SYNC_MASTER send waits for a slave's acknowledgement (syncFlushTimeout). */
  syncFlushTimeoutMs: number;
  /** RocketMQ's haSlaveFallbehindMax: a slave further behind does not count as available. */
  slaveFallBehindBytesMax: number;
}

/** How often waits are checked for their deadline: bounds how late a FLUSH_SLAVE_TIMEOUT answer comes. */
const waitSweepIntervalMs = 10;
const housekeepingTickMs = 1000;

interface Waiter {
  offset: number;
  deadlineMs: number;
  resolve(status: ReplicaStatus): void;
}

class HaConnection {
  readonly reads = new ReadBuffer();
  readonly writer: SocketWriter;
  /** -1 until the first report. */
  ackedOffset = -1;
  nextTransferOffset = -1;
  lastReadMs: number;
  lastWriteMs: number;
  closed = false;

  constructor(
    readonly socket: Socket<HaConnection>,
    nowMs: number,
  ) {
    this.writer = new SocketWriter(socket as Socket<unknown>);
    this.lastReadMs = nowMs;
    this.lastWriteMs = nowMs;
  }

  get remote(): string {
    return `${this.socket.remoteAddress}:${(this.socket as unknown as { remotePort?: number }).remotePort ?? "?"}`;
  }
}

export class HaMaster {
  private listener: TCPSocketListener<HaConnection> | null = null;
  private readonly connections = new Set<HaConnection>();
  private readonly waiters: Waiter[] = [];
  private sweepTimer: ReturnType<typeof setInterval> | null = null;
  private housekeepingTimer: ReturnType<typeof setInterval> | null = null;
  private wakeQueued = false;
  /** The highest offset any slave acknowledged (never goes back). */
  ackedOffset = 0;

  constructor(
    private readonly store: MessageStore,
    private readonly config: HaMasterConfig,
    private readonly clock: Clock,
  ) {
    store.onCommitLogAppend(() => this.wake());
  }

  start(): number {
    const master = this;
    this.listener = Bun.listen<HaConnection>({
      hostname: this.config.hostname,
      port: this.config.port,
      socket: {
        open(socket) {
          socket.setNoDelay(true);
          socket.data = new HaConnection(socket, master.clock.monotonicMs());
          master.connections.add(socket.data);
          log.info("ha.slave_connected", { slave: socket.data.remote });
        },
        data(socket, chunk) {
          master.onData(socket.data, chunk);
        },
        drain(socket) {
          if (socket.data.writer.drain()) master.transfer(socket.data);
        },
        close(socket) {
          master.onClosed(socket.data);
        },
        error(socket, error) {
          log.warn("ha.connection_error", { error: String(error) });
          master.onClosed(socket.data);
        },
      },
    });
    this.housekeepingTimer = setInterval(() => this.housekeeping(), housekeepingTickMs);
    log.info("ha.listening", { port: this.listener.port });
    return this.listener.port;
  }

  /** Slaves that reported at least once. */
  get slaveCount(): number {
    let count = 0;
    for (const connection of this.connections) if (connection.ackedOffset >= 0) count++;
    return count;
  }

  /** Writes to slaves the socket took only part of, over the live connections (backpressure happened). */
  get partialWrites(): number {
    let count = 0;
    for (const connection of this.connections) count += connection.writer.partialWrites;
    return count;
  }

  /** SYNC_MASTER: resolves once a slave acknowledged every byte below `offset` (see the file comment). */
  waitReplicated(offset: number): Promise<ReplicaStatus> {
    if (this.ackedOffset >= offset) return Promise.resolve(ReplicaStatus.OK);
    let best = -1;
    for (const connection of this.connections) if (!connection.closed) best = Math.max(best, connection.ackedOffset);
    if (best < 0 || this.store.commitLog.maxOffset - best > this.config.slaveFallBehindBytesMax) {
      return Promise.resolve(ReplicaStatus.SLAVE_NOT_AVAILABLE);
    }
    return new Promise((resolve) => {
      const waiter: Waiter = { offset, deadlineMs: this.clock.monotonicMs() + this.config.syncFlushTimeoutMs, resolve };
      // Puts finish in offset order almost always: insert from the tail.
      let at = this.waiters.length;
      while (at > 0 && this.waiters[at - 1]!.offset > offset) at--;
      this.waiters.splice(at, 0, waiter);
      this.sweepTimer ??= setInterval(() => this.sweep(), waitSweepIntervalMs);
    });
  }

  private onAcked(offset: number): void {
    if (offset <= this.ackedOffset) return;
    this.ackedOffset = offset;
    let done = 0;
    while (done < this.waiters.length && this.waiters[done]!.offset <= offset) this.waiters[done++]!.resolve(ReplicaStatus.OK);
    if (done > 0) this.waiters.splice(0, done);
    this.stopSweepIfIdle();
  }

  private sweep(): void {
    const now = this.clock.monotonicMs();
    let kept = 0;
    for (const waiter of this.waiters) {
      if (now >= waiter.deadlineMs) waiter.resolve(ReplicaStatus.FLUSH_SLAVE_TIMEOUT);
      else this.waiters[kept++] = waiter;
    }
    this.waiters.length = kept;
    this.stopSweepIfIdle();
  }

  private stopSweepIfIdle(): void {
    if (this.waiters.length === 0 && this.sweepTimer !== null) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
  }

  private onData(connection: HaConnection, chunk: Uint8Array): void {
    connection.lastReadMs = this.clock.monotonicMs();
    connection.reads.push(chunk);
    const offset = takeLastReport(connection.reads);
    if (offset === null) return;
    if (connection.ackedOffset < 0) {
      const maxOffset = this.store.commitLog.maxOffset;
      const minOffset = this.store.commitLog.minOffset;
      if (offset > maxOffset) {
        log.error("ha.slave_ahead", { slave: connection.remote, slaveOffset: offset, masterOffset: maxOffset });
        this.close(connection);
        return;
      }
      if (offset !== 0 && offset < minOffset) {
        log.error("ha.slave_too_far_behind", { slave: connection.remote, slaveOffset: offset, masterMinOffset: minOffset });
        this.close(connection);
        return;
      }
      connection.nextTransferOffset = offset === 0 ? minOffset : offset;
      log.info("ha.slave_request", { slave: connection.remote, offset, from: connection.nextTransferOffset });
    }
    connection.ackedOffset = offset;
    this.onAcked(offset);
    this.transfer(connection);
  }

  /** Streams what the slave lacks, as far as the socket takes it without queueing more than one frame. */
  private transfer(connection: HaConnection): void {
    if (connection.closed || connection.nextTransferOffset < 0) return;
    while (connection.writer.pendingBytes === 0 && connection.nextTransferOffset < this.store.commitLog.maxOffset) {
      const body = this.store.commitLog.readRaw(connection.nextTransferOffset, transferBatchBytes);
      if (body === null) {
        log.error("ha.offset_not_in_log", { slave: connection.remote, offset: connection.nextTransferOffset });
        this.close(connection);
        return;
      }
      if (body.length === 0) break;
      connection.writer.write(encodeFrame(connection.nextTransferOffset, body));
      connection.nextTransferOffset += body.length;
      connection.lastWriteMs = this.clock.monotonicMs();
    }
  }

  /** The log grew: stream to every slave, once per burst of puts. */
  private wake(): void {
    if (this.wakeQueued || this.connections.size === 0) return;
    this.wakeQueued = true;
    queueMicrotask(() => {
      this.wakeQueued = false;
      for (const connection of this.connections) this.transfer(connection);
    });
  }

  private housekeeping(): void {
    const now = this.clock.monotonicMs();
    for (const connection of this.connections) {
      if (now - connection.lastReadMs > housekeepingIntervalMs) {
        log.warn("ha.slave_silent", { slave: connection.remote, silentMs: Math.round(now - connection.lastReadMs) });
        this.close(connection);
        continue;
      }
      if (connection.nextTransferOffset >= 0 && connection.writer.pendingBytes === 0 && now - connection.lastWriteMs >= heartbeatIntervalMs) {
        connection.writer.write(encodeFrame(connection.nextTransferOffset, new Uint8Array(0)));
        connection.lastWriteMs = now;
      }
    }
  }

  private close(connection: HaConnection): void {
    if (!connection.closed) connection.socket.end();
    this.onClosed(connection);
  }

  private onClosed(connection: HaConnection | undefined): void {
    if (!connection || connection.closed) return;
    connection.closed = true;
    this.connections.delete(connection);
    log.info("ha.slave_disconnected", { slave: connection.remote, ackedOffset: connection.ackedOffset });
  }

  stop(): void {
    if (this.housekeepingTimer) clearInterval(this.housekeepingTimer);
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    for (const waiter of this.waiters.splice(0)) waiter.resolve(ReplicaStatus.FLUSH_SLAVE_TIMEOUT);
    for (const connection of [...this.connections]) this.close(connection);
    this.listener?.stop(true);
    this.listener = null;
  }
}
