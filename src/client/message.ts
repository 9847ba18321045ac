// What the SDK's users hand in and get back: messages to send, message queues, send results and
// received messages; plus the client-side message id (UNIQ_KEY) the Java client generates.
import { networkInterfaces } from "node:os";
import { decodeProperties, Property } from "../protocol/message_properties.ts";
import { decodeRecords, offsetMessageId, type MessageExt } from "../protocol/message_record.ts";
import { decompressBody } from "./compression.ts";

/** A message to send. */
export interface Message {
  topic: string;
  /** A string is sent as its UTF-8 bytes. */
  body: Uint8Array | string;
  /** One tag (property TAGS); consumers filter on it. */
  tags?: string;
  /** Business keys (property KEYS, space-separated); the broker indexes each. */
  keys?: string | string[];
  /** User properties; names used by RocketMQ itself (MessageConst) are set by the SDK. */
  properties?: Record<string, string>;
  /** A user int stored with the message (record field FLAG). */
  flag?: number;
  /** 1..18: deliver after "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h". */
  delayTimeLevel?: number;
  /** Deliver after this many milliseconds (any value up to 3 days; property TIMER_DELAY_MS). */
  delayTimeMs?: number;
  /** Deliver at this time, ms since the epoch (property TIMER_DELIVER_MS). */
  deliverTimeMs?: number;
}

/** One queue of a topic on one broker. */
export interface MessageQueue {
  topic: string;
  brokerName: string;
  queueId: number;
}

export type SendStatus = "SEND_OK" | "FLUSH_DISK_TIMEOUT" | "FLUSH_SLAVE_TIMEOUT" | "SLAVE_NOT_AVAILABLE";

export interface SendResult {
  sendStatus: SendStatus;
  /** The client message id (UNIQ_KEY); for a batch, the ids of its messages joined by ','. */
  msgId: string;
  /** The broker's offset message id (store host + commit-log offset); ','-joined for a batch. */
  offsetMsgId: string;
  messageQueue: MessageQueue;
  /** Logical offset in the queue; for a batch, that of its first message. */
  queueOffset: number;
}

/** A message as consumers get it: the stored record plus its decoded parts. */
export interface ReceivedMessage extends MessageExt {
  /** UNIQ_KEY when the producer set one (Java and this SDK do), else the offset message id. */
  msgId: string;
  offsetMsgId: string;
  /** The broker the message was pulled from. */
  brokerName: string;
  tags: string | undefined;
  keys: string[];
  /** Every property, system ones included. */
  propertyMap: Record<string, string>;
}

export function messageQueueKey(mq: MessageQueue): string {
  return `${mq.topic}@${mq.brokerName}@${mq.queueId}`;
}

/** Java's MessageQueue.compareTo: topic, then broker name, then queue id. */
export function compareMessageQueues(a: MessageQueue, b: MessageQueue): number {
  if (a.topic !== b.topic) return a.topic < b.topic ? -1 : 1;
  if (a.brokerName !== b.brokerName) return a.brokerName < b.brokerName ? -1 : 1;
  return a.queueId - b.queueId;
}

const encoder = new TextEncoder();
export function bodyBytes(body: Uint8Array | string): Uint8Array {
  return typeof body === "string" ? encoder.encode(body) : body;
}

/** Decodes a PULL_MESSAGE body: records back to back, bodies decompressed. */
export function decodePulledMessages(body: Uint8Array, brokerName: string): ReceivedMessage[] {
  return decodeRecords(body).map((record) => {
    const properties = decodeProperties(record.properties);
    const offsetMsgId = offsetMessageId(record.storeHostBytes, record.commitLogOffset);
    const keys = properties.get(Property.KEYS);
    return {
      ...record,
      body: decompressBody(record.body, record.sysFlag),
      msgId: properties.get(Property.UNIQ_KEY) ?? offsetMsgId,
      offsetMsgId,
      brokerName,
      tags: properties.get(Property.TAGS),
      keys: keys === undefined ? [] : keys.split(" ").filter((key) => key.length > 0),
      propertyMap: Object.fromEntries(properties),
    };
  });
}

// -------------------------------------------------------------------------------------------
// Client message ids (UNIQ_KEY), as Java's MessageClientIDSetter makes them, 16 bytes as 32
// uppercase hex chars (IPv4):
//   at  bytes  field
//    0      4  client IPv4 address
//    4      2  process id (low 16 bits)
//    6      4  a random int per process (Java: the class loader's hash code)
//   10      4  milliseconds since the start of the current month (local time)
//   14      2  a per-process counter

/** The first non-internal IPv4 address of this host, else 127.0.0.1: clientId and UNIQ_KEY use it. */
export function localIpv4(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === "IPv4" && !address.internal) return address.address;
  }
  return "127.0.0.1";
}

const uniqIdPrefix = ((): string => {
  const bytes = new Uint8Array(10);
  const view = new DataView(bytes.buffer);
  localIpv4().split(".").forEach((part, i) => (bytes[i] = Number(part)));
  view.setUint16(4, process.pid & 0xffff);
  view.setInt32(6, crypto.getRandomValues(new Int32Array(1))[0]!);
  return Buffer.from(bytes).toString("hex").toUpperCase();
})();
let uniqIdCounter = 0;
let monthStartMs = 0;
let nextMonthStartMs = 0;

export function createUniqId(nowMs: number): string {
  if (nowMs >= nextMonthStartMs) {
    const now = new Date(nowMs);
    monthStartMs = new Date(now.getFullYear(), now.getMonth(), 1).getTime();
    nextMonthStartMs = new Date(now.getFullYear(), now.getMonth() + 1, 1).getTime();
  }
  const tail = new DataView(new ArrayBuffer(6));
  tail.setInt32(0, (nowMs - monthStartMs) | 0);
  tail.setUint16(4, uniqIdCounter);
  uniqIdCounter = (uniqIdCounter + 1) & 0xffff;
  return uniqIdPrefix + Buffer.from(tail.buffer).toString("hex").toUpperCase();
}
