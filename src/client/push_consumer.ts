/**
 * PushConsumer (src/client/push_consumer.ts): pulls the queues assigned to it and hands every
 * message to the handler, as RocketMQ's DefaultMQPushConsumer does (concurrent consumption).
 *
 * Guarantees:
 * - At-least-once: a message's offset is committed only after the handler returned (or its
 *   promise resolved). The committed offset of a queue is the lowest offset pulled and not yet
 *   consumed (or the next offset to pull when none is pending); a rebalance or a restart may
 *   deliver a message again, never skip one.
 * - CLUSTERING: the group's members split the readable queues of each subscribed topic
 *   (AllocateMessageQueueAveragely over sorted queues and sorted consumer ids from
 *   GET_CONSUMER_LIST_BY_GROUP) at start, every rebalanceIntervalMs, and at once when a broker
 *   sends NOTIFY_CONSUMER_IDS_CHANGED. Offsets live on the broker: read with
 *   QUERY_CONSUMER_OFFSET, else per consumeFromWhere (LAST: GET_MAX_OFFSET, FIRST: 0,
 *   TIMESTAMP: SEARCH_OFFSET_BY_TIMESTAMP); committed in pulls, with UPDATE_CONSUMER_OFFSET every
 *   5 s, when a queue is taken away, and at shutdown.
 * - BROADCASTING: every member takes every queue; offsets are kept by the client, in
 *   <offsetStoreDir>/<clientId>/<group>/offsets.json (every 5 s and at shutdown), so a restarted
 *   member resumes where it stopped; a failed message is dropped, never retried.
 * - A handler that throws (clustering): the message is sent back to the broker
 *   (CONSUMER_SEND_MSG_BACK), which redelivers it through %RETRY%<group> after the level delay
 *   (10 s, 30 s, 1 m …) with reconsumeTimes + 1, and parks it in %DLQ%<group> after
 *   maxReconsumeTimes; only if the broker cannot take it back is it retried from this process
 *   after consumeRetryDelayMs. Clustering consumers subscribe %RETRY%<group> themselves, and a
 *   message from it reaches the handler under its original topic (RETRY_TOPIC).
 * - At most consumeConcurrency handler calls run at once (over all queues); at most
 *   pullThresholdForQueue messages per queue wait in memory before its pulls pause.
 * - Messages reach the handler with bodies decompressed and tags checked exactly (the broker
 *   filters by tag hash only).
 * - shutdown() stops pulling, waits up to shutdownWaitMs for running handlers, commits offsets,
 *   sends UNREGISTER_CLIENT and closes every connection.
 * - onMessageOrderly() instead of onMessage(): ordered consumption (MessageListenerOrderly) —
 *   queues locked on the broker, one message of a queue at a time; see consume_orderly.ts.
 * Requires: subscribe() and onMessage() (or onMessageOrderly()) before start(); start() once;
 * shutdown() at the end.
 * Pulls always go to the master (suggestWhichBrokerId is not followed).
 */
import type { Credentials } from "../security/sign.ts";
import type { TlsClientOption } from "../net/tls.ts";
import { realIo, type Io } from "../io/io.ts";
import { logScoped } from "../log.ts";
import type { Connection } from "../net/connection.ts";
import { newResponse, type RemotingCommand } from "../net/remoting_command.ts";
import { RequestCode } from "../net/request_code.ts";
import { ResponseCode } from "../net/response_code.ts";
import { ClientInstance, heartbeatIntervalMs, PullSysFlag, routeRefreshIntervalMs, subscribeQueues, type PullResponse } from "./client_instance.ts";
import { MQClientError } from "./errors.ts";
import { localIpv4, messageQueueKey, type MessageQueue, type ReceivedMessage } from "./message.ts";
import { defaultInstanceName } from "./producer.ts";
import { allocateAveragely, type AllocateStrategy } from "./rebalance.ts";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { ConsumeOrderlyService, pullDelayWhenUnlockedMs } from "./consume_orderly.ts";
import { buildSubscription, tagsMatch, type ExpressionType, type SubscriptionData } from "./subscription.ts";
import { Property } from "../protocol/message_properties.ts";
import { retryTopicPrefix } from "../protocol/topic.ts";

const log = logScoped("client");

