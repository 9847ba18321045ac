// PULL_MESSAGE (11): read a queue from an offset with a tag filter; hold the request (long
// polling) when nothing is there yet. Every answer carries nextBeginOffset, minOffset, maxOffset
// and suggestWhichBrokerId: ali-ons reads them whatever the code.
import { assert } from "../../assert.ts";
import type { Connection } from "../../net/connection.ts";
import { pullFramePool } from "../../net/frame_pool.ts";
import { newResponse, type RemotingCommand } from "../../net/remoting_command.ts";
import { ResponseCode } from "../../net/response_code.ts";
import { decodeProperties, javaHashCode } from "../../protocol/message_properties.ts";
import { readU64, SysFlag } from "../../protocol/message_record.ts";
import { compileSqlFilter, type SqlFilter } from "../filter/sql92.ts";
import { Perm } from "../../protocol/topic.ts";
import { RecordSpans } from "../../store/message_store.ts";
import { GetStatus } from "../../store/put_status.ts";
import type { Broker } from "../broker.ts";
import { logScoped } from "../../log.ts";

const log = logScoped("broker");

/**
 * Free bytes in front of a pull answer's body for the frame's head: length word, header word and a
 * header of ~250 bytes (JSON: four extFields, no remark). A bigger head is copied as usual.
 */
const pullFrameHeadroomBytes = 512;

export const PullSysFlag = { COMMIT_OFFSET: 1, SUSPEND: 2, SUBSCRIPTION: 4, CLASS_FILTER: 8, LITE_PULL: 16 } as const;

interface PullHeader {
  consumerGroup: string;
  topic: string;
  queueId: number;
  queueOffset: number;
  maxMsgNums: number;
  sysFlag: number;
  commitOffset: number;
  suspendTimeoutMillis: number;
  subscription: string | undefined;
  expressionType: string;
}

function numberField(ext: Record<string, string>, name: string, fallback: number): number {
  const text = ext[name];
  const value = Number(text);
  return text === undefined || !Number.isFinite(value) ? fallback : value;
}

function parsePullHeader(ext: Record<string, string>): PullHeader {
  return {
    consumerGroup: ext["consumerGroup"] ?? "",
    topic: ext["topic"] ?? "",
    queueId: numberField(ext, "queueId", 0),
    queueOffset: numberField(ext, "queueOffset", 0),
    maxMsgNums: Math.max(1, Math.min(numberField(ext, "maxMsgNums", 32), 1024)),
    sysFlag: numberField(ext, "sysFlag", 0),
    commitOffset: numberField(ext, "commitOffset", -1),
    suspendTimeoutMillis: numberField(ext, "suspendTimeoutMillis", 15000),
    subscription: ext["subscription"],
    expressionType: ext["expressionType"] ?? "TAG",
  };
}

/** A tag filter: null accepts everything; else the set of accepted tag hash codes. */
export function tagFilter(subscription: string | undefined): Set<number> | null {
  if (subscription === undefined) return null;
  const text = subscription.trim();
  if (text === "" || text === "*") return null;
  const codes = new Set<number>();
  for (const tag of text.split("||")) {
    const trimmed = tag.trim();
    if (trimmed.length > 0) codes.add(javaHashCode(trimmed));
  }
  return codes.size === 0 ? null : codes;
}

/** Accepts every tag code: the filter of "*" (most subscriptions). */
const acceptAll = (_tagsCode: number): boolean => true;

/** Tag filters by subscription text, as consume-queue predicates: consumers pull with the same few. */
const tagPredicates = new Map<string, (tagsCode: number) => boolean>();
const tagPredicatesMax = 1024;

function tagPredicateFor(subscription: string | undefined): (tagsCode: number) => boolean {
  if (subscription === undefined || subscription === "*") return acceptAll;
  let accept = tagPredicates.get(subscription);
  if (!accept) {
    const codes = tagFilter(subscription);
    accept = codes === null ? acceptAll : (tagsCode: number) => codes.has(tagsCode);
    if (tagPredicates.size >= tagPredicatesMax) tagPredicates.clear();
    tagPredicates.set(subscription, accept);
  }
  return accept;
}

/** Compiled SQL92 filters by expression text: consumers pull with the same few expressions. */
const sqlFilters = new Map<string, SqlFilter>();
const sqlFiltersMax = 1024;

export function sqlFilterFor(expression: string): SqlFilter {
  let filter = sqlFilters.get(expression);
  if (!filter) {
    filter = compileSqlFilter(expression);
    if (sqlFilters.size >= sqlFiltersMax) sqlFilters.clear();
    sqlFilters.set(expression, filter);
  }
  return filter;
}

