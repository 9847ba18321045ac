/**
 * PullConsumer (src/client/pull_consumer.ts): the caller picks queues and offsets and pulls
 * itself, as with RocketMQ's DefaultMQPullConsumer.
 *
 * Guarantees:
 * - pull() answers at once (no long polling); pullBlockIfNotFound() lets the broker hold the
 *   request up to 15 s until a message arrives. Either returns a status, never throws for "no
 *   message": FOUND (messages, bodies decompressed, tags checked exactly — the list may be empty
 *   when only hash collisions matched), NO_NEW_MSG, NO_MATCHED_MSG, OFFSET_ILLEGAL (continue from
 *   nextBeginOffset). Other broker answers throw MQBrokerError.
 * - updateConsumeOffset() only records an offset here; commit() sends every recorded offset that
 *   changed (UPDATE_CONSUMER_OFFSET, oneway), and so does a timer every 5 s and shutdown().
 *   fetchConsumeOffset() asks the broker (QUERY_CONSUMER_OFFSET); -1 when it has none.
 * - Offsets are logical: "the next message to read". A request sent after commit() on the same
 *   connection sees the committed offset.
 * - A heartbeat (consumeType CONSUME_ACTIVELY, no subscriptions) goes to every broker it knows
 *   every 30 s, so admin tools see the group; shutdown() unregisters and closes connections.
 * Requires: start() before anything else; shutdown() once at the end.
 */
import type { Credentials } from "../security/sign.ts";
import type { TlsClientOption } from "../net/tls.ts";
import { realIo } from "../io/io.ts";
import { ResponseCode } from "../net/response_code.ts";
import { ClientInstance, heartbeatIntervalMs, PullSysFlag, routeRefreshIntervalMs, subscribeQueues } from "./client_instance.ts";
import { MQClientError } from "./errors.ts";
import { localIpv4, messageQueueKey, type MessageQueue, type ReceivedMessage } from "./message.ts";
import { defaultInstanceName } from "./producer.ts";
import { buildSubscription, tagsMatch } from "./subscription.ts";

const nonBlockingPullTimeoutMs = 10_000;
const blockingPullSuspendMs = 15_000;
const blockingPullTimeoutMs = 30_000;
const persistOffsetIntervalMs = 5000;

export type PullStatus = "FOUND" | "NO_NEW_MSG" | "NO_MATCHED_MSG" | "OFFSET_ILLEGAL";

export interface PullResult {
  status: PullStatus;
  nextBeginOffset: number;
  minOffset: number;
  maxOffset: number;
  messages: ReceivedMessage[];
}

export interface PullConsumerOptions {
  namesrvAddr: string;
  consumerGroup: string;
  instanceName?: string;
  /** Sign every request for a broker with ACL on (RocketMQ's AclClientRPCHook + SessionCredentials). */
  credentials?: Credentials;
  /** Connect with TLS (to name servers and brokers alike, as the Java client's useTLS): `true` does not check the server's certificate. */
  tls?: TlsClientOption;
}

export class PullConsumer {
  readonly clientId: string;
  private instance: ClientInstance | null = null;
  private timers: Array<ReturnType<typeof setInterval>> = [];
  /** Offsets recorded with updateConsumeOffset() and not yet sent. */
  private readonly dirty = new Map<string, { mq: MessageQueue; offset: number }>();
  /** The last offset recorded per queue, sent or not. */
  private readonly recorded = new Map<string, number>();

  constructor(private readonly options: PullConsumerOptions) {
    if (options.consumerGroup.length === 0) throw new MQClientError("consumerGroup is required");
    this.clientId = `${localIpv4()}@${options.instanceName ?? defaultInstanceName()}`;
  }

  async start(): Promise<void> {
    if (this.instance) throw new MQClientError("consumer already started");
    const instance = new ClientInstance(this.options.namesrvAddr, realIo.random, undefined, this.options.credentials, this.options.tls);
    this.instance = instance;
    this.timers.push(setInterval(() => void this.heartbeat(), heartbeatIntervalMs));
    this.timers.push(setInterval(() => void instance.refreshRoutes(), routeRefreshIntervalMs));
    this.timers.push(setInterval(() => this.commit(), persistOffsetIntervalMs));
  }

  async shutdown(): Promise<void> {
    const instance = this.instance;
    if (!instance) return;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    this.commit();
    this.instance = null;
    await instance.unregisterAll(this.clientId, { consumerGroup: this.options.consumerGroup });
    instance.close();
  }

  /** The readable queues of `topic`, sorted by broker name and queue id. */
  async fetchMessageQueues(topic: string): Promise<MessageQueue[]> {
    const instance = this.started();
    const known = instance.mastersVersion;
    const queues = subscribeQueues(topic, await instance.fetchRoute(topic));
    if (instance.mastersVersion !== known) await this.heartbeat();
    return queues;
  }

