/**
 * Producer (src/client/producer.ts): sends messages to the brokers that serve a topic, as
 * RocketMQ's DefaultMQProducer does.
 *
 * Guarantees:
 * - send() resolves once a broker stored the message (sendStatus SEND_OK, or FLUSH_DISK_TIMEOUT /
 *   FLUSH_SLAVE_TIMEOUT / SLAVE_NOT_AVAILABLE: stored on the master, durability not confirmed).
 *   On a transport failure or a retryable broker code (TOPIC_NOT_EXIST, SERVICE_NOT_AVAILABLE,
 *   SYSTEM_ERROR, NO_PERMISSION, …) it retries up to retryTimesWhenSendFailed more times,
 *   preferring a queue on another broker, all within sendMsgTimeoutMs (a transport failure also
 *   refetches the topic's route, so a master the name server dropped stops being chosen); then it rejects with
 *   MQClientError (cause: the last failure). Other broker codes reject at once (MQBrokerError).
 * - Every message gets a client id (property UNIQ_KEY, 32 hex chars) kept across retries; it is
 *   SendResult.msgId and what consumers see as msgId.
 * - Queues: round-robin over the writable queues of the topic's route (GET_ROUTEINFO_BY_TOPIC,
 *   cached, refreshed every 30 s). An unknown topic is sent via the TBW102 route so that a broker
 *   with autoCreateTopicEnable creates it. `{ queueId }` or `{ selector }` pins the queue (ordered
 *   sends): one attempt, no retry elsewhere.
 * - Bodies of at least compressMsgBodyOverHowmuch bytes are compressed (zlib unless `compression`
 *   says otherwise, see compression.ts); batches are never compressed.
 * - sendOneway() writes the request and resolves; nothing confirms it was stored.
 * - A heartbeat (producerDataSet) goes to every broker the producer knows every 30 s and as soon
 *   as it learns of a new one; shutdown() unregisters from them and closes every connection.
 * Requires: start() before sending; shutdown() once at the end.
 */
import type { Credentials } from "../security/sign.ts";
import type { TlsClientOption } from "../net/tls.ts";
import { realIo, type Io } from "../io/io.ts";
import { logScoped } from "../log.ts";
import type { Connection } from "../net/connection.ts";
import { newRequest, newResponse, type RemotingCommand } from "../net/remoting_command.ts";
import { RequestCode } from "../net/request_code.ts";
import { ResponseCode } from "../net/response_code.ts";
import { encodeProperties, nameValueSeparator, Property, propertySeparator } from "../protocol/message_properties.ts";
import { SysFlag } from "../protocol/message_record.ts";
import { defaultTopic, notAllowedSendTopics, retryTopicPrefix, topicNameProblem } from "../protocol/topic.ts";
import { ClientInstance, heartbeatIntervalMs, publishQueues, routeRefreshIntervalMs, type TopicRoute } from "./client_instance.ts";
import { compressBody, compressBodyBytesMinDefault, compressionSysFlag, type Compression } from "./compression.ts";
import { MQBrokerError, MQClientError } from "./errors.ts";
import { bodyBytes, createUniqId, localIpv4, type Message, type MessageQueue, type SendResult, type SendStatus } from "./message.ts";

const log = logScoped("client");

/** Java's defaultTopicQueueNums: queues of a topic auto-created on first send. */
const defaultTopicQueueNums = 4;
/** Java's maxMessageSize. */
const messageBodyBytesMaxDefault = 4 * 1024 * 1024;
/** Broker codes after which Java's sendDefaultImpl tries again (4.9.7 retryResponseCodes). */
const retryableCodes: ReadonlySet<number> = new Set([
  ResponseCode.TOPIC_NOT_EXIST, ResponseCode.SERVICE_NOT_AVAILABLE, ResponseCode.SYSTEM_ERROR, ResponseCode.NO_PERMISSION,
  204, // NO_BUYER_ID
  205, // NOT_IN_CURRENT_UNIT
]);

export interface ProducerOptions {
  /** "host:port", or several separated by ';'. */
  namesrvAddr: string;
  producerGroup: string;
  /** Part of the client id `<ip>@<instanceName>`; default: pid and a per-process counter. */
  instanceName?: string;
  sendMsgTimeoutMs?: number;
  retryTimesWhenSendFailed?: number;
  compressMsgBodyOverHowmuch?: number;
  compression?: Compression;
  maxMessageBytes?: number;
  /** Sign every request for a broker with ACL on (RocketMQ's AclClientRPCHook + SessionCredentials). */
  credentials?: Credentials;
  /** Connect with TLS (to name servers and brokers alike, as the Java client's useTLS): `true` does not check the server's certificate. */
  tls?: TlsClientOption;
  io?: Io;
}

