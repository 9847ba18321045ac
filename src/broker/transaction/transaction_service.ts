/**
 * TransactionService (src/broker/transaction/transaction_service.ts): the broker's half of
 * RocketMQ 4.x transactional messages (protocol reference §9; half_message.ts has the formats).
 *
 * Guarantees:
 * - A prepared send is stored as a half record in RMQ_SYS_TRANS_HALF_TOPIC, invisible to
 *   consumers of its real topic.
 * - end() settles a half message once: COMMIT re-puts it to its real topic and queue (type
 *   COMMIT, visible to consumers, delay level honoured), ROLLBACK only settles it; either way an
 *   op record goes to RMQ_SYS_TRANS_OP_HALF_TOPIC. A second END for the same half message, or
 *   for another copy of it (the checker re-appends copies), answers SUCCESS and changes nothing.
 *   Wrong producer group or offsets → SYSTEM_ERROR with RocketMQ's remark, nothing stored.
 * - Every checkIntervalMs, check() walks the half queue from its persisted cursor (offsets of
 *   group CID_RMQ_SYS_TRANS): settled messages are passed; the walk stops at the first message
 *   born less than transactionTimeOutMs ago (or its CHECK_IMMUNITY_TIME_IN_SECONDS); a message
 *   checked transactionCheckMax times is moved to TRANS_CHECK_MAX_TIME_TOPIC and settled as
 *   rolled back; any other is appended again with TRANSACTION_CHECK_TIMES + 1 and
 *   TRAN_PREPARED_QUEUE_OFFSET = its first offset, and CHECK_TRANSACTION_STATE (39, oneway) for
 *   the new copy goes to one live producer channel of its PGROUP (none alive: the check still
 *   counts, as in RocketMQ).
 * - Restart: load() rebuilds the settled set from the op queue, so a half message settled
 *   before a crash is never committed twice by this broker, and one unsettled is checked again.
 * - The settled set holds only offsets retention still keeps: each check pass drops those below
 *   the half queue's minimum offset (their records are gone, so an END for them fails anyway).
 * Requires: load() after the store and the offsets are loaded; start() once; stop() at shutdown.
 */
import type { Io } from "../../io/io.ts";
import { logScoped } from "../../log.ts";
import type { Connection } from "../../net/connection.ts";
import { newRequest } from "../../net/remoting_command.ts";
import { RequestCode } from "../../net/request_code.ts";
import { ResponseCode } from "../../net/response_code.ts";
import { assert } from "../../assert.ts";
import { decodeProperties, Property } from "../../protocol/message_properties.ts";
import { decodeRecord, offsetMessageId, type HostBytes, type MessageToStore } from "../../protocol/message_record.ts";
import type { MessageStore, PutResult } from "../../store/message_store.ts";
import { PutStatus } from "../../store/put_status.ts";
import type { ClientManager } from "../client_manager.ts";
import type { ConsumerOffsetManager } from "../consumer_offset_manager.ts";
import {
  bornHostBytesOf,
  checkBodyOf,
  checkerGroup,
  checkMaxTimeTopic,
  committedMessageOf,
  EndType,
  halfCopyOf,
  halfMessageOf,
  halfTopic,
  opHalfTopic,
  opMessageOf,
  TransactionProperty,
} from "./half_message.ts";

const log = logScoped("broker");

export interface TransactionConfig {
  /** transactionTimeOut: a half message younger than this (since born) is not checked yet. */
  transactionTimeOutMs: number;
  /** transactionCheckInterval: how often the checker walks the half queue. */
  transactionCheckIntervalMs: number;
  /** transactionCheckMax: checks before a half message is given up (rolled back, kept aside). */
  transactionCheckMax: number;
}

export const transactionConfigDefault: TransactionConfig = {
  transactionTimeOutMs: 6_000,
  transactionCheckIntervalMs: 60_000,
  transactionCheckMax: 15,
};

/** One check pass looks at no more than this many half records (the rest wait for the next). */
const checkRecordsPerPassMax = 10_000;
/** Op records read per store.get() while loading. */
const opLoadBatch = 512;

