// Transactional messages, 4.x half-message design (protocol reference §9): how a prepared send,
// a commit, an op ("done") record and a check-back body are built from stored records. Pure
// functions; TransactionService (transaction_service.ts) stores and sends what they build.
//
//   prepared send  → RMQ_SYS_TRANS_HALF_TOPIC queue 0, transaction bits cleared (so it gets a
//                    consume-queue entry there), REAL_TOPIC / REAL_QID = its destination
//   commit         → the half record re-addressed to REAL_TOPIC / REAL_QID, type COMMIT (8),
//                    transaction properties removed, preparedTransactionOffset = half's log offset
//   op record      → RMQ_SYS_TRANS_OP_HALF_TOPIC queue 0, tag "d", body = the half's queue
//                    offset in decimal; TRAN_PREPARED_QUEUE_OFFSET = the first copy's offset
//   check-back     → CHECK_TRANSACTION_STATE body: the half record with real topic/queue restored
import { decodeProperties, encodeProperties, Property, tagsCodeOf } from "../../protocol/message_properties.ts";
import { lastPropertyValue } from "../../store/message_store.ts";
import {
  decodeRecord,
  recordSizes,
  SysFlag,
  transactionType,
  writeRecord,
  type HostBytes,
  type MessageExt,
  type MessageToStore,
} from "../../protocol/message_record.ts";

export const halfTopic = "RMQ_SYS_TRANS_HALF_TOPIC";
export const opHalfTopic = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/** Where half messages go after transactionCheckMax unanswered checks, kept for inspection. */
export const checkMaxTimeTopic = "TRANS_CHECK_MAX_TIME_TOPIC";
/** Offsets of the transaction checker ("consumer group" of the half queue, as RocketMQ names it). */
export const checkerGroup = "CID_RMQ_SYS_TRANS";
export const opRemoveTag = "d";

/** Broker-side transaction properties (MessageConst). */
export const TransactionProperty = {
  CHECK_TIMES: "TRANSACTION_CHECK_TIMES",
  PREPARED_QUEUE_OFFSET: "TRAN_PREPARED_QUEUE_OFFSET",
  CHECK_IMMUNITY_TIME_IN_SECONDS: "CHECK_IMMUNITY_TIME_IN_SECONDS",
} as const;

/** END_TRANSACTION commitOrRollback values (sysFlag transaction types). */
export const EndType = { notType: 0, prepared: SysFlag.TRANSACTION_PREPARED, commit: SysFlag.TRANSACTION_COMMIT, rollback: SysFlag.TRANSACTION_ROLLBACK } as const;

/** A send is a half message when it says TRAN_MSG=true or carries the PREPARED type. */
export function isPreparedSend(sysFlag: number, properties: ReadonlyMap<string, string>): boolean {
  return properties.get(Property.TRAN_MSG) === "true" || transactionType(sysFlag) === SysFlag.TRANSACTION_PREPARED;
}

/** isPreparedSend on the encoded properties text (the send path decodes no map for it). */
export function isPreparedSendText(sysFlag: number, properties: string): boolean {
  return lastPropertyValue(properties, Property.TRAN_MSG) === "true" || transactionType(sysFlag) === SysFlag.TRANSACTION_PREPARED;
}

/** The half record to store for a prepared send of `message` (delay levels are ignored here). */
export function halfMessageOf(message: MessageToStore, properties: ReadonlyMap<string, string>): MessageToStore {
  const halfProperties = new Map(properties);
  halfProperties.set(Property.REAL_TOPIC, message.topic);
  halfProperties.set(Property.REAL_QID, String(message.queueId));
  return {
    ...message,
    topic: halfTopic,
    queueId: 0,
    sysFlag: message.sysFlag & ~0xc,
    properties: encodeProperties(halfProperties),
  };
}

/** The born host of a stored record, as stored (4 or 16 address bytes, then the port). */
export function bornHostBytesOf(record: Uint8Array): HostBytes {
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const bytes = view.getInt32(36) & SysFlag.BORNHOST_V6 ? 20 : 8;
  return record.slice(48, 48 + bytes);
}

/** The message a half record becomes when committed. */
export function committedMessageOf(record: Uint8Array, half: MessageExt, properties: ReadonlyMap<string, string>): MessageToStore {
  const final = new Map(properties);
  const topic = final.get(Property.REAL_TOPIC) ?? half.topic;
  const queueId = Number(final.get(Property.REAL_QID) ?? half.queueId);
  for (const name of [Property.REAL_TOPIC, Property.REAL_QID, Property.TRAN_MSG, TransactionProperty.CHECK_TIMES, TransactionProperty.PREPARED_QUEUE_OFFSET]) {
    final.delete(name);
  }
  return {
    topic,
    queueId,
    flag: half.flag,
    body: half.body,
    properties: encodeProperties(final),
    sysFlag: (half.sysFlag & ~0xc) | SysFlag.TRANSACTION_COMMIT,
    bornTimestamp: half.bornTimestamp,
    bornHost: bornHostBytesOf(record),
    storeHost: half.storeHostBytes,
    reconsumeTimes: half.reconsumeTimes,
    preparedTransactionOffset: half.commitLogOffset,
    tagsCode: tagsCodeOf(final.get(Property.TAGS)),
  };
}

/** The op record saying the half message at `queueOffset` (first copy at `originOffset`) is settled. */
export function opMessageOf(queueOffset: number, originOffset: number, bornTimestamp: number, bornHost: HostBytes, storeHost: HostBytes): MessageToStore {
  const properties = new Map([
    [Property.TAGS, opRemoveTag],
    [TransactionProperty.PREPARED_QUEUE_OFFSET, String(originOffset)],
  ]);
  return {
    topic: opHalfTopic,
    queueId: 0,
    flag: 0,
    body: new TextEncoder().encode(String(queueOffset)),
    properties: encodeProperties(properties),
    sysFlag: 0,
    bornTimestamp,
    bornHost,
    storeHost,
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
    tagsCode: tagsCodeOf(opRemoveTag),
  };
}

/** A copy of a half record to append again (one more check), or to keep aside in another topic. */
export function halfCopyOf(record: Uint8Array, half: MessageExt, properties: ReadonlyMap<string, string>, topic: string): MessageToStore {
  return {
    topic,
    queueId: 0,
    flag: half.flag,
    body: half.body,
    properties: encodeProperties(properties),
    sysFlag: half.sysFlag & ~0xc,
    bornTimestamp: half.bornTimestamp,
    bornHost: bornHostBytesOf(record),
    storeHost: half.storeHostBytes,
    reconsumeTimes: half.reconsumeTimes,
    preparedTransactionOffset: 0,
    tagsCode: tagsCodeOf(properties.get(Property.TAGS)),
  };
}

/** The CHECK_TRANSACTION_STATE body: the half record with its real topic and queue restored. */
export function checkBodyOf(record: Uint8Array): Uint8Array {
  const half = decodeRecord(record);
  const properties = decodeProperties(half.properties);
  const message: MessageToStore = {
    ...halfCopyOf(record, half, properties, properties.get(Property.REAL_TOPIC) ?? half.topic),
    queueId: Number(properties.get(Property.REAL_QID) ?? half.queueId),
    sysFlag: half.sysFlag,
  };
  const sizes = recordSizes(message);
  const body = new Uint8Array(sizes.total);
  writeRecord(body, 0, message, sizes, half.queueOffset, half.commitLogOffset, half.storeTimestamp);
  return body;
}