export interface SendOptions {
  /** Send to this queue (of `brokerName`, or of the first broker serving the topic). */
  queueId?: number;
  brokerName?: string;
  /** Pick the queue, e.g. by a hash of an order id so that one order's messages stay in order. */
  selector?: (queues: readonly MessageQueue[], message: Message) => MessageQueue;
}

export type SendCallback = (error: Error | null, result: SendResult | null) => void;

/** A message encoded for the wire, kept across retries. */
interface Encoded {
  topic: string;
  body: Uint8Array;
  sysFlag: number;
  flag: number;
  properties: string;
  /** UNIQ_KEY, or the ','-joined ids of a batch. */
  msgId: string;
  batch: boolean;
}

let instanceCounter = 0;
export function defaultInstanceName(): string {
  instanceCounter++;
  return `${process.pid}#${instanceCounter}`;
}

export class Producer {
  readonly clientId: string;
  private readonly options: Required<Omit<ProducerOptions, "instanceName" | "credentials">>;
  private readonly credentials: Credentials | undefined;
  private instance: ClientInstance | null = null;
  private timers: Array<ReturnType<typeof setInterval>> = [];
  /** Per topic: the route the queues came from, its writable queues, the round-robin position. */
  private readonly publish = new Map<string, { route: TopicRoute; queues: MessageQueue[]; next: number }>();
  /** ClientInstance.mastersVersion at the last heartbeat. */
  private heartbeatedVersion = 0;

  constructor(options: ProducerOptions) {
    this.options = {
      namesrvAddr: options.namesrvAddr,
      producerGroup: options.producerGroup,
      sendMsgTimeoutMs: options.sendMsgTimeoutMs ?? 3000,
      retryTimesWhenSendFailed: options.retryTimesWhenSendFailed ?? 2,
      compressMsgBodyOverHowmuch: options.compressMsgBodyOverHowmuch ?? compressBodyBytesMinDefault,
      compression: options.compression ?? "zlib",
      maxMessageBytes: options.maxMessageBytes ?? messageBodyBytesMaxDefault,
      io: options.io ?? realIo,
      tls: options.tls ?? false,
    };
    if (this.options.producerGroup.length === 0) throw new MQClientError("producerGroup is required");
    if (this.options.sendMsgTimeoutMs <= 0) throw new MQClientError("sendMsgTimeoutMs must be positive");
    if (this.options.retryTimesWhenSendFailed < 0) throw new MQClientError("retryTimesWhenSendFailed must be ≥ 0");
    this.clientId = `${localIpv4()}@${options.instanceName ?? defaultInstanceName()}`;
    this.credentials = options.credentials;
  }

  async start(): Promise<void> {
    if (this.instance) throw new MQClientError("producer already started");
    this.instance = new ClientInstance(this.options.namesrvAddr, this.options.io.random, (connection, request) => this.onRequest(connection, request), this.credentials, this.options.tls);
    this.timers.push(setInterval(() => void this.heartbeat(), heartbeatIntervalMs));
    this.timers.push(setInterval(() => void this.instance?.refreshRoutes(), routeRefreshIntervalMs));
  }

  async shutdown(): Promise<void> {
    const instance = this.instance;
    if (!instance) return;
    this.instance = null;
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await instance.unregisterAll(this.clientId, { producerGroup: this.options.producerGroup });
    instance.close();
  }

  /** Sends and waits for the broker's answer. */
  async send(message: Message, options: SendOptions = {}): Promise<SendResult> {
    const instance = this.started();
    const encoded = this.encode(message);
    if (options.queueId !== undefined || options.selector !== undefined) {
      const mq = this.pinnedQueue(await this.publishInfo(instance, encoded.topic), message, options);
      return this.sendToQueue(instance, encoded, mq, this.options.sendMsgTimeoutMs);
    }
    return this.sendWithRetries(instance, encoded);
  }

  /** send() for callers that prefer a callback; the promise resolves or rejects as well. */
  sendAsync(message: Message, callback?: SendCallback, options: SendOptions = {}): Promise<SendResult> {
    const sending = this.send(message, options);
    if (callback) {
      sending.then(
        (result) => invokeCallback(callback, null, result),
        (error: unknown) => invokeCallback(callback, error instanceof Error ? error : new MQClientError(String(error)), null),
      );
    }
    return sending;
  }