/** The properties of a stored record (for SQL92 evaluation). */
function recordProperties(record: Uint8Array): Map<string, string> {
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const sysFlag = view.getInt32(36);
  const bodyLengthAt = 48 + (sysFlag & SysFlag.BORNHOST_V6 ? 20 : 8) + 8 + (sysFlag & SysFlag.STOREHOST_V6 ? 20 : 8) + 12;
  const topicAt = bodyLengthAt + 4 + view.getInt32(bodyLengthAt);
  const propsAt = topicAt + 1 + record[topicAt]!;
  const propsBytes = view.getInt16(propsAt);
  return decodeProperties(textDecoder.decode(record.subarray(propsAt + 2, propsAt + 2 + propsBytes)));
}
const textDecoder = new TextDecoder();

/**
 * A pull answer's body of `bodyBytes`, with pullFrameHeadroomBytes free in front for the frame's
 * head (see encodeFrame): the records are copied into it once, and that is the only copy an answer
 * makes. A pooled buffer holds old bytes: the callers write every body byte (asserted), and
 * headroom the head does not use is never sent. The connection gives it back once written.
 */
function newPullBody(bodyBytes: number): Uint8Array {
  const frameBytes = pullFrameHeadroomBytes + bodyBytes;
  const frame = frameBytes <= pullFramePool.bufferBytes ? pullFramePool.acquire() : new Uint8Array(frameBytes);
  return new Uint8Array(frame.buffer, frame.byteOffset + pullFrameHeadroomBytes, bodyBytes);
}

/** Copies bytes without a view of the source (Buffer#copy works on any Uint8Array). */
const copyBytes = Buffer.prototype.copy as (this: Uint8Array, target: Uint8Array, targetStart: number, sourceStart: number, sourceEnd: number) => number;

/** The body of the records `spans` located. Records that follow each other in a segment (one queue written alone) are copied as one run. */
function pullBodyOfSpans(spans: RecordSpans, bodyBytes: number): Uint8Array {
  const body = newPullBody(bodyBytes);
  let at = 0;
  for (let first = 0; first < spans.count; ) {
    const segment = spans.segments[first]!;
    const position = spans.positions[first]!;
    let runBytes = spans.sizes[first]!;
    let next = first + 1;
    while (next < spans.count && spans.segments[next] === segment && spans.positions[next] === position + runBytes) runBytes += spans.sizes[next++]!;
    const copied = copyBytes.call(segment, body, at, position, position + runBytes);
    assert(copied === runBytes, "pull body copy cut short");
    at += runBytes;
    first = next;
  }
  assert(at === bodyBytes, "pull body not filled");
  return body;
}

/** The body of `records` (views, as SQL92 filtering needs them). */
function pullBodyOfRecords(records: readonly Uint8Array[]): Uint8Array {
  let bodyBytes = 0;
  for (const record of records) bodyBytes += record.length;
  const body = newPullBody(bodyBytes);
  let at = 0;
  for (const record of records) {
    body.set(record, at);
    at += record.length;
  }
  assert(at === bodyBytes, "pull body not filled");
  return body;
}

/** Reused by every tag-filtered pull: filled and consumed within one synchronous pullOnce. */
const pullSpans = new RecordSpans();

/** A pull's answer: every one carries nextBeginOffset, minOffset, maxOffset and suggestWhichBrokerId. */
function pullAnswer(
  broker: Broker, request: RemotingCommand, header: PullHeader, code: number, nextBeginOffset: number, remark: string | null,
  body: Uint8Array | null = null, suggestWhichBrokerId = 0,
): RemotingCommand {
  return newResponse(
    request,
    code,
    remark,
    {
      nextBeginOffset: String(nextBeginOffset),
      minOffset: String(broker.store.minOffset(header.topic, header.queueId)),
      maxOffset: String(broker.store.maxOffset(header.topic, header.queueId)),
      suggestWhichBrokerId: String(suggestWhichBrokerId),
    },
    body,
  );
}

export function processPull(broker: Broker, connection: Connection, request: RemotingCommand): Promise<RemotingCommand | null> | RemotingCommand | null {
  const header = parsePullHeader(request.extFields);
  return pullOnce(broker, connection, request, header, true);
}