  /** Reads up to maxNums messages of `mq` from `offset`; answers at once. */
  pull(mq: MessageQueue, subExpression: string, offset: number, maxNums: number): Promise<PullResult> {
    return this.pullImpl(mq, subExpression, offset, maxNums, false);
  }

  /** pull(), but the broker holds the request (up to 15 s) until a message arrives. */
  pullBlockIfNotFound(mq: MessageQueue, subExpression: string, offset: number, maxNums: number): Promise<PullResult> {
    return this.pullImpl(mq, subExpression, offset, maxNums, true);
  }

  private async pullImpl(mq: MessageQueue, subExpression: string, offset: number, maxNums: number, block: boolean): Promise<PullResult> {
    const instance = this.started();
    if (!Number.isSafeInteger(offset) || offset < 0) throw new MQClientError(`offset must be an integer ≥ 0: ${offset}`);
    if (!Number.isInteger(maxNums) || maxNums < 1) throw new MQClientError(`maxNums must be an integer ≥ 1: ${maxNums}`);
    await instance.route(mq.topic); // knows the broker's address
    const subscription = buildSubscription(mq.topic, subExpression, 0);
    const response = await instance.pull(
      {
        consumerGroup: this.options.consumerGroup,
        mq,
        queueOffset: offset,
        maxMsgNums: maxNums,
        sysFlag: PullSysFlag.SUBSCRIPTION | (block ? PullSysFlag.SUSPEND : 0),
        commitOffset: 0,
        suspendTimeoutMillis: block ? blockingPullSuspendMs : 0,
        subscription: subscription.subString,
        subVersion: 0,
      },
      block ? blockingPullTimeoutMs : nonBlockingPullTimeoutMs,
    );
    let status: PullStatus;
    switch (response.code) {
      case ResponseCode.SUCCESS: status = "FOUND"; break;
      case ResponseCode.PULL_NOT_FOUND: status = "NO_NEW_MSG"; break;
      case ResponseCode.PULL_RETRY_IMMEDIATELY: status = "NO_MATCHED_MSG"; break;
      default: status = "OFFSET_ILLEGAL"; break; // PULL_OFFSET_MOVED; anything else threw
    }
    return {
      status,
      nextBeginOffset: response.nextBeginOffset,
      minOffset: response.minOffset,
      maxOffset: response.maxOffset,
      messages: response.messages.filter((message) => tagsMatch(subscription, message.tags)),
    };
  }

  /** Records `offset` (the next message to read) for `mq`; commit() sends it. */
  updateConsumeOffset(mq: MessageQueue, offset: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new MQClientError(`offset must be an integer ≥ 0: ${offset}`);
    const key = messageQueueKey(mq);
    this.recorded.set(key, offset);
    this.dirty.set(key, { mq, offset });
  }

  /** Sends every offset recorded since the last commit (UPDATE_CONSUMER_OFFSET, oneway). */
  commit(): void {
    const instance = this.instance;
    if (!instance) return;
    for (const { mq, offset } of this.dirty.values()) instance.updateConsumerOffset(this.options.consumerGroup, mq, offset);
    this.dirty.clear();
  }

  /** The group's offset for `mq`: from the broker (default), or the one recorded here. -1: none. */
  async fetchConsumeOffset(mq: MessageQueue, fromStore = true): Promise<number> {
    const instance = this.started();
    if (!fromStore) {
      const recorded = this.recorded.get(messageQueueKey(mq));
      if (recorded !== undefined) return recorded;
    }
    await instance.route(mq.topic);
    return (await instance.queryConsumerOffset(this.options.consumerGroup, mq)) ?? -1;
  }

  async minOffset(mq: MessageQueue): Promise<number> {
    const instance = this.started();
    await instance.route(mq.topic);
    return instance.minOffset(mq);
  }

  /** The next offset the queue will write (one past the last message). */
  async maxOffset(mq: MessageQueue): Promise<number> {
    const instance = this.started();
    await instance.route(mq.topic);
    return instance.maxOffset(mq);
  }

  /** The offset of the first message stored at or after `timestampMs`. */
  async searchOffset(mq: MessageQueue, timestampMs: number): Promise<number> {
    const instance = this.started();
    await instance.route(mq.topic);
    return instance.searchOffset(mq, timestampMs);
  }

  private started(): ClientInstance {
    if (!this.instance) throw new MQClientError("consumer is not started");
    return this.instance;
  }

  private async heartbeat(): Promise<void> {
    await this.instance?.heartbeatAll({
      clientID: this.clientId,
      consumerDataSet: [
        {
          groupName: this.options.consumerGroup,
          consumeType: "CONSUME_ACTIVELY",
          messageModel: "CLUSTERING",
          consumeFromWhere: "CONSUME_FROM_LAST_OFFSET",
          unitMode: false,
          subscriptionDataSet: [],
        },
      ],
      producerDataSet: [],
    });
  }
}