export type MessageModel = "CLUSTERING" | "BROADCASTING";
export type ConsumeFromWhere = "CONSUME_FROM_LAST_OFFSET" | "CONSUME_FROM_FIRST_OFFSET" | "CONSUME_FROM_TIMESTAMP";
export type MessageHandler = (message: ReceivedMessage) => Promise<void> | void;

/** Long-poll hold the broker may use, and the socket timeout of a pull (Java's values). */
const pullSuspendMs = 15_000;
const pullTimeoutMs = 30_000;
/** After a failed pull: wait 1 s plus up to 2 s of jitter. */
const pullBackoffMsMin = 1000;
const pullBackoffMsJitter = 2000;
/** A queue over pullThresholdForQueue waiting messages checks again after this. */
const flowControlDelayMs = 50;
const persistOffsetIntervalMs = 5000;
const consumeRetryDelayMs = 1000;
const shutdownWaitMs = 5000;

export interface PushConsumerOptions {
  /** "host:port", or several separated by ';'. */
  namesrvAddr: string;
  consumerGroup: string;
  messageModel?: MessageModel;
  consumeFromWhere?: ConsumeFromWhere;
  /** For CONSUME_FROM_TIMESTAMP; default: 30 minutes before start(). */
  consumeTimestampMs?: number;
  /** Part of the client id `<ip>@<instanceName>`; must differ between members in one process. */
  instanceName?: string;
  consumeConcurrency?: number;
  pullBatchSize?: number;
  pullThresholdForQueue?: number;
  rebalanceIntervalMs?: number;
  /** Redeliveries before the broker moves a failed message to %DLQ%<group> (RocketMQ's 16). */
  maxReconsumeTimes?: number;
  /** How members split queues (clustering); every member of a group must use the same. Default: averagely. */
  allocateStrategy?: AllocateStrategy;
  /**
   * BROADCASTING: where offsets are kept between runs, as <dir>/<clientId>/<group>/offsets.json
   * (default ~/.bolide_offsets); null keeps them in memory only.
   */
  offsetStoreDir?: string | null;
  /** Sign every request for a broker with ACL on (RocketMQ's AclClientRPCHook + SessionCredentials). */
  credentials?: Credentials;
  /** Connect with TLS (to name servers and brokers alike, as the Java client's useTLS): `true` does not check the server's certificate. */
  tls?: TlsClientOption;
  io?: Io;
}

/** One assigned queue: where pulling goes on, and which pulled offsets are still being consumed. */
class ProcessQueue {
  dropped = false;
  /** Offsets pulled and not yet consumed. Added in pull order, so the first is the lowest. */
  readonly pending = new Set<number>();
  /** What was last sent with UPDATE_CONSUMER_OFFSET (-1: nothing yet). */
  lastCommitted = -1;

  constructor(
    readonly mq: MessageQueue,
    /** The next offset to pull. */
    public pullOffset: number,
  ) {}

  /** The offset to commit: lowest pending, else the next to pull. */
  consumedOffset(): number {
    for (const offset of this.pending) return offset;
    return this.pullOffset;
  }
}

interface Delivery {
  pq: ProcessQueue;
  message: ReceivedMessage;
}

/** A queue that does not move its items on shift(). */
class Fifo<T> {
  private items: Array<T | undefined> = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

export class PushConsumer {
  readonly clientId: string;
  private readonly options: Required<Omit<PushConsumerOptions, "instanceName" | "consumeTimestampMs" | "credentials" | "tls">> & { consumeTimestampMs: number | null; tls: TlsClientOption };
  private readonly credentials: Credentials | undefined;
  private readonly subscriptions = new Map<string, SubscriptionData>();
  private handler: MessageHandler | null = null;
  /** Set by onMessageOrderly(): queues are locked on the broker and consumed one message at a time. */
  private orderly: ConsumeOrderlyService | null = null;
  private instance: ClientInstance | null = null;
  private timers: Array<ReturnType<typeof setInterval>> = [];
  private readonly processQueues = new Map<string, ProcessQueue>();
  /** BROADCASTING: offsets of queues, kept across rebalances for this object's life. */
  private readonly localOffsets = new Map<string, number>();
  private readonly ready = new Fifo<Delivery>();
  private consuming = 0;
  private rebalancing: Promise<void> | null = null;
  private rebalanceAgain = false;

