/**
 * Broker (src/broker/broker.ts): stores messages and serves producers and consumers over the
 * remoting protocol; registers its topics with every name server every 30 s and after each
 * topic change.
 *
 * Lifecycle: start() loads config and the store (recovering it), listens, registers.
 * shutdown(): stop accepting, answer held pulls, let in-flight requests finish (bounded),
 * flush the store, persist offsets, unregister from the name servers, close connections.
 */
import { totalmem } from "node:os";
import packageJson from "../../package.json" with { type: "json" };
import type { Io } from "../io/io.ts";
import { logScoped } from "../log.ts";
import type { Connection } from "../net/connection.ts";
import { newRequest, newResponse, type RemotingCommand } from "../net/remoting_command.ts";
import { RequestCode } from "../net/request_code.ts";
import { ResponseCode } from "../net/response_code.ts";
import { RemotingClient } from "../net/tcp_client.ts";
import { RemotingServer, type ServerLimits } from "../net/tcp_server.ts";
import type { TlsServerOptions } from "../net/tls.ts";
import { encodeJsonBody } from "../protocol/json_body.ts";
import { hostBytes, type HostBytes } from "../protocol/message_record.ts";
import { dlqTopicPrefix, newTopicConfig, permReadWrite, type TopicConfig } from "../protocol/topic.ts";
import { MessageStore, type StoreConfig } from "../store/message_store.ts";
import { ClientManager } from "./client_manager.ts";
import { ConsumerOffsetManager } from "./consumer_offset_manager.ts";
import { PullHoldService } from "./long_poll.ts";
import { processAdmin } from "./processor/admin.ts";
import { processClient } from "./processor/client.ts";
import { processPull } from "./processor/pull.ts";
import { processQuery } from "./processor/query.ts";
import { processSend } from "./processor/send.ts";
import { processSendBack } from "./processor/send_back.ts";
import { processLock } from "./processor/lock.ts";
import { processEndTransaction } from "./transaction/end_transaction.ts";
import { TransactionService, type TransactionConfig } from "./transaction/transaction_service.ts";
import { QueueLockTable } from "../order/queue_lock.ts";
import { TopicConfigManager } from "./topic_config_manager.ts";
import type { Metrics } from "../ops/metrics.ts";
import { effectiveLevel, parseDelayLevels, scheduleTopic } from "./schedule/delay_levels.ts";
import { ScheduleMessageService } from "./schedule/schedule_message_service.ts";
import { requestedDueMs, TimerMessageService, TimerProperty, timerDelayMsMax, timerTopic } from "./schedule/timer_message_service.ts";
import { RemotingError } from "../net/response_code.ts";
import { decodeProperties, encodeProperties, Property } from "../protocol/message_properties.ts";
import { type MessageToStore } from "../protocol/message_record.ts";
import type { AclValidator } from "../security/acl.ts";
import type { BrokerRole } from "../config.ts";
import { Replication } from "../repl/replication.ts";

const log = logScoped("broker");
const packageVersion = packageJson.version;

