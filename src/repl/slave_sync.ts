/**
 * SlaveSync (src/repl/slave_sync.ts): a slave copies the master's metadata every syncIntervalMs
 * over the remoting protocol, as RocketMQ's SlaveSynchronize: topics (GET_ALL_TOPIC_CONFIG 21,
 * replacing ours), consumer offsets (GET_ALL_CONSUMER_OFFSET 43, the master's win queue by
 * queue) and delay-level cursors (GET_ALL_DELAY_OFFSET 45, kept in config/delayOffset.json).
 * The master's remoting address comes from the name server's registration answer (masterAddr).
 * A failed round is logged and retried at the next interval; nothing is lost by skipping one.
 * Beyond RocketMQ: a replicated record of a topic the slave does not know yet asks for a round
 * at once (at most one a second), so a new topic is readable on the slave within a second.
 */
import { logScoped } from "../log.ts";
import { newRequest } from "../net/remoting_command.ts";
import { RequestCode } from "../net/request_code.ts";
import { ResponseCode } from "../net/response_code.ts";
import { RemotingClient } from "../net/tcp_client.ts";
import { decodeJsonBody } from "../protocol/json_body.ts";
import type { TopicConfig } from "../protocol/topic.ts";
import type { DataVersion } from "../broker/topic_config_manager.ts";
import type { Broker } from "../broker/broker.ts";

const log = logScoped("repl");

/** RocketMQ 4.x syncs every 10 s (BrokerController: slaveSynchronize every 10 s after 3 s). */
export const syncIntervalMs = 10_000;
const requestTimeoutMs = 3000;

export class SlaveSync {
  private readonly client = new RemotingClient();
  private timer: ReturnType<typeof setInterval> | null = null;
  private running: Promise<void> | null = null;
  /** The master's client address ("" while unknown). */
  masterAddr = "";
  rounds = 0;

  constructor(private readonly broker: Broker) {}

  start(): void {
    this.timer = setInterval(() => void this.syncAll(), syncIntervalMs);
  }

  private lastSoonMs = Number.NEGATIVE_INFINITY;

  /** A replicated record names a topic we lack: sync now, unless a round started in the last second. */
  syncSoon(): void {
    const now = performance.now();
    if (now - this.lastSoonMs < 1000) return;
    this.lastSoonMs = now;
    void this.syncAll();
  }

  /** A new master address: sync at once. */
  setMasterAddr(addr: string): void {
    if (addr === "" || addr === this.masterAddr) return;
    this.masterAddr = addr;
    void this.syncAll();
  }

  syncAll(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.round().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async round(): Promise<void> {
    const addr = this.masterAddr;
    if (addr === "") return;
    try {
      const topics = await this.fetch(addr, RequestCode.GET_ALL_TOPIC_CONFIG) as {
        topicConfigTable?: Record<string, TopicConfig>; dataVersion?: DataVersion;
      } | null;
      if (topics?.topicConfigTable && this.broker.topics.replaceFromMaster(topics.topicConfigTable, topics.dataVersion)) {
        log.info("sync.topics", { master: addr, topics: Object.keys(topics.topicConfigTable).length });
      }
      const offsets = await this.fetch(addr, RequestCode.GET_ALL_CONSUMER_OFFSET) as { offsetTable?: Record<string, Record<string, number>> } | null;
      if (offsets?.offsetTable) {
        this.broker.offsets.mergeFromMaster(offsets.offsetTable);
        this.broker.offsets.persist();
      }
      const delay = await this.client.invoke(addr, newRequest(RequestCode.GET_ALL_DELAY_OFFSET), requestTimeoutMs);
      if (delay.code === ResponseCode.SUCCESS && delay.body && delay.body.length > 0) {
        this.broker.schedule.replaceFromMaster(new TextDecoder().decode(delay.body));
      }
      this.rounds++;
    } catch (error) {
      log.warnEvery(30_000, "sync.failed", { master: addr, error: String(error) });
    }
  }

  private async fetch(addr: string, code: number): Promise<unknown> {
    const response = await this.client.invoke(addr, newRequest(code), requestTimeoutMs);
    if (response.code !== ResponseCode.SUCCESS) throw new Error(`request ${code} answered ${response.code} ${response.remark ?? ""}`);
    return decodeJsonBody(response.body);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.client.close();
  }
}