/** What END_TRANSACTION comes to: a response code and remark. */
export interface EndResult {
  code: number;
  remark: string | null;
}

export interface EndRequest {
  producerGroup: string;
  tranStateTableOffset: number;
  commitLogOffset: number;
  commitOrRollback: number;
  fromTransactionCheck: boolean;
}

export class TransactionService {
  /** Half-queue offsets settled by an op record: of each settled copy and of its first copy. */
  private readonly settled = new Set<number>();
  /** Next half-queue offset the checker looks at. */
  private checkOffset = 0;
  /** Settled offsets below this were pruned (pruneSettled). */
  private prunedBelow = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private checking = false;
  checksSent = 0;

  constructor(
    private readonly store: MessageStore,
    private readonly offsets: ConsumerOffsetManager,
    private readonly clients: ClientManager,
    private readonly io: Io,
    private readonly storeHost: () => HostBytes,
    /** How a committed message is put (the broker's delay handling applies). */
    private readonly prepareCommitted: (message: MessageToStore) => MessageToStore,
    readonly config: TransactionConfig,
  ) {
    assert(config.transactionTimeOutMs >= 0, "transactionTimeOutMs must be ≥ 0");
    assert(config.transactionCheckIntervalMs > 0, "transactionCheckIntervalMs must be positive");
    assert(config.transactionCheckMax >= 1, "transactionCheckMax must be ≥ 1");
  }

  /** The half record to store instead of `message` (a prepared send). */
  prepare(message: MessageToStore, properties: ReadonlyMap<string, string>): MessageToStore {
    return halfMessageOf(message, properties);
  }

  load(): void {
    const maxOffset = this.store.maxOffset(opHalfTopic, 0);
    let offset = this.store.minOffset(opHalfTopic, 0);
    const decoder = new TextDecoder();
    while (offset < maxOffset) {
      const got = this.store.get(opHalfTopic, 0, offset, opLoadBatch, () => true);
      for (const record of got.records) {
        const op = decodeRecord(record);
        const settledOffset = Number(decoder.decode(op.body));
        if (Number.isSafeInteger(settledOffset)) this.settled.add(settledOffset);
        const origin = Number(decodeProperties(op.properties).get(TransactionProperty.PREPARED_QUEUE_OFFSET) ?? NaN);
        if (Number.isSafeInteger(origin)) this.settled.add(origin);
      }
      if (got.nextBeginOffset <= offset) break;
      offset = got.nextBeginOffset;
    }
    const stored = this.offsets.query(checkerGroup, halfTopic, 0);
    this.checkOffset = Math.max(stored, this.store.minOffset(halfTopic, 0));
    if (this.settled.size > 0 || this.checkOffset > 0) {
      log.info("transaction.loaded", { settled: this.settled.size, checkOffset: this.checkOffset, halfMaxOffset: this.store.maxOffset(halfTopic, 0) });
    }
  }

