/**
 * MQAdmin (src/client/admin.ts): the lookups of Java's MQAdminImpl that every producer and
 * consumer also offers: messages by key (QUERY_MESSAGE, 12), a message by its offset id
 * (VIEW_MESSAGE_BY_ID, 33), a queue offset by store time (SEARCH_OFFSET_BY_TIMESTAMP, 29).
 *
 *   const admin = new MQAdmin({ namesrvAddr: "127.0.0.1:9876" });
 *   await admin.start();
 *   const found = await admin.queryMessage("Orders", "order-42", 32, 0, Date.now());
 *   await admin.shutdown();
 *
 * Guarantees: queryMessage() asks the master of every broker serving the topic and returns the
 * matching messages (an empty array when none: Java throws instead), each checked to carry the
 * key; viewMessage() goes to the broker address inside the id.
 * Requires: start() before anything else; shutdown() once at the end. Or pass an existing
 * ClientInstance (a producer's or consumer's) to share its connections and routes.
 */
import type { Credentials } from "../security/sign.ts";
import type { TlsClientOption } from "../net/tls.ts";
import { realIo } from "../io/io.ts";
import { newRequest } from "../net/remoting_command.ts";
import { RequestCode } from "../net/request_code.ts";
import { ResponseCode } from "../net/response_code.ts";
import { encodeProperties, Property } from "../protocol/message_properties.ts";
import { parseOffsetMessageId } from "../protocol/message_record.ts";
import { dlqTopicPrefix, retryTopicPrefix } from "../protocol/topic.ts";
import { ClientInstance, publishQueues, requestTimeoutMs, subscribeQueues } from "./client_instance.ts";
import { MQBrokerError, MQClientError } from "./errors.ts";
import { decodePulledMessages, type MessageQueue, type ReceivedMessage } from "./message.ts";

export interface MQAdminOptions {
  namesrvAddr: string;
  /** Sign every request for a broker with ACL on (RocketMQ's AclClientRPCHook + SessionCredentials). */
  credentials?: Credentials;
  /** Connect with TLS (to name servers and brokers alike, as the Java client's useTLS): `true` does not check the server's certificate. */
  tls?: TlsClientOption;
}

export class MQAdmin {
  private instance: ClientInstance | null;
  private readonly owned: boolean;

  constructor(options: MQAdminOptions | { instance: ClientInstance }) {
    if ("instance" in options) {
      this.instance = options.instance;
      this.owned = false;
    } else {
      this.instance = new ClientInstance(options.namesrvAddr, realIo.random, undefined, options.credentials, options.tls);
      this.owned = true;
    }
  }

  async start(): Promise<void> {}

  async shutdown(): Promise<void> {
    if (this.owned) this.instance?.close();
    this.instance = null;
  }

  private started(): ClientInstance {
    if (!this.instance) throw new MQClientError("MQAdmin is shut down");
    return this.instance;
  }

  /**
   * Messages of `topic` with `key` among their KEYS, stored within [beginMs, endMs], at most
   * maxNum per broker (brokers cap it at 64).
   */
  queryMessage(topic: string, key: string, maxNum: number, beginMs: number, endMs: number): Promise<ReceivedMessage[]> {
    return this.query(topic, key, maxNum, beginMs, endMs, false);
  }

  /** The message(s) whose UNIQ_KEY (the Java/SDK client message id) is `uniqKey`. */
  queryMessageByUniqKey(topic: string, uniqKey: string, beginMs = 0, endMs = Number.MAX_SAFE_INTEGER): Promise<ReceivedMessage[]> {
    return this.query(topic, uniqKey, 32, beginMs, endMs, true);
  }

  private async query(topic: string, key: string, maxNum: number, beginMs: number, endMs: number, unique: boolean): Promise<ReceivedMessage[]> {
    const instance = this.started();
    const route = await instance.fetchRoute(topic);
    const found: ReceivedMessage[] = [];
    await Promise.all(
      route.brokerDatas.map(async (brokerData) => {
        const address = brokerData.brokerAddrs["0"] ?? Object.values(brokerData.brokerAddrs)[0];
        if (address === undefined) return;
        const fields: Record<string, string> = {
          topic, key, maxNum: String(maxNum), beginTimestamp: String(beginMs), endTimestamp: String(endMs),
        };
        if (unique) fields["_UNIQUE_KEY_QUERY"] = "true";
        const response = await instance.invoke(address, newRequest(RequestCode.QUERY_MESSAGE, fields), requestTimeoutMs);
        if (response.code === ResponseCode.QUERY_NOT_FOUND) return;
        if (response.code !== ResponseCode.SUCCESS) throw new MQBrokerError(response.code, response.remark ?? "", address);
        for (const message of decodePulledMessages(response.body ?? new Uint8Array(0), brokerData.brokerName)) {
          if (message.topic !== topic) continue;
          if (unique ? message.propertyMap["UNIQ_KEY"] === key : message.keys.includes(key)) found.push(message);
        }
      }),
    );
    return found;
  }