  /** Writes the message to one queue and resolves; no answer, no retry. */
  async sendOneway(message: Message, options: SendOptions = {}): Promise<void> {
    const instance = this.started();
    const encoded = this.encode(message);
    const info = await this.publishInfo(instance, encoded.topic);
    const mq = options.queueId !== undefined || options.selector !== undefined ? this.pinnedQueue(info, message, options) : this.selectQueue(info, null);
    const addr = instance.masterAddr(mq.brokerName);
    try {
      await instance.remoting.invokeOneway(addr, this.sendRequest(encoded, mq));
    } catch (error) {
      throw new MQClientError(`oneway send to ${addr} failed`, { cause: error });
    }
  }

  /**
   * SEND_BATCH_MESSAGE (320): all messages go to one queue, with consecutive offsets. They must
   * share one topic and may not be delayed; bodies are not compressed.
   */
  async sendBatch(messages: readonly Message[], options: SendOptions = {}): Promise<SendResult> {
    const instance = this.started();
    const encoded = this.encodeBatch(messages);
    if (options.queueId !== undefined || options.selector !== undefined) {
      const mq = this.pinnedQueue(await this.publishInfo(instance, encoded.topic), messages[0]!, options);
      return this.sendToQueue(instance, encoded, mq, this.options.sendMsgTimeoutMs);
    }
    return this.sendWithRetries(instance, encoded);
  }

  // ------------------------------------------------------------------------------ sending

  /** Requests a broker sends this producer; TransactionProducer answers CHECK_TRANSACTION_STATE. */
  protected onRequest(_connection: Connection, request: RemotingCommand): RemotingCommand | null {
    return newResponse(request, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, ` request type ${request.code} not supported`);
  }

  protected started(): ClientInstance {
    if (!this.instance) throw new MQClientError("producer is not started");
    return this.instance;
  }