  constructor(options: PushConsumerOptions) {
    this.credentials = options.credentials;
    this.options = {
      namesrvAddr: options.namesrvAddr,
      consumerGroup: options.consumerGroup,
      messageModel: options.messageModel ?? "CLUSTERING",
      consumeFromWhere: options.consumeFromWhere ?? "CONSUME_FROM_LAST_OFFSET",
      consumeTimestampMs: options.consumeTimestampMs ?? null,
      tls: options.tls ?? false,
      consumeConcurrency: options.consumeConcurrency ?? 20,
      pullBatchSize: options.pullBatchSize ?? 32,
      pullThresholdForQueue: options.pullThresholdForQueue ?? 1000,
      rebalanceIntervalMs: options.rebalanceIntervalMs ?? 20_000,
      maxReconsumeTimes: options.maxReconsumeTimes ?? 16,
      allocateStrategy: options.allocateStrategy ?? allocateAveragely,
      offsetStoreDir: options.offsetStoreDir === undefined ? join(homedir(), ".bolide_offsets") : options.offsetStoreDir,
      io: options.io ?? realIo,
    };
    if (this.options.consumerGroup.length === 0) throw new MQClientError("consumerGroup is required");
    if (this.options.consumeConcurrency < 1) throw new MQClientError("consumeConcurrency must be ≥ 1");
    if (this.options.pullBatchSize < 1 || this.options.pullBatchSize > 1024) throw new MQClientError("pullBatchSize must be in [1, 1024]");
    this.clientId = `${localIpv4()}@${options.instanceName ?? defaultInstanceName()}`;
  }

  private get clustering(): boolean {
    return this.options.messageModel === "CLUSTERING";
  }

