// SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320): validate, find or create
// the topic, build the stored message, append, map the put status to a response code.
import { logScoped } from "../../log.ts";
import type { Connection } from "../../net/connection.ts";
import { newResponse, type RemotingCommand } from "../../net/remoting_command.ts";
import { RequestCode } from "../../net/request_code.ts";
import { RemotingError, ResponseCode } from "../../net/response_code.ts";
import { decodeProperties, encodeProperties, Property, tagsCodeOf } from "../../protocol/message_properties.ts";
import { hostBytes, offsetMessageId, SysFlag, type HostBytes, type MessageToStore } from "../../protocol/message_record.ts";
import {
  notAllowedSendTopics,
  Perm,
  retryTopicPrefix,
  topicNameProblem,
  newTopicConfig,
  type TopicConfig,
} from "../../protocol/topic.ts";
import { PutStatus } from "../../store/put_status.ts";
import { lastPropertyValue, type PutResult } from "../../store/message_store.ts";
import type { Broker } from "../broker.ts";
import { isPreparedSendText } from "../transaction/half_message.ts";

const log = logScoped("broker");

export interface SendHeader {
  producerGroup: string;
  topic: string;
  defaultTopic: string;
  defaultTopicQueueNums: number;
  queueId: number;
  sysFlag: number;
  bornTimestamp: number;
  flag: number;
  properties: string;
  reconsumeTimes: number;
  /** -1: not sent (the group's default applies). */
  maxReconsumeTimes: number;
  batch: boolean;
}

/**
 * A header field: SEND_MESSAGE_V2 and SEND_BATCH_MESSAGE use SendMessageRequestHeaderV2's
 * one-letter names (a = producerGroup … n = brokerName); the V1 name is read when the letter is
 * absent. Looked up in place: no renamed copy of the header per send.
 */
function field(ext: Record<string, string>, v2: boolean, letter: string, name: string): string | undefined {
  if (v2) {
    const value = ext[letter];
    if (value !== undefined) return value;
  }
  return ext[name];
}

/** The longest digit run decimalInt reads: 15 digits are exact in a double. */
const decimalDigitsMax = 15;