export interface BrokerConfig {
  clusterName: string;
  brokerName: string;
  brokerId: number;
  /** ASYNC_MASTER, SYNC_MASTER or SLAVE (src/repl/replication.ts); a slave's store only grows by replication. */
  brokerRole: BrokerRole;
  /** A master's replication listener port (haListenPort; 0 = any free port). */
  haPort: number;
  /** A slave's master HA address; "" = the one the name server returns at registration. */
  haMasterAddress: string;
  /** RocketMQ's haSlaveFallbehindMax: a SYNC_MASTER's slave further behind counts as unavailable. */
  slaveFallBehindBytesMax: number;
  /** suggestWhichBrokerId 1 for cold pulls (slaveReadEnable). */
  slaveReadEnable: boolean;
  /** Percent of RAM behind the log's end beyond which data is cold (accessMessageInMemoryMaxRatio). */
  accessMessageInMemoryMaxRatio: number;
  /** The address clients reach this broker at; registered with the name servers and stored in records. */
  brokerIp: string;
  hostname: string;
  port: number;
  namesrvAddrs: string[];
  autoCreateTopicEnable: boolean;
  defaultTopicQueueNums: number;
  frameBytesMax: number;
  connectionSendBytesMax: number;
  /** Connection limits of the broker port (absent: serverLimitsDefault). */
  serverLimits?: Partial<ServerLimits>;
  /** TLS on the broker port; absent or mode "off": plaintext. */
  tls?: TlsServerOptions | null;
  /** Connect to the name servers with TLS. */
  tlsClient?: boolean;
  /** Pulls held at once (long polling); one more is answered SYSTEM_BUSY. Absent: unlimited. */
  heldPullsMax?: number;
  registerIntervalMs: number;
  channelExpiryMs: number;
  offsetPersistIntervalMs: number;
  /** Longest a pull is held, whatever the client asks: under the clients' 30 s socket timeout. */
  pullHoldMsMax: number;
  shutdownDrainMs: number;
  /** RocketMQ's messageDelayLevel: "1s 5s 10s 30s 1m …". */
  messageDelayLevel: string;
  /** Retries before a message goes to %DLQ%<group>, unless the client sends its own. */
  maxReconsumeTimesDefault: number;
  /** Half messages: check-back timing and limits (transactionTimeOut, transactionCheckInterval, transactionCheckMax). */
  transaction: TransactionConfig;
  store: StoreConfig;
  /** The broker.conf given with -c: UPDATE_BROKER_CONFIG writes applied keys back to it (runtime_config.ts). */
  configFile?: string | null;
}

export class Broker {
  readonly topics: TopicConfigManager;
  readonly offsets: ConsumerOffsetManager;
  readonly clients: ClientManager;
  readonly store: MessageStore;
  readonly pullHold: PullHoldService;
  readonly schedule: ScheduleMessageService;
  readonly timer: TimerMessageService;
  readonly queueLocks: QueueLockTable;
  readonly transactions: TransactionService;
  readonly namesrv: RemotingClient;
  private readonly server: RemotingServer;
  private timers: Array<ReturnType<typeof setInterval>> = [];
  readonly version: string = packageVersion;
  readonly bootTimestampMs: number;
  /** Requests being processed: shutdown waits for them. */
  inFlight = 0;
  accepting = true;
  storeHost!: HostBytes;
  brokerAddr = "";
  /** Commit-log distance beyond which data counts as "on disk, not in memory" (accessMessageInMemoryMaxRatio, 40 % of RAM). */
  readonly hotBytesMax: number;
  /** Master/slave replication: the role's listeners and clients. */
  readonly repl: Replication;
  /** Where traffic is counted for /metrics; null when nobody asked (tests, embedding). */
  metrics: Metrics | null = null;
  /** RocketMQ's plain ACL, checked before every request is routed; null when off (aclEnable). */
  acl: AclValidator | null = null;