  start(): void {
    assert(this.timer === null, "transaction checker started twice");
    this.timer = setInterval(() => void this.check(), this.config.transactionCheckIntervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Whether the half message at `queueOffset` has been committed or rolled back. */
  isSettled(queueOffset: number): boolean {
    return this.settled.has(queueOffset);
  }

  // ------------------------------------------------------------------------------ END_TRANSACTION

  /** Settles one half message (END_TRANSACTION); null for NOT_TYPE/PREPARED, which RocketMQ ignores. */
  async end(request: EndRequest): Promise<EndResult | null> {
    const type = request.commitOrRollback;
    if (type !== EndType.commit && type !== EndType.rollback) {
      if (type === EndType.notType || type === EndType.prepared) return null;
      return { code: ResponseCode.SYSTEM_ERROR, remark: `commitOrRollback ${type} is not 0, 4, 8 or 12` };
    }
    const record = this.readRecord(request.commitLogOffset);
    if (!record) return { code: ResponseCode.SYSTEM_ERROR, remark: "Find prepared transaction message failed" };
    const half = decodeRecord(record);
    if (half.topic !== halfTopic) return { code: ResponseCode.SYSTEM_ERROR, remark: "Find prepared transaction message failed" };
    const properties = decodeProperties(half.properties);
    if (properties.get(Property.PGROUP) !== request.producerGroup) return { code: ResponseCode.SYSTEM_ERROR, remark: "The producer group wrong" };
    if (half.queueOffset !== request.tranStateTableOffset) return { code: ResponseCode.SYSTEM_ERROR, remark: "The transaction state table offset wrong" };
    if (half.commitLogOffset !== request.commitLogOffset) return { code: ResponseCode.SYSTEM_ERROR, remark: "The commit log offset wrong" };
    const origin = originOffset(properties, half.queueOffset);
    if (this.settled.has(half.queueOffset) || this.settled.has(origin)) {
      log.debug("transaction.already_settled", { queueOffset: half.queueOffset, origin, type });
      return { code: ResponseCode.SUCCESS, remark: null };
    }
    // Claimed before the first await, so a concurrent END for the same message sees it settled.
    this.settled.add(half.queueOffset);
    this.settled.add(origin);
    if (type === EndType.commit) {
      const put = await this.store.put(this.prepareCommitted(committedMessageOf(record, half, properties)), true);
      if (put.status !== PutStatus.OK && put.status !== PutStatus.FLUSH_DISK_TIMEOUT) {
        this.settled.delete(half.queueOffset);
        this.settled.delete(origin);
        return { code: ResponseCode.SYSTEM_ERROR, remark: `commit failed: ${put.status}` };
      }
    }
    const op = await this.putOp(half.queueOffset, origin, record);
    if (op.status !== PutStatus.OK && op.status !== PutStatus.FLUSH_DISK_TIMEOUT) {
      log.warn("transaction.op_failed", { queueOffset: half.queueOffset, status: op.status });
    }
    return { code: ResponseCode.SUCCESS, remark: null };
  }

  private readRecord(commitLogOffset: number): Uint8Array | null {
    if (!Number.isSafeInteger(commitLogOffset) || commitLogOffset < 0) return null;
    return this.store.recordAtPhysical(commitLogOffset);
  }


  private putOp(queueOffset: number, origin: number, halfRecord: Uint8Array): Promise<PutResult> {
    const op = opMessageOf(queueOffset, origin, this.io.clock.realtimeMs(), bornHostBytesOf(halfRecord), this.storeHost());
    return this.store.put(op, false);
  }

  // ------------------------------------------------------------------------------ check-back

  /** One pass of the checker (see the class comment). Single-flight: a pass still running wins. */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await this.checkPass();
    } catch (error) {
      log.error("transaction.check_failed", { error: String(error) });
    } finally {
      this.checking = false;
    }
  }

  /** How many half-queue offsets are known settled (for tests and runtime info). */
  get settledCount(): number {
    return this.settled.size;
  }

  /**
   * Forgets settled offsets below the half queue's minimum: retention deleted those records, so
   * an END for them fails to find the half message anyway. Keeps the set to what retention keeps.
   */
  private pruneSettled(minOffset: number): void {
    if (minOffset <= this.prunedBelow) return;
    this.prunedBelow = minOffset;
    let pruned = 0;
    for (const offset of this.settled) {
      if (offset < minOffset) {
        this.settled.delete(offset);
        pruned++;
      }
    }
    if (pruned > 0) log.info("transaction.settled_pruned", { pruned, below: minOffset, kept: this.settled.size });
  }