  /** The message with offset message id `offsetMsgId` (what the broker answered a send with). */
  async viewMessage(offsetMsgId: string): Promise<ReceivedMessage> {
    const instance = this.started();
    const { address, commitLogOffset } = parseOffsetMessageId(offsetMsgId);
    const response = await instance.invoke(address, newRequest(RequestCode.VIEW_MESSAGE_BY_ID, { offset: String(commitLogOffset) }), requestTimeoutMs);
    if (response.code !== ResponseCode.SUCCESS || !response.body) throw new MQBrokerError(response.code, response.remark ?? "", address);
    const [message] = decodePulledMessages(response.body, "");
    if (!message) throw new MQClientError(`no message in the answer for ${offsetMsgId}`);
    return message;
  }

  /**
   * Messages in `%DLQ%<group>`, oldest first, at most `max`: what the group gave up on after
   * maxReconsumeTimes. Each keeps its history: RETRY_TOPIC (the original topic),
   * ORIGIN_MESSAGE_ID, reconsumeTimes.
   */
  async deadLetters(group: string, max = 1024): Promise<ReceivedMessage[]> {
    const instance = this.started();
    const topic = dlqTopicPrefix + group;
    let route;
    try {
      route = await instance.fetchRoute(topic);
    } catch {
      return []; // no DLQ yet: nothing ever failed for good
    }
    const found: ReceivedMessage[] = [];
    for (const mq of subscribeQueues(topic, route)) {
      let offset = await instance.minOffset(mq);
      while (found.length < max) {
        const response = await instance.pull(
          { consumerGroup: "BOLIDE_ADMIN", mq, queueOffset: offset, maxMsgNums: Math.min(32, max - found.length), sysFlag: 4, commitOffset: 0, suspendTimeoutMillis: 0, subscription: "*", subVersion: 0 },
          requestTimeoutMs,
        );
        if (response.code !== ResponseCode.SUCCESS || response.messages.length === 0) break;
        found.push(...response.messages);
        offset = response.nextBeginOffset;
      }
    }
    return found;
  }

  /**
   * Sends a copy of a dead letter back to its original topic (RETRY_TOPIC), as a new message with
   * the same body, tags, keys, user properties and message id, and reconsumeTimes 0, so that the
   * group consumes it again. Returns the new offset message id.
   */
  async resendDeadLetter(message: ReceivedMessage): Promise<string> {
    const instance = this.started();
    const topic = message.propertyMap[Property.RETRY_TOPIC] ?? message.topic;
    if (topic.startsWith(dlqTopicPrefix) || topic.startsWith(retryTopicPrefix)) throw new MQClientError(`no original topic recorded for ${message.msgId}`);
    const properties = new Map(Object.entries(message.propertyMap));
    for (const name of [Property.RETRY_TOPIC, Property.ORIGIN_MESSAGE_ID, Property.DELAY, Property.REAL_TOPIC, Property.REAL_QID, Property.MIN_OFFSET, Property.MAX_OFFSET]) {
      properties.delete(name);
    }
    const queues = publishQueues(topic, await instance.route(topic));
    const mq = queues[Math.floor(Math.random() * queues.length)];
    if (!mq) throw new MQClientError(`topic ${topic} has no writable queue`);
    const request = newRequest(RequestCode.SEND_MESSAGE_V2, {
      a: "BOLIDE_ADMIN", b: topic, c: "TBW102", d: "4", e: String(mq.queueId), f: "0", // the body was decompressed when pulled
      g: String(Date.now()), h: String(message.flag), i: encodeProperties(properties), j: "0", k: "false",
    }, message.body);
    const address = instance.masterAddr(mq.brokerName);
    const response = await instance.invoke(address, request, requestTimeoutMs);
    if (response.code !== ResponseCode.SUCCESS) throw new MQBrokerError(response.code, response.remark ?? "", address);
    return response.extFields["msgId"] ?? "";
  }

  /** The offset of the message in `mq` stored closest to `timestampMs` (SEARCH_OFFSET_BY_TIMESTAMP). */
  async searchOffset(mq: MessageQueue, timestampMs: number): Promise<number> {
    const instance = this.started();
    await instance.route(mq.topic);
    return instance.searchOffset(mq, timestampMs);
  }
}