function pullOnce(
  broker: Broker,
  connection: Connection,
  request: RemotingCommand,
  header: PullHeader,
  firstExecution: boolean,
): Promise<RemotingCommand | null> | RemotingCommand | null {
  const topicConfig = broker.topics.get(header.topic);
  if (!topicConfig) return pullAnswer(broker, request, header, ResponseCode.TOPIC_NOT_EXIST, header.queueOffset, `topic[${header.topic}] not exist, apply first please!`);
  if ((topicConfig.perm & Perm.READ) === 0) return pullAnswer(broker, request, header, ResponseCode.NO_PERMISSION, header.queueOffset, `the topic[${header.topic}] pulling message is forbidden`);
  if (header.queueId < 0 || header.queueId >= topicConfig.readQueueNums) {
    return pullAnswer(broker, request, header, ResponseCode.SYSTEM_ERROR, header.queueOffset, `queueId[${header.queueId}] is illegal, topic:[${header.topic}] topicConfig.readQueueNums:[${topicConfig.readQueueNums}] consumer:[${connection.remoteAddress}]`);
  }
  let expression = header.subscription;
  let expressionType = header.expressionType;
  if ((header.sysFlag & PullSysFlag.SUBSCRIPTION) === 0 || expression === undefined) {
    const registered = broker.clients.subscription(header.consumerGroup, header.topic);
    expression = registered?.subString ?? expression;
    expressionType = registered?.expressionType ?? expressionType;
  }
  let sql: SqlFilter | null = null;
  let accept: (tagsCode: number) => boolean = acceptAll;
  if (expressionType !== "TAG" && expressionType.toUpperCase() === "SQL92") {
    try {
      sql = sqlFilterFor(expression ?? "");
    } catch (error) {
      return pullAnswer(broker, request, header, ResponseCode.SUBSCRIPTION_PARSE_FAILED, header.queueOffset, `parse SQL92 filter failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  } else {
    accept = tagPredicateFor(expression);
  }

  if (firstExecution && (header.sysFlag & PullSysFlag.COMMIT_OFFSET) !== 0 && header.commitOffset >= 0 && broker.config.brokerId === 0) {
    broker.offsets.commit(header.consumerGroup, header.topic, header.queueId, header.commitOffset);
  }

  // SQL92 filters need each record's properties (the consume queue cannot tell): views then.
  const spans = sql === null ? pullSpans : null;
  const result = broker.store.get(header.topic, header.queueId, header.queueOffset, header.maxMsgNums, accept, spans);
  switch (result.status) {
    case GetStatus.FOUND: {
      let lastPhysicalOffset: number;
      let body: Uint8Array;
      let count: number;
      if (spans !== null) {
        lastPhysicalOffset = spans.lastPhysicalOffset;
        body = pullBodyOfSpans(spans, result.recordBytes);
        count = spans.count;
      } else {
        const last = result.records.at(-1)!;
        lastPhysicalOffset = readU64(new DataView(last.buffer, last.byteOffset, last.byteLength), 28);
        const records = result.records.filter((record) => sql!.matches(recordProperties(record)));
        if (records.length === 0) return pullAnswer(broker, request, header, ResponseCode.PULL_RETRY_IMMEDIATELY, result.nextBeginOffset, null);
        body = pullBodyOfRecords(records);
        count = records.length;
      }
      // RocketMQ: with slaveReadEnable, a pull whose data lies far behind the log's end (cold, see
      // Broker.hotBytesMax) is told to go to brokerId 1 (whichBrokerWhenConsumeSlowly); else master 0.
      const suggestWhichBrokerId = broker.config.slaveReadEnable && broker.store.commitLog.maxOffset - lastPhysicalOffset > broker.hotBytesMax ? 1 : 0;
      broker.metrics?.recordPull(header.topic, count, body.length);
      const response = pullAnswer(broker, request, header, ResponseCode.SUCCESS, result.nextBeginOffset, null, body, suggestWhichBrokerId);
      response.bodyHeadroom = pullFrameHeadroomBytes;
      return response;
    }
    case GetStatus.NO_MATCHED_MESSAGE:
      return pullAnswer(broker, request, header, ResponseCode.PULL_RETRY_IMMEDIATELY, result.nextBeginOffset, null);
    case GetStatus.OFFSET_TOO_SMALL:
    case GetStatus.OFFSET_OVERFLOW_BADLY:
      return pullAnswer(broker, request, header, ResponseCode.PULL_OFFSET_MOVED, result.nextBeginOffset, null);
    case GetStatus.NO_MESSAGE_IN_QUEUE:
    case GetStatus.NO_MATCHED_LOGIC_QUEUE:
      if (header.queueOffset !== 0) return pullAnswer(broker, request, header, ResponseCode.PULL_OFFSET_MOVED, 0, null);
      break;
    case GetStatus.OFFSET_OVERFLOW_ONE:
      break;
  }
  // Nothing yet at this offset: hold the request if the client allows it.
  if (firstExecution && (header.sysFlag & PullSysFlag.SUSPEND) !== 0 && header.suspendTimeoutMillis > 0 && broker.accepting) {
    const holdMs = Math.min(header.suspendTimeoutMillis, broker.config.pullHoldMsMax);
    if (broker.pullHold.heldCount >= broker.pullHold.capacity) {
      log.warnEvery(1000, "pull.hold_refused", { held: broker.pullHold.heldCount, limit: broker.pullHold.capacity, peer: connection.remoteAddress });
      return newResponse(request, ResponseCode.SYSTEM_BUSY, `[REJECTREQUEST]system busy: ${broker.pullHold.capacity} pulls held already, retry later`);
    }
    return new Promise((resolve) => {
      broker.pullHold.hold(header.topic, header.queueId, {
        offset: header.queueOffset,
        deadlineMs: broker.io.clock.monotonicMs() + holdMs,
        accept,
        resume: () => {
          if (connection.closed) return resolve(null);
          resolve(pullOnce(broker, connection, request, header, false));
        },
      });
    });
  }
  return pullAnswer(broker, request, header, ResponseCode.PULL_NOT_FOUND, header.queueOffset, null);
}
