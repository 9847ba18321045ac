/**
 * Replication (src/repl/replication.ts): what a broker's role adds to it, in one place, so the
 * broker only calls in at a few points (start, registration, arrivals, shutdown).
 *
 * - A master (ASYNC_MASTER, SYNC_MASTER): the HA listener (ha_master.ts) on haListenPort, and a
 *   second remoting listener on brokerPort − 2 (RocketMQ's fastListenPort, the "VIP channel"
 *   where an Apache RocketMQ slave fetches topic configs; best effort: a busy port is logged).
 * - A slave: its store takes only replicated bytes (MessageStore.replica), the HA client
 *   (ha_slave.ts) and the metadata copier (slave_sync.ts), fed the master's addresses from each
 *   registration answer; until it knows its master it re-registers every 5 s.
 */
import type { Broker } from "../broker/broker.ts";
import { logScoped } from "../log.ts";
import type { RequestHandler } from "../net/connection.ts";
import { ResponseCode } from "../net/response_code.ts";
import { RemotingServer } from "../net/tcp_server.ts";
import { HaMaster, ReplicaStatus } from "./ha_master.ts";
import { HaSlave } from "./ha_slave.ts";
import { SlaveSync } from "./slave_sync.ts";

const log = logScoped("repl");

/** How often a slave that has not yet learned its master re-registers with the name servers. */
const masterLookupIntervalMs = 5_000;

export class Replication {
  readonly master: HaMaster | null = null;
  readonly slave: HaSlave | null = null;
  readonly sync: SlaveSync | null = null;
  readonly isSlave: boolean;
  /** The HA listener's port once started (a master), else 0. */
  haPort = 0;
  private fastServer: RemotingServer | null = null;
  private lookupTimer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly broker: Broker,
    private readonly onRequest: RequestHandler,
  ) {
    const config = broker.config;
    this.isSlave = config.brokerRole === "SLAVE";
    if (this.isSlave) {
      broker.store.replica = true;
      this.slave = new HaSlave(broker.store, broker.io.clock, config.haMasterAddress);
      this.sync = new SlaveSync(broker);
    } else {
      this.master = new HaMaster(
        broker.store,
        {
          hostname: config.hostname, port: config.haPort, syncFlushTimeoutMs: config.store.syncFlushTimeoutMs,
          slaveFallBehindBytesMax: config.slaveFallBehindBytesMax,
        },
        broker.io.clock,
      );
    }
  }

  /** After the broker's own listener is up on `brokerPort`. */
  start(brokerPort: number): void {
    if (this.master) {
      this.haPort = this.master.start();
      if (brokerPort > 2) this.startFastServer(brokerPort - 2);
      return;
    }
    this.slave?.start();
    this.sync?.start();
    this.lookupTimer = setInterval(() => {
      if (this.sync?.masterAddr === "") void this.broker.registerAll();
    }, masterLookupIntervalMs);
  }

  private startFastServer(port: number): void {
    const config = this.broker.config;
    const server = new RemotingServer({
      hostname: config.hostname,
      port,
      frameBytesMax: config.frameBytesMax,
      sendBytesMax: config.connectionSendBytesMax,
      onRequest: this.onRequest,
      onClose: (connection) => this.broker.clients.expire(this.broker.io.clock.realtimeMs(), connection),
    });
    try {
      server.start();
      this.fastServer = server;
    } catch (error) {
      log.warn("fast_port.unavailable", { port, error: String(error) });
    }
  }

  /** REGISTER_BROKER's haServerAddr: a master's HA listener; "" for a slave. */
  haServerAddr(): string {
    return this.master ? `${this.broker.config.brokerIp}:${this.haPort}` : "";
  }

  /** A slave: a name server's answer named the master (RocketMQ's updateMasterHAServerAddrPeriodically). */
  onRegistered(ext: Record<string, string>): void {
    if (!this.isSlave) return;
    const masterAddr = ext["masterAddr"] ?? "";
    const haServerAddr = ext["haServerAddr"] ?? "";
    if (masterAddr !== "") this.sync?.setMasterAddr(masterAddr);
    if (haServerAddr !== "" && this.broker.config.haMasterAddress === "") this.slave?.setMasterAddress(haServerAddr);
  }

  /** A record reached a consume queue; a slave that does not know its topic copies topics now. */
  onArrival(topic: string): void {
    if (this.sync !== null && !this.broker.topics.get(topic)) this.sync.syncSoon();
  }

  /** A SYNC_MASTER: a send is answered once a slave has its bytes (sendCode waits). */
  get waitsForSlave(): boolean {
    return this.broker.config.brokerRole === "SYNC_MASTER" && this.master !== null;
  }

  /**
   * A send's answer code under SYNC_MASTER once a slave confirmed the bytes below `end` (or did
   * not): `code`, SLAVE_NOT_AVAILABLE (11) or FLUSH_SLAVE_TIMEOUT (12) — the slave's verdict wins
   * over FLUSH_DISK_TIMEOUT, as in RocketMQ. Other roles: `code` at once.
   */
  async sendCode(end: number, code: number): Promise<number> {
    if (!this.waitsForSlave || this.master === null) return code;
    const status = await this.master.waitReplicated(end);
    if (status === ReplicaStatus.SLAVE_NOT_AVAILABLE) return ResponseCode.SLAVE_NOT_AVAILABLE;
    if (status === ReplicaStatus.FLUSH_SLAVE_TIMEOUT) return ResponseCode.FLUSH_SLAVE_TIMEOUT;
    return code;
  }

  /** For /metrics: a master's slave count and the bytes its most advanced slave lacks; null otherwise. */
  metrics(): { slaves: number; lagBytes: number } | null {
    if (!this.master) return null;
    const slaves = this.master.slaveCount;
    const end = this.broker.store.commitLog.maxOffset;
    return { slaves, lagBytes: slaves > 0 ? Math.max(0, end - this.master.ackedOffset) : end };
  }

  /** For GET_BROKER_RUNTIME_INFO. */
  runtimeInfo(): Record<string, string> {
    if (this.master) {
      return { haSlaveCount: String(this.master.slaveCount), haSlaveAckOffset: String(this.master.ackedOffset), haPartialWrites: String(this.master.partialWrites) };
    }
    if (this.slave) return { haMasterAddress: this.slave.master, haConnected: String(this.slave.connected) };
    return {};
  }

  stopAccepting(): void {
    this.fastServer?.stopAccepting();
  }

  /** Before the store shuts down: a slave stops taking bytes and metadata. */
  stopSlave(): void {
    if (this.lookupTimer) clearInterval(this.lookupTimer);
    this.slave?.stop();
    this.sync?.stop();
  }

  /** After the store shut down (slaves got everything flushed so far): close the listeners. */
  stop(): void {
    this.master?.stop();
    this.fastServer?.closeConnections();
  }
}
