/**
 * HaSlave (src/repl/ha_slave.ts): the slave's side of replication, RocketMQ 4.x's HAClient.
 * Wire format in ha_frame.ts.
 *
 * - Connects to the master's HA address (haMasterAddress, or the one the name server returned at
 *   registration) and reports its commit-log end at once; the master streams from there.
 * - Each frame must start exactly at the local log's end (for an empty store: at a file
 *   boundary); its bytes are appended as they are (MessageStore.appendReplicated, which also
 *   dispatches consume queues and the index). A frame that does not continue the log closes the
 *   connection (it is reopened and the master restarts from the reported end).
 * - Reports its end after every read that appended something and at least every 5 s; closes a
 *   connection it read nothing from for 20 s. Reconnects every reconnectIntervalMs while a
 *   master address is known.
 */
import type { Socket } from "bun";
import type { Clock } from "../io/io.ts";
import { logScoped } from "../log.ts";
import type { MessageStore } from "../store/message_store.ts";
import { encodeReport, heartbeatIntervalMs, housekeepingIntervalMs, ReadBuffer, takeFrame } from "./ha_frame.ts";
import { SocketWriter } from "./socket_writer.ts";

const log = logScoped("repl");

export const reconnectIntervalMs = 1000;
const tickMs = 500;

interface SlaveConnection {
  socket: Socket<SlaveConnection>;
  writer: SocketWriter;
  reads: ReadBuffer;
  address: string;
  lastReadMs: number;
  lastReportMs: number;
  closed: boolean;
}

export class HaSlave {
  private masterAddress: string;
  private connection: SlaveConnection | null = null;
  private connecting = false;
  private timer: ReturnType<typeof setInterval> | null = null;
  private lastAttemptMs = Number.NEGATIVE_INFINITY;
  private stopped = false;
  /** Bytes appended since start, for tests and metrics. */
  replicatedBytes = 0;

  constructor(
    private readonly store: MessageStore,
    private readonly clock: Clock,
    /** host:port of the master's HA listener; "" until learned from a name server. */
    masterAddress: string,
  ) {
    this.masterAddress = masterAddress;
  }

  get connected(): boolean {
    return this.connection !== null && !this.connection.closed;
  }
  get master(): string {
    return this.masterAddress;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), tickMs);
    this.tick();
  }

  /** A new master HA address (from a registration answer): reconnect if it changed. */
  setMasterAddress(address: string): void {
    if (address === "" || address === this.masterAddress) return;
    log.info("ha.master_address", { previous: this.masterAddress, address });
    this.masterAddress = address;
    if (this.connection) this.close(this.connection, "master address changed");
    this.tick();
  }

  private tick(): void {
    if (this.stopped) return;
    const now = this.clock.monotonicMs();
    const connection = this.connection;
    if (connection && !connection.closed) {
      if (now - connection.lastReadMs > housekeepingIntervalMs) {
        this.close(connection, "master silent");
        return;
      }
      if (now - connection.lastReportMs >= heartbeatIntervalMs) this.report(connection);
      return;
    }
    if (this.connecting || this.masterAddress === "" || now - this.lastAttemptMs < reconnectIntervalMs) return;
    this.lastAttemptMs = now;
    void this.connect(this.masterAddress);
  }

  private async connect(address: string): Promise<void> {
    this.connecting = true;
    const slave = this;
    const colon = address.lastIndexOf(":");
    try {
      await Bun.connect<SlaveConnection>({
        hostname: address.slice(0, colon),
        port: Number(address.slice(colon + 1)),
        socket: {
          open(socket) {
            socket.setNoDelay(true);
            const now = slave.clock.monotonicMs();
            socket.data = {
              socket, writer: new SocketWriter(socket as Socket<unknown>), reads: new ReadBuffer(), address,
              lastReadMs: now, lastReportMs: now, closed: false,
            };
            slave.connection = socket.data;
            log.info("ha.connected", { master: address, offset: slave.store.commitLog.maxOffset });
            slave.report(socket.data);
          },
          data(socket, chunk) {
            slave.onData(socket.data, chunk);
          },
          drain(socket) {
            socket.data.writer.drain();
          },
          close(socket) {
            if (socket.data) slave.onClosed(socket.data);
          },
          error(socket, error) {
            log.warnEvery(10_000, "ha.connection_error", { master: address, error: String(error) });
            if (socket.data) slave.onClosed(socket.data);
          },
          connectError(_socket, error) {
            log.warnEvery(10_000, "ha.connect_failed", { master: address, error: String(error) });
          },
        },
      });
    } catch (error) {
      log.warnEvery(10_000, "ha.connect_failed", { master: address, error: String(error) });
    } finally {
      this.connecting = false;
    }
    if (this.stopped && this.connection) this.close(this.connection, "stopped");
  }

  private report(connection: SlaveConnection): void {
    if (connection.closed) return;
    connection.writer.write(encodeReport(this.store.commitLog.maxOffset));
    connection.lastReportMs = this.clock.monotonicMs();
  }

  private onData(connection: SlaveConnection, chunk: Uint8Array): void {
    if (connection.closed) return;
    connection.lastReadMs = this.clock.monotonicMs();
    connection.reads.push(chunk);
    let appended = false;
    for (;;) {
      let frame;
      try {
        frame = takeFrame(connection.reads);
      } catch (error) {
        this.close(connection, String(error));
        return;
      }
      if (frame === null) break;
      const end = this.store.commitLog.maxOffset;
      const empty = end === 0 && this.store.commitLog.minOffset === 0;
      if (!empty && frame.fromOffset !== end) {
        log.error("ha.frame_gap", { master: connection.address, frameOffset: frame.fromOffset, localOffset: end });
        this.close(connection, "frame does not continue the log");
        return;
      }
      if (frame.body.length === 0) continue;
      if (!this.store.appendReplicated(frame.fromOffset, frame.body)) {
        log.error("ha.append_refused", { master: connection.address, frameOffset: frame.fromOffset, localOffset: end });
        this.close(connection, "append refused");
        return;
      }
      this.replicatedBytes += frame.body.length;
      appended = true;
    }
    if (appended) this.report(connection);
  }

  private close(connection: SlaveConnection, why: string): void {
    if (connection.closed) return;
    log.warnEvery(10_000, "ha.disconnect", { master: connection.address, why });
    connection.socket.end();
    this.onClosed(connection);
  }

  private onClosed(connection: SlaveConnection): void {
    if (connection.closed) return;
    connection.closed = true;
    if (this.connection === connection) this.connection = null;
    log.info("ha.disconnected", { master: connection.address, offset: this.store.commitLog.maxOffset });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.connection) this.close(this.connection, "stopped");
  }
}