  /** Subscribes to `topic` with "*", "TagA || TagB", or (expressionType SQL92) a property filter; replaces an earlier subscription of it. */
  subscribe(topic: string, expression = "*", expressionType: ExpressionType = "TAG"): void {
    this.subscriptions.set(topic, buildSubscription(topic, expression, this.options.io.clock.realtimeMs(), expressionType));
    const instance = this.instance;
    if (instance) {
      void instance.route(topic)
        .then(() => this.heartbeat())
        .then(() => this.requestRebalance())
        .catch((error: unknown) => log.warn("subscribe.failed", { topic, error: String(error) }));
    }
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  /** Ordered consumption instead of onMessage() (MessageListenerOrderly): see consume_orderly.ts. */
  onMessageOrderly(handler: MessageHandler): void {
    this.handler = handler;
    const { consumerGroup, maxReconsumeTimes, io } = this.options;
    this.orderly = new ConsumeOrderlyService({ consumerGroup, clientId: this.clientId, clustering: this.clustering, maxReconsumeTimes, io }, handler, (mq) => {
      // Its lock lapsed: drop it uncommitted; a rebalance takes it on afresh from the committed offset.
      const pq = this.processQueues.get(messageQueueKey(mq));
      if (pq) pq.dropped = true;
      this.processQueues.delete(messageQueueKey(mq));
      void this.requestRebalance();
    });
  }

  /** The queues this consumer pulls now. */
  assignedQueues(): MessageQueue[] {
    return [...this.processQueues.values()].map((pq) => pq.mq);
  }

  async start(): Promise<void> {
    if (this.instance) throw new MQClientError("consumer already started");
    if (!this.handler) throw new MQClientError("call onMessage() before start()");
    if (this.subscriptions.size === 0) throw new MQClientError("call subscribe() before start()");
    this.options.consumeTimestampMs ??= this.options.io.clock.realtimeMs() - 30 * 60_000;
    if (!this.clustering) this.loadLocalOffsets();
    if (this.clustering) {
      const retryTopic = retryTopicPrefix + this.options.consumerGroup;
      this.subscriptions.set(retryTopic, buildSubscription(retryTopic, "*", this.options.io.clock.realtimeMs()));
    }
    const instance = new ClientInstance(this.options.namesrvAddr, this.options.io.random, (connection, request) => this.onRequest(connection, request), this.credentials, this.options.tls);
    this.instance = instance;
    await Promise.all(
      [...this.subscriptions.keys()].map((topic) =>
        instance.route(topic).catch((error: unknown) => log.warn("route.failed", { topic, error: String(error) })),
      ),
    );
    await this.heartbeat();
    this.timers.push(setInterval(() => void this.heartbeat(), heartbeatIntervalMs));
    this.timers.push(setInterval(() => void instance.refreshRoutes(), routeRefreshIntervalMs));
    this.timers.push(setInterval(() => this.requestRebalance(), this.options.rebalanceIntervalMs));
    this.timers.push(setInterval(() => this.persistOffsets(), persistOffsetIntervalMs));
    this.orderly?.start(instance, () => this.assignedQueues());
    await this.requestRebalance();
  }

  async shutdown(): Promise<void> {
    const instance = this.instance;
    if (!instance) return;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await this.rebalancing;
    this.instance = null; // no more rebalances, pulls stop once their queue is dropped
    for (const pq of this.processQueues.values()) pq.dropped = true;
    const deadlineMs = this.options.io.clock.monotonicMs() + shutdownWaitMs;
    while (this.consuming > 0 && this.options.io.clock.monotonicMs() < deadlineMs) await sleep(10);
    await this.orderly?.stop(deadlineMs);
    for (const pq of this.processQueues.values()) this.commit(instance, pq);
    await this.orderly?.unlock(instance, this.assignedQueues());
    if (!this.clustering) this.saveLocalOffsets();
    this.processQueues.clear();
    if (this.clustering) await instance.unregisterAll(this.clientId, { consumerGroup: this.options.consumerGroup });
    instance.close();
  }

  // ------------------------------------------------------------------------------ membership

  private onRequest(_connection: Connection, request: RemotingCommand): RemotingCommand | null {
    if (request.code === RequestCode.NOTIFY_CONSUMER_IDS_CHANGED) {
      if (request.extFields["consumerGroup"] === this.options.consumerGroup) void this.requestRebalance();
      return null; // oneway
    }
    return newResponse(request, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, ` request type ${request.code} not supported`);
  }

  private async heartbeat(): Promise<void> {
    await this.instance?.heartbeatAll({
      clientID: this.clientId,
      consumerDataSet: [
        {
          groupName: this.options.consumerGroup,
          consumeType: "CONSUME_PASSIVELY",
          messageModel: this.options.messageModel,
          consumeFromWhere: this.options.consumeFromWhere,
          unitMode: false,
          subscriptionDataSet: [...this.subscriptions.values()],
        },
      ],
      producerDataSet: [],
    });
  }

  /** Runs a rebalance now, or once more after the one running; resolves when that is done. */
  private requestRebalance(): Promise<void> {
    if (this.rebalancing) {
      this.rebalanceAgain = true;
      return this.rebalancing;
    }
    this.rebalancing = (async () => {
      do {
        this.rebalanceAgain = false;
        for (const subscription of this.subscriptions.values()) {
          try {
            await this.rebalanceTopic(subscription.topic);
          } catch (error) {
            log.warnEvery(10_000, "rebalance.failed", { group: this.options.consumerGroup, topic: subscription.topic, error: String(error) });
          }
        }
      } while (this.rebalanceAgain && this.instance);
    })().finally(() => {
      this.rebalancing = null;
    });
    return this.rebalancing;
  }

  private async rebalanceTopic(topic: string): Promise<void> {
    const instance = this.instance;
    if (!instance) return;
    const mqAll = subscribeQueues(topic, await instance.route(topic));
    let mine = mqAll;
    if (this.clustering) {
      const cidAll = await instance.consumerIdList(this.options.consumerGroup, topic);
      if (cidAll === null) return; // the broker does not know the group yet: keep what we have
      mine = this.options.allocateStrategy(mqAll, [...cidAll].sort(), this.clientId);
    }
    const mineKeys = new Set(mine.map(messageQueueKey));
    for (const [key, pq] of this.processQueues) {
      if (pq.mq.topic === topic && !mineKeys.has(key)) {
        pq.dropped = true;
        this.processQueues.delete(key);
        if (this.orderly) void this.orderly.release(instance, pq.mq, () => this.commit(instance, pq));
        else this.commit(instance, pq);
      }
    }
    for (const mq of mine) {
      const key = messageQueueKey(mq);
      if (this.processQueues.has(key)) continue;
      if (this.orderly && !(await this.orderly.lockQueue(instance, mq))) continue; // held by another member: next rebalance
      let offset: number;
      try {
        offset = await this.startOffset(instance, mq);
      } catch (error) {
        log.warnEvery(10_000, "offset.start_failed", { mq, error: String(error) }); // next rebalance tries again
        continue;
      }
      if (this.instance !== instance || this.processQueues.has(key)) return;
      const pq = new ProcessQueue(mq, offset);
      this.processQueues.set(key, pq);
      void this.pullLoop(instance, pq);
    }
  }

  // ------------------------------------------------------------------------------ offsets

  private async startOffset(instance: ClientInstance, mq: MessageQueue): Promise<number> {
    if (this.clustering) {
      const stored = await instance.queryConsumerOffset(this.options.consumerGroup, mq);
      if (stored !== null) return stored;
    } else {
      const local = this.localOffsets.get(messageQueueKey(mq));
      if (local !== undefined) return local;
    }
    switch (this.options.consumeFromWhere) {
      case "CONSUME_FROM_LAST_OFFSET":
        return instance.maxOffset(mq);
      case "CONSUME_FROM_FIRST_OFFSET":
        return 0;
      case "CONSUME_FROM_TIMESTAMP":
        return instance.searchOffset(mq, this.options.consumeTimestampMs ?? 0);
    }
  }

  /** Clustering: UPDATE_CONSUMER_OFFSET when it moved; broadcasting: remember it here. */
  private commit(instance: ClientInstance, pq: ProcessQueue): void {
    if (this.orderly && !this.orderly.mayCommit(pq.mq)) return; // only the lock holder writes an ordered queue's offset
    const offset = pq.consumedOffset();
    if (!this.clustering) {
      this.localOffsets.set(messageQueueKey(pq.mq), offset);
      return;
    }
    if (offset === pq.lastCommitted) return;
    instance.updateConsumerOffset(this.options.consumerGroup, pq.mq, offset);
    pq.lastCommitted = offset;
  }

  private persistOffsets(): void {
    const instance = this.instance;
    if (!instance) return;
    for (const pq of this.processQueues.values()) this.commit(instance, pq);
    if (!this.clustering) this.saveLocalOffsets();
  }

  /** BROADCASTING: the file offsets are kept in between runs, or null. */
  private localOffsetFile(): string | null {
    const dir = this.options.offsetStoreDir;
    return dir === null ? null : join(dir, this.clientId.replace(/[^\w.@-]/g, "_"), this.options.consumerGroup, "offsets.json");
  }

  private loadLocalOffsets(): void {
    const file = this.localOffsetFile();
    if (!file) return;
    try {
      const stored = JSON.parse(readFileSync(file, "utf8")) as { offsetTable?: Record<string, number> };
      for (const [key, offset] of Object.entries(stored.offsetTable ?? {})) this.localOffsets.set(key, Number(offset));
    } catch {
      // no file yet (first run) or unreadable: start per consumeFromWhere
    }
  }

  private saveLocalOffsets(): void {
    const file = this.localOffsetFile();
    if (!file) return;
    try {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(`${file}.tmp`, JSON.stringify({ offsetTable: Object.fromEntries(this.localOffsets) }));
      renameSync(`${file}.tmp`, file);
    } catch (error) {
      log.warnEvery(60_000, "offsets.save_failed", { file, error: String(error) });
    }
  }

  // ------------------------------------------------------------------------------ pulling

  private async pullLoop(instance: ClientInstance, pq: ProcessQueue): Promise<void> {
    const random = this.options.io.random;
    while (!pq.dropped) {
      if (this.orderly && !this.orderly.isLocked(pq.mq)) {
        await sleep(pullDelayWhenUnlockedMs);
        continue;
      }
      if (pq.pending.size >= this.options.pullThresholdForQueue) {
        await sleep(flowControlDelayMs);
        continue;
      }
      const subscription = this.subscriptions.get(pq.mq.topic);
      if (!subscription) return;
      const commitOffset = this.clustering ? pq.consumedOffset() : 0;
      let sysFlag = PullSysFlag.SUSPEND | PullSysFlag.SUBSCRIPTION;
      if (this.clustering && commitOffset > 0) sysFlag |= PullSysFlag.COMMIT_OFFSET;
      let response: PullResponse;
      try {
        response = await instance.pull(
          {
            consumerGroup: this.options.consumerGroup,
            mq: pq.mq,
            queueOffset: pq.pullOffset,
            maxMsgNums: this.options.pullBatchSize,
            sysFlag,
            commitOffset,
            suspendTimeoutMillis: pullSuspendMs,
            subscription: subscription.subString,
            subVersion: subscription.subVersion,
            expressionType: subscription.expressionType,
          },
          pullTimeoutMs,
        );
      } catch (error) {
        if (pq.dropped) return;
        log.warnEvery(10_000, "pull.failed", { mq: pq.mq, error: String(error) });
        await sleep(pullBackoffMsMin + random.below(pullBackoffMsJitter));
        continue;
      }
      if (pq.dropped) return;
      if (response.code === ResponseCode.PULL_OFFSET_MOVED) {
        log.warn("pull.offset_moved", { mq: pq.mq, from: pq.pullOffset, to: response.nextBeginOffset });
      }
      pq.pullOffset = response.nextBeginOffset; // SUCCESS, NOT_FOUND, RETRY_IMMEDIATELY, OFFSET_MOVED alike
      for (const message of response.messages) {
        if (!tagsMatch(subscription, message.tags) || pq.pending.has(message.queueOffset)) continue;
        const originalTopic = message.propertyMap[Property.RETRY_TOPIC];
        if (originalTopic !== undefined && message.topic.startsWith(retryTopicPrefix)) message.topic = originalTopic;
        pq.pending.add(message.queueOffset);
        if (this.orderly) this.orderly.submit(instance, pq.mq, message, pq.pending);
        else this.ready.push({ pq, message });
      }
      this.dispatch();
    }
  }

  // ------------------------------------------------------------------------------ consuming

  private dispatch(): void {
    while (this.consuming < this.options.consumeConcurrency) {
      const delivery = this.ready.shift();
      if (!delivery) return;
      if (delivery.pq.dropped) continue; // its next owner starts from the committed offset
      this.consuming++;
      void this.consume(delivery);
    }
  }

  private async consume(delivery: Delivery): Promise<void> {
    let failure: unknown = null;
    try {
      await this.handler!(delivery.message);
    } catch (error) {
      failure = error ?? new Error("handler threw a nullish value");
    }
    this.consuming--;
    if (failure === null) delivery.pq.pending.delete(delivery.message.queueOffset);
    else this.onConsumeFailed(delivery, failure);
    this.dispatch();
  }

  /**
   * The handler threw. Broadcasting: the message is dropped (logged). Clustering: it goes back to
   * the broker for redelivery through %RETRY%<group> (or to %DLQ%<group>) and counts as consumed
   * here once the broker took it; if the broker refuses or cannot be reached, the same message is
   * handed over again from memory after consumeRetryDelayMs.
   */
  private onConsumeFailed(delivery: Delivery, error: unknown): void {
    const { pq, message } = delivery;
    log.warnEvery(10_000, "consume.failed", { group: this.options.consumerGroup, msgId: message.msgId, error: String(error) });
    if (!this.clustering) {
      pq.pending.delete(message.queueOffset);
      return;
    }
    const instance = this.instance;
    const retryLocally = (): void => {
      setTimeout(() => {
        if (pq.dropped) return;
        message.reconsumeTimes++;
        this.ready.push(delivery);
        this.dispatch();
      }, consumeRetryDelayMs);
    };
    if (!instance) return retryLocally();
    const originMsgId = message.propertyMap[Property.ORIGIN_MESSAGE_ID] ?? message.msgId;
    instance
      .sendMessageBack(message.brokerName, message.commitLogOffset, this.options.consumerGroup, 0, originMsgId, message.topic, this.options.maxReconsumeTimes)
      .then(
        () => {
          pq.pending.delete(message.queueOffset);
        },
        (sendBackError: unknown) => {
          log.warnEvery(10_000, "consume.send_back_failed", { group: this.options.consumerGroup, error: String(sendBackError) });
          retryLocally();
        },
      );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