  private async checkPass(): Promise<void> {
    const endOffset = this.store.maxOffset(halfTopic, 0); // copies appended by this pass wait for the next
    this.pruneSettled(this.store.minOffset(halfTopic, 0));
    let offset = Math.max(this.checkOffset, this.store.minOffset(halfTopic, 0));
    const nowMs = this.io.clock.realtimeMs();
    for (let looked = 0; offset < endOffset && looked < checkRecordsPerPassMax; looked++) {
      if (this.settled.has(offset)) {
        offset++;
        continue;
      }
      const record = this.store.recordAt(halfTopic, 0, offset);
      if (!record) {
        offset++;
        continue;
      }
      const half = decodeRecord(record);
      const properties = decodeProperties(half.properties);
      const origin = originOffset(properties, offset);
      if (this.settled.has(origin)) {
        offset++;
        continue;
      }
      const immunitySeconds = Number(properties.get(TransactionProperty.CHECK_IMMUNITY_TIME_IN_SECONDS) ?? NaN);
      const immunityMs = Number.isFinite(immunitySeconds) && immunitySeconds > 0 ? immunitySeconds * 1000 : this.config.transactionTimeOutMs;
      if (nowMs - half.bornTimestamp < immunityMs) break; // younger ones follow
      const checkTimes = Number(properties.get(TransactionProperty.CHECK_TIMES) ?? 0) || 0;
      if (checkTimes >= this.config.transactionCheckMax) {
        if (!(await this.discard(record, half.queueOffset, origin, properties))) break;
        offset++;
        continue;
      }
      properties.set(TransactionProperty.CHECK_TIMES, String(checkTimes + 1));
      properties.set(TransactionProperty.PREPARED_QUEUE_OFFSET, String(origin));
      const copy = await this.store.put(halfCopyOf(record, half, properties, halfTopic), false);
      if (copy.status !== PutStatus.OK) {
        log.warnEvery(10_000, "transaction.requeue_failed", { status: copy.status });
        break;
      }
      offset++;
      this.sendCheck(properties.get(Property.PGROUP) ?? "", copy, properties.get(Property.UNIQ_KEY) ?? "");
    }
    if (offset !== this.checkOffset) {
      this.checkOffset = offset;
      this.offsets.commit(checkerGroup, halfTopic, 0, offset);
    }
  }

  /** Gives up on a half message: kept in TRANS_CHECK_MAX_TIME_TOPIC, settled as rolled back. */
  private async discard(record: Uint8Array, queueOffset: number, origin: number, properties: Map<string, string>): Promise<boolean> {
    const half = decodeRecord(record);
    const kept = await this.store.put(halfCopyOf(record, half, properties, checkMaxTimeTopic), false);
    if (kept.status !== PutStatus.OK) return false;
    this.settled.add(queueOffset);
    this.settled.add(origin);
    await this.putOp(queueOffset, origin, record);
    log.warn("transaction.discarded", { group: properties.get(Property.PGROUP), msgId: properties.get(Property.UNIQ_KEY), checks: this.config.transactionCheckMax });
    return true;
  }

  private sendCheck(producerGroup: string, copy: PutResult, uniqKey: string): void {
    const connection = this.producerChannel(producerGroup);
    if (!connection) {
      log.warnEvery(10_000, "transaction.no_producer", { group: producerGroup });
      return;
    }
    const record = this.store.commitLog.read(copy.physicalOffset, copy.size);
    if (!record) return;
    const header = {
      tranStateTableOffset: String(copy.queueOffset),
      commitLogOffset: String(copy.physicalOffset),
      msgId: uniqKey,
      transactionId: uniqKey,
      offsetMsgId: offsetMessageId(this.storeHost(), copy.physicalOffset),
    };
    connection.invokeOneway(newRequest(RequestCode.CHECK_TRANSACTION_STATE, header, checkBodyOf(record)));
    this.checksSent++;
  }

  /** A random open channel of the producer group (RocketMQ's getAvailableChannel), or null. */
  private producerChannel(producerGroup: string): Connection | null {
    const channels = this.clients.producerGroups.get(producerGroup);
    if (!channels) return null;
    const open = [...channels.keys()].filter((connection) => !connection.closed);
    if (open.length === 0) return null;
    return open[this.io.random.below(open.length)]!;
  }
}

function originOffset(properties: ReadonlyMap<string, string>, queueOffset: number): number {
  const origin = Number(properties.get(TransactionProperty.PREPARED_QUEUE_OFFSET) ?? NaN);
  return Number.isSafeInteger(origin) && origin >= 0 ? origin : queueOffset;
}