  constructor(
    readonly config: BrokerConfig,
    readonly io: Io,
  ) {
    this.bootTimestampMs = io.clock.realtimeMs();
    this.hotBytesMax = Math.floor((totalmem() * config.accessMessageInMemoryMaxRatio) / 100);
    this.namesrv = new RemotingClient(config.tlsClient ? { tls: true } : {});
    this.topics = new TopicConfigManager(config.store.dataDir, io, config.autoCreateTopicEnable);
    this.offsets = new ConsumerOffsetManager(config.store.dataDir);
    this.clients = new ClientManager(config.channelExpiryMs, (group, clientId) => {
      const held = this.queueLocks.holderGone(group, clientId);
      if (held > 0) log.info("order.holder_gone", { group, clientId, locks: held });
    });
    // Delayed messages carry their due time in the consume-queue tag field.
    this.store = new MessageStore(
      {
        ...config.store,
        onCommitLogFlushMs: (ms) => this.metrics?.recordFlush(ms / 1000),
        tagsCodeFor: (topic, properties, storeTimestamp) => {
          if (topic === scheduleTopic) return this.schedule.dueTimeMs(properties, storeTimestamp);
          if (topic === timerTopic) return Number(decodeProperties(properties).get(TimerProperty.OUT_MS) ?? 0);
          return null;
        },
      },
      io,
    );
    this.repl = new Replication(this, (connection, request) => this.process(connection, request));
    this.timer = new TimerMessageService(this.store, config.store.dataDir, io, () => this.storeHost);
    this.schedule = new ScheduleMessageService(this.store, parseDelayLevels(config.messageDelayLevel), config.store.dataDir, io, () => this.storeHost);
    this.queueLocks = new QueueLockTable(() => io.clock.monotonicMs());
    this.transactions = new TransactionService(this.store, this.offsets, this.clients, io, () => this.storeHost, (message) => this.applyDelay(message), config.transaction);
    this.pullHold = new PullHoldService(io, (topic, queueId) => this.store.maxOffset(topic, queueId), 1000, config.heldPullsMax ?? Infinity);
    this.store.onArrival((topic, queueId, maxOffset, tagsCode) => {
      this.repl.onArrival(topic);
      if (topic === timerTopic) {
        if (!this.repl.isSlave) this.timer.onArrival();
      }
      else this.pullHold.notify(topic, queueId, maxOffset, tagsCode);
    });
    this.server = new RemotingServer({
      name: "broker",
      hostname: config.hostname,
      port: config.port,
      frameBytesMax: config.frameBytesMax,
      sendBytesMax: config.connectionSendBytesMax,
      limits: config.serverLimits ?? {},
      tls: config.tls ?? null,
      onRequest: (connection, request) => this.process(connection, request),
      onClose: (connection) => this.clients.expire(this.io.clock.realtimeMs(), connection),
      beforeWrite: () => this.store.commitAppends(),
    });
  }

  async start(): Promise<number> {
    this.topics.load();
    this.offsets.load();
    this.store.load();
    this.transactions.load(); // before the first END_TRANSACTION can arrive
    const port = this.server.start();
    this.brokerAddr = `${this.config.brokerIp}:${port}`;
    this.storeHost = hostBytes(this.config.brokerIp, port);
    this.pullHold.start();
    this.repl.start(port);
    // A slave stores nothing of its own: delays, timers and check-backs run on the master.
    if (!this.repl.isSlave) {
      this.schedule.start();
      this.timer.start();
      this.transactions.start();
      this.timers.push(setInterval(() => this.schedule.persist(), 10_000));
      this.timers.push(setInterval(() => this.timer.persist(), 10_000));
    }
    this.timers.push(setInterval(() => void this.registerAll(), this.config.registerIntervalMs));
    this.timers.push(setInterval(() => this.offsets.persist(), this.config.offsetPersistIntervalMs));
    this.timers.push(setInterval(() => this.clients.expire(this.io.clock.realtimeMs()), 10_000));
    await this.registerAll();
    return port;
  }

  private process(connection: Connection, request: RemotingCommand): Promise<RemotingCommand | null> | RemotingCommand | null {
    if (!this.accepting) return newResponse(request, ResponseCode.SERVICE_NOT_AVAILABLE, "the broker is shutting down");
    if (this.acl !== null) {
      const refusal = this.acl.check(request, connection.remoteHost);
      if (refusal !== null) {
        log.warnEvery(10_000, "acl.refused", { peer: connection.remoteAddress, code: request.code, reason: refusal });
        return newResponse(request, ResponseCode.NO_PERMISSION, refusal);
      }
    }
    this.inFlight++;
    const startedMs = this.metrics ? this.io.clock.monotonicMs() : 0;
    let result: Promise<RemotingCommand | null> | RemotingCommand | null;
    try {
      result = this.route(connection, request);
    } catch (error) {
      this.requestDone(request.code, startedMs);
      throw error;
    }
    // A closure only for answers that wait: most sends and pulls are answered synchronously.
    if (result instanceof Promise) return result.finally(() => this.requestDone(request.code, startedMs));
    this.requestDone(request.code, startedMs);
    return result;
  }