/** `text` as an integer when it is an optional "-" and 1..15 decimal digits (what clients send); NaN otherwise. */
function decimalInt(text: string): number {
  const length = text.length;
  const negative = length > 0 && text.charCodeAt(0) === 0x2d;
  let at = negative ? 1 : 0;
  if (length === at || length - at > decimalDigitsMax) return Number.NaN;
  let value = 0;
  for (; at < length; at++) {
    const digit = text.charCodeAt(at) - 0x30;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

function int(text: string | undefined, name: string, fallback?: number): number {
  if (text === undefined || text === "") {
    if (fallback !== undefined) return fallback;
    throw new RemotingError(ResponseCode.SYSTEM_ERROR, `the custom field <${name}> is null`);
  }
  const decimal = decimalInt(text);
  if (!Number.isNaN(decimal)) return decimal;
  // Anything else Java's Long.parseLong might not take but Number does (" 7", "1e3", "0x10"): as before.
  const value = Number(text);
  if (!Number.isFinite(value)) throw new RemotingError(ResponseCode.SYSTEM_ERROR, `the custom field <${name}> is not a number: ${text}`);
  return Math.trunc(value);
}

export function parseSendHeader(request: RemotingCommand): SendHeader {
  const ext = request.extFields;
  const v2 = request.code !== RequestCode.SEND_MESSAGE;
  const topic = field(ext, v2, "b", "topic");
  if (topic === undefined) throw new RemotingError(ResponseCode.SYSTEM_ERROR, "the custom field <topic> is null");
  return {
    producerGroup: field(ext, v2, "a", "producerGroup") ?? "",
    topic,
    defaultTopic: field(ext, v2, "c", "defaultTopic") ?? "TBW102",
    defaultTopicQueueNums: int(field(ext, v2, "d", "defaultTopicQueueNums"), "defaultTopicQueueNums", 4),
    queueId: int(field(ext, v2, "e", "queueId"), "queueId", -1),
    sysFlag: int(field(ext, v2, "f", "sysFlag"), "sysFlag", 0),
    bornTimestamp: int(field(ext, v2, "g", "bornTimestamp"), "bornTimestamp", 0),
    flag: int(field(ext, v2, "h", "flag"), "flag", 0),
    properties: field(ext, v2, "i", "properties") ?? "",
    reconsumeTimes: int(field(ext, v2, "j", "reconsumeTimes"), "reconsumeTimes", 0),
    maxReconsumeTimes: int(field(ext, v2, "l", "maxReconsumeTimes"), "maxReconsumeTimes", -1),
    batch: field(ext, v2, "m", "batch") === "true" || request.code === RequestCode.SEND_BATCH_MESSAGE,
  };
}

/** The topic's config, auto-created as RocketMQ's createTopicInSendMessageMethod would. */
async function topicForSend(broker: Broker, header: SendHeader): Promise<TopicConfig> {
  const existing = broker.topics.get(header.topic);
  if (existing) return existing;
  if (header.topic.startsWith(retryTopicPrefix)) return broker.ensureTopic(header.topic, 1);
  const template = broker.topics.get(header.defaultTopic);
  if (broker.config.autoCreateTopicEnable && template && (template.perm & Perm.INHERIT) !== 0) {
    const queueNums = Math.max(1, Math.min(header.defaultTopicQueueNums, template.writeQueueNums));
    const config = newTopicConfig(header.topic, queueNums, template.perm & ~Perm.INHERIT);
    config.topicFilterType = template.topicFilterType;
    await broker.createTopic(config);
    return config;
  }
  throw new RemotingError(ResponseCode.TOPIC_NOT_EXIST, `topic[${header.topic}] not exist, apply first please!`);
}

/**
 * SEND_MESSAGE (V2) and SEND_BATCH_MESSAGE. A single send to a known topic that waits for no
 * flush and no slave (ASYNC_FLUSH, or a send with WAIT false; not a SYNC_MASTER) is answered
 * synchronously: no promise, no await, no closure per message (the event loop's per-send cost,
 * and garbage the collector pauses for). The other cases go through the async tail.
 */
export function processSend(broker: Broker, connection: Connection, request: RemotingCommand): RemotingCommand | Promise<RemotingCommand> {
  if (broker.repl.isSlave) return newResponse(request, ResponseCode.SERVICE_NOT_AVAILABLE, "the broker role is SLAVE: send to the master of this broker name");
  const header = parseSendHeader(request);
  const problem = topicNameProblem(header.topic);
  if (problem) return newResponse(request, ResponseCode.SYSTEM_ERROR, problem);
  if (notAllowedSendTopics.has(header.topic)) {
    return newResponse(request, ResponseCode.NO_PERMISSION, `Sending message to topic[${header.topic}] is forbidden.`);
  }
  const topicConfig = broker.topics.get(header.topic);
  if (!topicConfig) return topicForSend(broker, header).then((created) => sendToTopic(broker, connection, request, header, created));
  return sendToTopic(broker, connection, request, header, topicConfig);
}

function sendToTopic(broker: Broker, connection: Connection, request: RemotingCommand, header: SendHeader, topicConfig: TopicConfig): RemotingCommand | Promise<RemotingCommand> {
  if ((topicConfig.perm & Perm.WRITE) === 0) {
    return newResponse(request, ResponseCode.NO_PERMISSION, `the topic[${header.topic}] sending message is forbidden`);
  }
  const queueIdMax = Math.max(topicConfig.readQueueNums, topicConfig.writeQueueNums);
  let queueId = header.queueId;
  if (queueId >= queueIdMax) {
    return newResponse(request, ResponseCode.SYSTEM_ERROR, `request queueId[${queueId}] is illegal, ${header.topic} Producer: ${connection.remoteAddress}`);
  }
  if (queueId < 0) queueId = broker.io.random.below(topicConfig.writeQueueNums);
  const body = request.body ?? new Uint8Array(0);
  if (body.length > broker.config.store.messageBodyBytesMax && !header.batch) {
    return newResponse(request, ResponseCode.MESSAGE_ILLEGAL, `the message body size ${body.length} is over the limit ${broker.config.store.messageBodyBytesMax}`);
  }
  let sysFlag = header.sysFlag;
  if (topicConfig.topicFilterType === "MULTI_TAG") sysFlag |= SysFlag.MULTI_TAGS;
  const bornHost = bornHostOf(connection);
  // Looked up in the properties text (the last value of a name wins, as decodeProperties' map
  // has it): a map of every property per send only where one is needed (batches, transactions).
  const waitStoreMsgOk = lastPropertyValue(header.properties, Property.WAIT) !== "false";

  if (request.code === RequestCode.SEND_BATCH_MESSAGE) return sendBatch(broker, request, header, queueId, sysFlag, bornHost, body, waitStoreMsgOk);

  const message = messageToStore(
    broker, header, queueId, sysFlag, bornHost, header.flag, body, header.properties, tagsCodeOf(lastPropertyValue(header.properties, Property.TAGS)),
  );
  // A client re-sending to %RETRY%<group> itself: past its retries the message goes to the DLQ.
  if (header.topic.startsWith(retryTopicPrefix)) {
    const maxReconsumeTimes = header.maxReconsumeTimes >= 0 ? header.maxReconsumeTimes : broker.config.maxReconsumeTimesDefault;
    if (header.reconsumeTimes >= maxReconsumeTimes) {
      return broker.toDeadLetter(message, header.topic.slice(retryTopicPrefix.length)).then((dead) => storeOne(broker, request, header, queueId, sysFlag, body, dead, waitStoreMsgOk));
    }
  }
  return storeOne(broker, request, header, queueId, sysFlag, body, message, waitStoreMsgOk);
}

function storeOne(
  broker: Broker, request: RemotingCommand, header: SendHeader, queueId: number, sysFlag: number, body: Uint8Array, message: MessageToStore, waitStoreMsgOk: boolean,
): RemotingCommand | Promise<RemotingCommand> {
  // A prepared (transactional) send becomes a half message; delay levels wait for the commit.
  const toStore = isPreparedSendText(sysFlag, header.properties) ? broker.transactions.prepare(message, decodeProperties(header.properties)) : broker.applyDelay(message);
  const result = broker.store.putNow(toStore);
  if (result.status !== PutStatus.OK) return putFailure(broker, request, result.status);
  broker.metrics?.recordSend(header.topic, 1, body.length);
  const msgId = offsetMessageId(broker.storeHost, result.physicalOffset);
  if (waitStoreMsgOk && (broker.config.store.flush === "sync" || broker.repl.waitsForSlave)) {
    return answerOnceStored(broker, request, result.physicalOffset + result.size, msgId, queueId, result.queueOffset);
  }
  return sendResponse(request, ResponseCode.SUCCESS, msgId, queueId, result.queueOffset);
}

/** SYNC_FLUSH (group commit) and SYNC_MASTER: the answer once an fdatasync, and a slave, cover the bytes below `end`. */
async function answerOnceStored(broker: Broker, request: RemotingCommand, end: number, msgId: string, queueId: number, queueOffset: number): Promise<RemotingCommand> {
  let code: number = ResponseCode.SUCCESS;
  if (broker.config.store.flush === "sync" && !(await broker.store.waitFlushedTo(end))) code = ResponseCode.FLUSH_DISK_TIMEOUT;
  code = await broker.repl.sendCode(end, code);
  return sendResponse(request, code, msgId, queueId, queueOffset);
}

function sendBatch(
  broker: Broker, request: RemotingCommand, header: SendHeader, queueId: number, sysFlag: number, bornHost: Uint8Array, body: Uint8Array, waitStoreMsgOk: boolean,
): RemotingCommand | Promise<RemotingCommand> {
  const headerProperties = decodeProperties(header.properties);
  const messages = decodeBatch(body, headerProperties, broker.config.store.messageBodyBytesMax);
  if (headerProperties.has(Property.DELAY) || (sysFlag & 0xc) !== 0) {
    return newResponse(request, ResponseCode.MESSAGE_ILLEGAL, "batch messages cannot be delayed or transactional");
  }
  const ids: string[] = [];
  let first: PutResult | null = null;
  let last: PutResult | null = null;
  for (const message of messages) {
    const props = decodeProperties(message.properties);
    last = broker.store.putNow(
      messageToStore(broker, header, queueId, sysFlag, bornHost, message.flag, message.body, message.properties, tagsCodeOf(props.get(Property.TAGS))),
    );
    if (last.status !== PutStatus.OK) return putFailure(broker, request, last.status);
    first ??= last;
    ids.push(offsetMessageId(broker.storeHost, last.physicalOffset));
  }
  if (!first || !last) return newResponse(request, ResponseCode.MESSAGE_ILLEGAL, "the batch is empty");
  broker.metrics?.recordSend(header.topic, messages.length, messages.reduce((bytes, item) => bytes + item.body.length, 0));
  const msgIds = ids.join(",");
  if (!waitStoreMsgOk) return sendResponse(request, ResponseCode.SUCCESS, msgIds, queueId, first.queueOffset);
  // One flush (and one slave confirmation) covers the whole batch: the bytes below its last record.
  return answerOnceStored(broker, request, last.physicalOffset + last.size, msgIds, queueId, first.queueOffset);
}

/** Each connection's peer address in stored form, made on its first send (a peer's address does not change). */
const bornHosts = new WeakMap<Connection, HostBytes>();

/** The message to store for a send (one per batch item): one object, no spread on the send path. */
function messageToStore(
  broker: Broker, header: SendHeader, queueId: number, sysFlag: number, bornHost: HostBytes,
  flag: number, body: Uint8Array, properties: string, tagsCode: number,
): MessageToStore {
  return {
    topic: header.topic, queueId, flag, body, properties, sysFlag, bornTimestamp: header.bornTimestamp, bornHost,
    storeHost: broker.storeHost, reconsumeTimes: header.reconsumeTimes, preparedTransactionOffset: 0, tagsCode,
  };
}

function bornHostOf(connection: Connection): HostBytes {
  let bornHost = bornHosts.get(connection);
  if (bornHost === undefined) {
    bornHost = hostBytes(connection.remoteHost, connection.remotePort);
    bornHosts.set(connection, bornHost);
  }
  return bornHost;
}

function sendResponse(request: RemotingCommand, code: number, msgId: string, queueId: number, queueOffset: number): RemotingCommand {
  return newResponse(request, code, null, {
    msgId,
    queueId: String(queueId),
    queueOffset: String(queueOffset),
    MSG_REGION: "DefaultRegion",
    TRACE_ON: "true",
  });
}

function putFailure(broker: Broker, request: RemotingCommand, status: PutStatus): RemotingCommand {
  switch (status) {
    case PutStatus.MESSAGE_ILLEGAL:
    case PutStatus.PROPERTIES_SIZE_EXCEEDED:
      return newResponse(request, ResponseCode.MESSAGE_ILLEGAL, `the message is illegal, maybe msg body or properties length not matched. ${status}`);
    case PutStatus.SERVICE_NOT_AVAILABLE:
      return newResponse(request, ResponseCode.SERVICE_NOT_AVAILABLE, `service not available now: ${broker.store.refusalReason() ?? "the broker may be shutting down"}`);
    default:
      log.warn("put.failed", { status });
      return newResponse(request, ResponseCode.SYSTEM_ERROR, status);
  }
}

interface BatchItem {
  flag: number;
  body: Uint8Array;
  properties: string;
}

// Batch body (SEND_BATCH_MESSAGE): records back to back, each
//   4 totalSize | 4 magic (0) | 4 bodyCrc (0) | 4 flag | 4 bodyLength B | B body | 2 propertiesLength P | P properties
export function decodeBatch(body: Uint8Array, headerProperties: Map<string, string>, bodyBytesMax: number): BatchItem[] {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const decoder = new TextDecoder();
  const items: BatchItem[] = [];
  let at = 0;
  const illegal = (why: string): never => {
    throw new RemotingError(ResponseCode.MESSAGE_ILLEGAL, `malformed batch body: ${why}`);
  };
  while (at < body.length) {
    if (at + 20 > body.length) illegal("record header truncated");
    const total = view.getInt32(at);
    if (total < 22 || at + total > body.length) illegal("record size out of range");
    const flag = view.getInt32(at + 12);
    const bodyBytes = view.getInt32(at + 16);
    if (bodyBytes < 0 || bodyBytes > bodyBytesMax) illegal(`body of ${bodyBytes} bytes`);
    if (20 + bodyBytes + 2 > total) illegal("body overruns record");
    const messageBody = body.slice(at + 20, at + 20 + bodyBytes);
    const propsBytes = view.getInt16(at + 20 + bodyBytes);
    if (propsBytes < 0 || 22 + bodyBytes + propsBytes !== total) illegal("properties overrun record");
    const own = decoder.decode(body.subarray(at + 22 + bodyBytes, at + 22 + bodyBytes + propsBytes));
    const merged = decodeProperties(own);
    for (const [name, value] of headerProperties) if (!merged.has(name)) merged.set(name, value);
    items.push({ flag, body: messageBody, properties: encodeProperties(merged) });
    at += total;
  }
  return items;
}