  private async sendWithRetries(instance: ClientInstance, encoded: Encoded): Promise<SendResult> {
    const clock = this.options.io.clock;
    const deadlineMs = clock.monotonicMs() + this.options.sendMsgTimeoutMs;
    const attempts = 1 + this.options.retryTimesWhenSendFailed;
    let lastBroker: string | null = null;
    let lastError: unknown = null;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const remainingMs = deadlineMs - clock.monotonicMs();
      if (remainingMs <= 0) break;
      let mq: MessageQueue | null = null;
      try {
        mq = this.selectQueue(await this.publishInfo(instance, encoded.topic), lastBroker);
        return await this.sendToQueue(instance, encoded, mq, remainingMs);
      } catch (error) {
        lastError = error;
        if (mq) lastBroker = mq.brokerName;
        if (error instanceof MQBrokerError && !retryableCodes.has(error.code)) throw error;
        // A broker that cannot be reached may be gone: the name server's route will say (it drops a
        // master whose connection closed), so the next sends skip it.
        if (!(error instanceof MQBrokerError)) instance.refetchRouteSoon(encoded.topic);
        log.debug("send.retry", { topic: encoded.topic, attempt, error: String(error) });
      }
    }
    const why = lastError instanceof Error ? lastError.message : "timed out";
    throw new MQClientError(`send to ${encoded.topic} failed after ${attempts} attempts within ${this.options.sendMsgTimeoutMs} ms: ${why}`, { cause: lastError });
  }

  private async sendToQueue(instance: ClientInstance, encoded: Encoded, mq: MessageQueue, timeoutMs: number): Promise<SendResult> {
    const addr = instance.masterAddr(mq.brokerName);
    const response = await instance.invoke(addr, this.sendRequest(encoded, mq), timeoutMs);
    this.heartbeatNewBrokers(instance);
    let sendStatus: SendStatus;
    switch (response.code) {
      case ResponseCode.SUCCESS: sendStatus = "SEND_OK"; break;
      case ResponseCode.FLUSH_DISK_TIMEOUT: sendStatus = "FLUSH_DISK_TIMEOUT"; break;
      case ResponseCode.FLUSH_SLAVE_TIMEOUT: sendStatus = "FLUSH_SLAVE_TIMEOUT"; break;
      case ResponseCode.SLAVE_NOT_AVAILABLE: sendStatus = "SLAVE_NOT_AVAILABLE"; break;
      default: throw new MQBrokerError(response.code, response.remark ?? "", addr);
    }
    const ext = response.extFields;
    return {
      sendStatus,
      msgId: encoded.msgId,
      offsetMsgId: ext["msgId"] ?? "",
      messageQueue: { topic: mq.topic, brokerName: mq.brokerName, queueId: Number(ext["queueId"] ?? mq.queueId) },
      queueOffset: Number(ext["queueOffset"] ?? -1),
    };
  }

  /** SEND_MESSAGE_V2 (310) or SEND_BATCH_MESSAGE (320), header fields a..m as strings. */
  private sendRequest(encoded: Encoded, mq: MessageQueue): RemotingCommand {
    const header = {
      a: this.options.producerGroup,
      b: encoded.topic,
      c: defaultTopic,
      d: String(defaultTopicQueueNums),
      e: String(mq.queueId),
      f: String(encoded.sysFlag),
      g: String(this.options.io.clock.realtimeMs()),
      h: String(encoded.flag),
      i: encoded.properties,
      j: "0",
      k: "false",
      m: String(encoded.batch),
    };
    return newRequest(encoded.batch ? RequestCode.SEND_BATCH_MESSAGE : RequestCode.SEND_MESSAGE_V2, header, encoded.body);
  }

  // ------------------------------------------------------------------------------ queues

  /** The topic's writable queues; an unknown topic borrows TBW102's brokers (Java's fallback). */
  private async publishInfo(instance: ClientInstance, topic: string): Promise<{ queues: MessageQueue[]; next: number }> {
    let route: TopicRoute;
    try {
      route = await instance.route(topic);
    } catch (error) {
      if (!(error instanceof MQBrokerError) || error.code !== ResponseCode.TOPIC_NOT_EXIST) throw error;
      const template = await instance.route(defaultTopic);
      route = {
        brokerDatas: template.brokerDatas,
        queueDatas: template.queueDatas.map((data) => ({
          ...data,
          readQueueNums: Math.min(defaultTopicQueueNums, data.readQueueNums),
          writeQueueNums: Math.min(defaultTopicQueueNums, data.writeQueueNums),
        })),
      };
    }
    const cached = this.publish.get(topic);
    if (cached?.route === route) return cached;
    const queues = publishQueues(topic, route);
    if (queues.length === 0) throw new MQClientError(`no writable queue for topic ${topic}`);
    const info = { route, queues, next: cached?.next ?? this.options.io.random.below(queues.length) };
    this.publish.set(topic, info);
    return info;
  }

  /** Round-robin; after a failure, the next queue on another broker when there is one. */
  private selectQueue(info: { queues: MessageQueue[]; next: number }, avoidBroker: string | null): MessageQueue {
    const count = info.queues.length;
    if (avoidBroker !== null) {
      for (let tried = 0; tried < count; tried++) {
        const mq = info.queues[info.next++ % count]!;
        if (mq.brokerName !== avoidBroker) return mq;
      }
    }
    return info.queues[info.next++ % count]!;
  }

  private pinnedQueue(info: { queues: MessageQueue[] }, message: Message, options: SendOptions): MessageQueue {
    if (options.selector) {
      const mq = options.selector(info.queues, message);
      if (!info.queues.some((queue) => queue.brokerName === mq.brokerName && queue.queueId === mq.queueId)) {
        throw new MQClientError(`selector chose ${mq.brokerName}:${mq.queueId}, not a writable queue of ${message.topic}`);
      }
      return mq;
    }
    const brokerName = options.brokerName ?? info.queues[0]!.brokerName;
    const mq = info.queues.find((queue) => queue.brokerName === brokerName && queue.queueId === options.queueId);
    if (!mq) throw new MQClientError(`queue ${brokerName}:${options.queueId} is not a writable queue of ${message.topic}`);
    return mq;
  }

  private heartbeatNewBrokers(instance: ClientInstance): void {
    if (instance.mastersVersion === this.heartbeatedVersion) return;
    this.heartbeatedVersion = instance.mastersVersion;
    void this.heartbeat();
  }

  private async heartbeat(): Promise<void> {
    await this.instance?.heartbeatAll({
      clientID: this.clientId,
      consumerDataSet: [],
      producerDataSet: [{ groupName: this.options.producerGroup }],
    });
  }

  // ------------------------------------------------------------------------------ encoding

  private checkMessage(message: Message, body: Uint8Array): void {
    const problem = topicNameProblem(message.topic);
    if (problem) throw new MQClientError(problem);
    if (notAllowedSendTopics.has(message.topic)) throw new MQClientError(`Sending message to topic[${message.topic}] is forbidden.`);
    if (body.length === 0) throw new MQClientError("the message body length is zero");
    if (body.length > this.options.maxMessageBytes) {
      throw new MQClientError(`the message body size over max value, MAX: ${this.options.maxMessageBytes}`);
    }
    const delay = message.delayTimeLevel ?? 0;
    if (!Number.isInteger(delay) || delay < 0) throw new MQClientError(`delayTimeLevel must be an integer ≥ 0: ${delay}`);
    for (const [name, value] of [["delayTimeMs", message.delayTimeMs], ["deliverTimeMs", message.deliverTimeMs]] as const) {
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) throw new MQClientError(`${name} must be an integer ≥ 0: ${value}`);
    }
  }

  /** The properties string and the message's UNIQ_KEY. */
  private properties(message: Message): { text: string; uniqId: string } {
    const properties: Record<string, string> = { [Property.WAIT]: "true", ...message.properties };
    if (message.tags !== undefined && message.tags.length > 0) properties[Property.TAGS] = message.tags;
    const keys = typeof message.keys === "string" ? [message.keys] : (message.keys ?? []);
    if (keys.length > 0) properties[Property.KEYS] = keys.join(" ");
    if ((message.delayTimeLevel ?? 0) > 0) properties[Property.DELAY] = String(message.delayTimeLevel);
    if (message.delayTimeMs !== undefined) properties["TIMER_DELAY_MS"] = String(message.delayTimeMs);
    if (message.deliverTimeMs !== undefined) properties["TIMER_DELIVER_MS"] = String(message.deliverTimeMs);
    const uniqId = (properties[Property.UNIQ_KEY] ??= createUniqId(this.options.io.clock.realtimeMs()));
    for (const [name, value] of Object.entries(properties)) {
      if (/[\u0001\u0002]/.test(name + value)) {
        throw new MQClientError(`property ${JSON.stringify(name)} contains a reserved separator (${JSON.stringify(nameValueSeparator + propertySeparator)})`);
      }
    }
    return { text: encodeProperties(properties), uniqId };
  }

  private encode(message: Message): Encoded {
    let body = bodyBytes(message.body);
    this.checkMessage(message, body);
    let sysFlag = message.properties?.[Property.TRAN_MSG] === "true" ? SysFlag.TRANSACTION_PREPARED : 0;
    if (body.length >= this.options.compressMsgBodyOverHowmuch) {
      body = compressBody(body, this.options.compression);
      sysFlag |= compressionSysFlag(this.options.compression);
    }
    const { text, uniqId } = this.properties(message);
    return { topic: message.topic, body, sysFlag, flag: message.flag ?? 0, properties: text, msgId: uniqId, batch: false };
  }

  // Batch body (§3.7 of the protocol reference), one record per message:
  //   4 totalSize | 4 magic (0) | 4 bodyCrc (0) | 4 flag | 4 bodyLength B | B body | 2 propertiesLength P | P properties
  private encodeBatch(messages: readonly Message[]): Encoded {
    const first = messages[0];
    if (!first) throw new MQClientError("a batch needs at least one message");
    const encoder = new TextEncoder();
    const records: Uint8Array[] = [];
    const ids: string[] = [];
    let total = 0;
    for (const message of messages) {
      if (message.topic !== first.topic) throw new MQClientError("the topic of the messages in one batch should be the same");
      if (message.topic.startsWith(retryTopicPrefix)) throw new MQClientError("retry group message is not supported for batching");
      if ((message.delayTimeLevel ?? 0) > 0) throw new MQClientError("TimeDelayLevel is not supported for batching");
      const body = bodyBytes(message.body);
      this.checkMessage(message, body);
      const { text, uniqId } = this.properties(message);
      const properties = encoder.encode(text);
      const record = new Uint8Array(20 + body.length + 2 + properties.length);
      const view = new DataView(record.buffer);
      view.setInt32(0, record.length);
      view.setInt32(12, message.flag ?? 0);
      view.setInt32(16, body.length);
      record.set(body, 20);
      view.setInt16(20 + body.length, properties.length);
      record.set(properties, 22 + body.length);
      records.push(record);
      ids.push(uniqId);
      total += record.length;
    }
    if (total > this.options.maxMessageBytes) throw new MQClientError(`the batch size over max value, MAX: ${this.options.maxMessageBytes}`);
    const body = new Uint8Array(total);
    let at = 0;
    for (const record of records) {
      body.set(record, at);
      at += record.length;
    }
    const properties = encodeProperties({ [Property.WAIT]: "true" });
    return { topic: first.topic, body, sysFlag: 0, flag: 0, properties, msgId: ids.join(","), batch: true };
  }
}

function invokeCallback(callback: SendCallback, error: Error | null, result: SendResult | null): void {
  try {
    callback(error, result);
  } catch (thrown) {
    log.error("send.callback_threw", { error: thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown) });
  }
}