  private requestDone(code: number, startedMs: number): void {
    this.inFlight--;
    this.metrics?.recordRequest(code, (this.io.clock.monotonicMs() - startedMs) / 1000);
  }

  private route(connection: Connection, request: RemotingCommand): Promise<RemotingCommand | null> | RemotingCommand | null {
    switch (request.code) {
      case RequestCode.SEND_MESSAGE:
      case RequestCode.SEND_MESSAGE_V2:
      case RequestCode.SEND_BATCH_MESSAGE:
        return processSend(this, connection, request);
      case RequestCode.PULL_MESSAGE:
        return processPull(this, connection, request);
      case RequestCode.QUERY_MESSAGE:
        return processQuery(this, connection, request);
      case RequestCode.CONSUMER_SEND_MSG_BACK:
        return processSendBack(this, connection, request);
      case RequestCode.LOCK_BATCH_MQ:
      case RequestCode.UNLOCK_BATCH_MQ:
        return processLock(this, connection, request);
      case RequestCode.END_TRANSACTION:
        return processEndTransaction(this, connection, request);
      case RequestCode.HEART_BEAT:
      case RequestCode.UNREGISTER_CLIENT:
      case RequestCode.GET_CONSUMER_LIST_BY_GROUP:
      case RequestCode.CHECK_CLIENT_CONFIG:
        return processClient(this, connection, request);
      default:
        return processAdmin(this, connection, request);
    }
  }

  /** Creates or replaces a topic, then re-registers with the name servers (awaited). */
  async createTopic(config: TopicConfig): Promise<void> {
    this.topics.put(config);
    log.info("topic.created", { topic: config.topicName, queues: config.writeQueueNums });
    await this.registerAll();
  }

  /** The config of `topic`, creating `%RETRY%`/`%DLQ%` style single-queue topics on demand. */
  async ensureTopic(topic: string, queueNums: number): Promise<TopicConfig> {
    const existing = this.topics.get(topic);
    if (existing) return existing;
    const config = newTopicConfig(topic, queueNums, permReadWrite);
    await this.createTopic(config);
    return config;
  }

  /**
   * RocketMQ's delay handling on put: a message with DELAY > 0 (and not a prepared or rolled-back
   * transaction) is stored under SCHEDULE_TOPIC_XXXX, queue level − 1, with its real topic and
   * queue in REAL_TOPIC / REAL_QID; the schedule service delivers it when due.
   */
  applyDelay(message: MessageToStore): MessageToStore {
    const type = message.sysFlag & 0xc;
    if (type === 0x4 || type === 0xc) return message;
    if (message.properties.includes("TIMER_") || message.properties.includes(TimerProperty.START_DELIVER_TIME)) {
      const timed = this.applyTimer(message);
      if (timed !== message) return timed;
    }
    if (!message.properties.includes(Property.DELAY)) return message;
    const properties = decodeProperties(message.properties);
    const level = effectiveLevel(Number(properties.get(Property.DELAY) ?? 0), this.schedule.levelsMs.length);
    if (level === 0) return message;
    properties.set(Property.DELAY, String(level));
    properties.set(Property.REAL_TOPIC, message.topic);
    properties.set(Property.REAL_QID, String(message.queueId));
    return { ...message, topic: scheduleTopic, queueId: level - 1, properties: encodeProperties(properties) };
  }

  /**
   * Arbitrary delays (TimerMessageService): a message due later than now goes to the timer
   * topic with its due time in TIMER_OUT_MS; one due now or in the past is stored as it is.
   * Throws MESSAGE_ILLEGAL past timerDelayMsMax.
   */
  private applyTimer(message: MessageToStore): MessageToStore {
    const properties = decodeProperties(message.properties);
    const nowMs = this.io.clock.realtimeMs();
    const dueMs = requestedDueMs(properties, nowMs);
    if (dueMs === null || dueMs <= nowMs) return message;
    if (dueMs - nowMs > timerDelayMsMax) {
      throw new RemotingError(ResponseCode.MESSAGE_ILLEGAL, `the delivery time is more than ${timerDelayMsMax / 3_600_000} hours away`);
    }
    properties.set(TimerProperty.OUT_MS, String(dueMs));
    properties.set(Property.REAL_TOPIC, message.topic);
    properties.set(Property.REAL_QID, String(message.queueId));
    properties.delete(Property.DELAY);
    return { ...message, topic: timerTopic, queueId: 0, properties: encodeProperties(properties) };
  }

  /** The message re-addressed to %DLQ%<group> (created on demand: 1 queue), delay removed. */
  async toDeadLetter(message: MessageToStore, group: string): Promise<MessageToStore> {
    const topic = dlqTopicPrefix + group;
    await this.ensureTopic(topic, 1);
    const properties = decodeProperties(message.properties);
    properties.delete(Property.DELAY);
    return { ...message, topic, queueId: 0, properties: encodeProperties(properties) };
  }

  async registerAll(): Promise<void> {
    const body = encodeJsonBody({ filterServerList: [], topicConfigSerializeWrapper: this.topics.wrapper() });
    const header = {
      brokerName: this.config.brokerName,
      brokerAddr: this.brokerAddr,
      clusterName: this.config.clusterName,
      haServerAddr: this.repl.haServerAddr(),
      brokerId: String(this.config.brokerId),
      compressed: "false",
      bodyCrc32: "0",
    };
    await Promise.all(
      this.config.namesrvAddrs.map(async (addr) => {
        try {
          const response = await this.namesrv.invoke(addr, newRequest(RequestCode.REGISTER_BROKER, header, body), 6000);
          if (response.code !== ResponseCode.SUCCESS) log.warn("register.refused", { namesrv: addr, code: response.code, remark: response.remark });
          else this.repl.onRegistered(response.extFields);
        } catch (error) {
          log.warnEvery(30_000, "register.failed", { namesrv: addr, error: String(error) });
        }
      }),
    );
  }

  private async unregisterAll(): Promise<void> {
    const header = {
      brokerName: this.config.brokerName,
      brokerAddr: this.brokerAddr,
      clusterName: this.config.clusterName,
      brokerId: String(this.config.brokerId),
    };
    await Promise.all(
      this.config.namesrvAddrs.map((addr) =>
        this.namesrv.invoke(addr, newRequest(RequestCode.UNREGISTER_BROKER, header), 2000).catch(() => undefined),
      ),
    );
  }

  /** Counts traffic into `metrics` and lets it read offsets, lag and store size when scraped. */
  attachMetrics(metrics: Metrics, namesrvConnections: () => number): void {
    this.metrics = metrics;
    metrics.attach({
      committedOffsets: () => this.offsets.entries(),
      maxOffset: (topic, queueId) => this.store.maxOffset(topic, queueId),
      storeBytes: () => this.store.commitLog.maxOffset - this.store.commitLog.minOffset,
      commitLogFsyncs: () => this.store.commitLog.fsyncCount,
      dataDir: this.config.store.dataDir,
      connections: () => ({ namesrv: namesrvConnections(), broker: this.server.connections.size }),
      replication: () => this.repl.metrics(),
    });
  }

  stopAccepting(): void {
    this.server.stopAccepting();
    this.repl.stopAccepting();
  }

  async shutdown(): Promise<void> {
    this.server.stopAccepting();
    this.repl.stopAccepting();
    for (const timer of this.timers) clearInterval(timer);
    this.pullHold.stop();
    this.pullHold.releaseAll();
    const deadline = this.io.clock.monotonicMs() + this.config.shutdownDrainMs;
    while (this.inFlight > 0 && this.io.clock.monotonicMs() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    this.accepting = false;
    this.repl.stopSlave();
    if (!this.repl.isSlave) {
      await this.schedule.stop();
      await this.timer.stop();
      this.transactions.stop();
    }
    await this.store.shutdown();
    this.offsets.persist(true);
    await this.unregisterAll();
    this.repl.stop();
    this.server.closeConnections();
    this.namesrv.close();
  }
}
