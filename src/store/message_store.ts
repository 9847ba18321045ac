/**
 * MessageStore (src/store/message_store.ts): the commit log, the consume queues and their files
 * under one data directory, with flushing and recovery.
 *
 *   <dataDir>/commitlog/<20-digit offset>            commit-log files
 *   <dataDir>/consumequeue/<topic>/<queueId>/<...>   consume-queue files
 *
 * Guarantees: put() appends and dispatches (consume-queue entry, arrival listeners) before it
 * returns, so a pull that starts after a put's answer sees the message. Under SYNC flush, put()
 * resolves only after an fdatasync covering the record, shared by every put waiting at the time
 * (group commit); under ASYNC flush it resolves at once and a timer flushes every flushIntervalMs.
 * Recovery (load): the commit log ends at its first bad record; consume queues drop entries past
 * it; records from the scan start are re-dispatched (idempotent by queue offset).
 */
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { assert } from "../assert.ts";
import type { Io } from "../io/io.ts";
import { logScoped } from "../log.ts";
import { decodeProperties, propertiesBytesMax, Property, tagsCodeOf } from "../protocol/message_properties.ts";
import {
  readU64,
  recordSizes,
  SysFlag,
  transactionType,
  type MessageToStore,
} from "../protocol/message_record.ts";
import { CommitLog, blankMarkerBytes } from "./commit_log.ts";
import { ConsumeQueue, type CqEntry } from "./consume_queue.ts";
import { GetStatus, PutStatus } from "./put_status.ts";

const log = logScoped("store");

export interface StoreConfig {
  dataDir: string;
  commitLogFileBytes: number;
  consumeQueueEntriesPerFile: number;
  messageBodyBytesMax: number;
  flush: "sync" | "async";
  flushIntervalMs: number;
  syncFlushTimeoutMs: number;
  /** Per pull: at most this many bytes of records (at least one record is always returned). */
  pullBytesMax: number;
  /**
   * The consume-queue tag field of a record, for re-dispatch during recovery: by default the
   * hash of TAGS; the broker overrides it for SCHEDULE_TOPIC_XXXX, where it holds the due time.
   * Must agree with the tagsCode the put path was given.
   */
  tagsCodeFor?: (topic: string, properties: string, storeTimestamp: number) => number | null;
}

export interface PutResult {
  status: PutStatus;
  physicalOffset: number;
  queueOffset: number;
  size: number;
}

export interface GetResult {
  status: GetStatus;
  records: Uint8Array[];
  recordBytes: number;
  nextBeginOffset: number;
  minOffset: number;
  maxOffset: number;
}

/** Called after a message lands in a consume queue: wakes long-polling pulls. */
export type ArrivalListener = (topic: string, queueId: number, maxOffset: number, tagsCode: number) => void;

interface FlushWaiter {
  offset: number;
  deadlineMs: number;
  resolve(ok: boolean): void;
}

export class MessageStore {
  readonly commitLog: CommitLog;
  private readonly queues = new Map<string, Map<number, ConsumeQueue>>();
  private readonly arrivalListeners: ArrivalListener[] = [];
  private readonly flushWaiters: FlushWaiter[] = [];
  private flushing = false;
  private flushTimer: ReturnType<typeof setInterval> | null = null;
  private readonly entry: CqEntry = { commitLogOffset: 0, size: 0, tagsCode: 0 };
  private shutDown = false;

  constructor(
    readonly config: StoreConfig,
    private readonly io: Io,
  ) {
    assert(config.commitLogFileBytes >= config.messageBodyBytesMax + 64 * 1024 + blankMarkerBytes, "commit-log files must hold the largest message");
    this.commitLog = new CommitLog(join(config.dataDir, "commitlog"), config.commitLogFileBytes);
  }

  onArrival(listener: ArrivalListener): void {
    this.arrivalListeners.push(listener);
  }

  /** Opens the files and recovers (see the class comment). */
  load(): void {
    mkdirSync(this.config.dataDir, { recursive: true });
    const scanFrom = this.commitLog.load(true);
    const end = this.commitLog.maxOffset;
    const cqRoot = join(this.config.dataDir, "consumequeue");
    if (existsSync(cqRoot)) {
      for (const topic of readdirSync(cqRoot)) {
        for (const queueName of readdirSync(join(cqRoot, topic))) {
          if (!/^\d+$/.test(queueName)) continue;
          const queue = this.queue(topic, Number(queueName));
          // Entries pointing past the end of the commit log were never (fully) stored.
          while (queue.maxOffset > queue.minOffset && queue.lastEntryEnd() > end) queue.truncateTo(queue.maxOffset - 1);
        }
      }
    }
    let redispatched = 0;
    this.commitLog.scan(scanFrom, (bytes, at) => {
      if (this.dispatch(bytes, at)) redispatched++;
    });
    if (redispatched > 0) log.info("store.redispatched", { records: redispatched, from: scanFrom });
    this.flushTimer = setInterval(() => void this.flushAll(), this.config.flushIntervalMs);
  }

  /** Builds the consume-queue entry for the record at bytes[at]. Returns whether it wrote one. */
  private dispatch(bytes: Uint8Array, at: number): boolean {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const sysFlag = view.getInt32(at + 36);
    const type = transactionType(sysFlag);
    if (type === SysFlag.TRANSACTION_PREPARED || type === SysFlag.TRANSACTION_ROLLBACK) return false;
    const size = view.getInt32(at);
    const queueId = view.getInt32(at + 12);
    const queueOffset = readU64(view, at + 20);
    const physicalOffset = readU64(view, at + 28);
    const bornHostBytes = sysFlag & SysFlag.BORNHOST_V6 ? 20 : 8;
    const storeHostBytes = sysFlag & SysFlag.STOREHOST_V6 ? 20 : 8;
    const bodyLengthAt = at + 48 + bornHostBytes + 8 + storeHostBytes + 12;
    const bodyBytes = view.getInt32(bodyLengthAt);
    const topicAt = bodyLengthAt + 4 + bodyBytes;
    const topicBytes = bytes[topicAt]!;
    const topic = new TextDecoder().decode(bytes.subarray(topicAt + 1, topicAt + 1 + topicBytes));
    const propsAt = topicAt + 1 + topicBytes;
    const propsBytes = view.getInt16(propsAt);
    const propertiesText = new TextDecoder().decode(bytes.subarray(propsAt + 2, propsAt + 2 + propsBytes));
    const storeTimestamp = readU64(view, at + 48 + bornHostBytes);
    const tagsCode =
      this.config.tagsCodeFor?.(topic, propertiesText, storeTimestamp) ?? tagsCodeOf(decodeProperties(propertiesText).get(Property.TAGS));
    return this.queue(topic, queueId).put(queueOffset, physicalOffset, size, tagsCode);
  }

  queue(topic: string, queueId: number): ConsumeQueue {
    let byId = this.queues.get(topic);
    if (!byId) {
      byId = new Map();
      this.queues.set(topic, byId);
    }
    let queue = byId.get(queueId);
    if (!queue) {
      queue = new ConsumeQueue(topic, queueId, join(this.config.dataDir, "consumequeue", topic, String(queueId)), this.config.consumeQueueEntriesPerFile);
      queue.load();
      byId.set(queueId, queue);
    }
    return queue;
  }

  findQueue(topic: string, queueId: number): ConsumeQueue | undefined {
    return this.queues.get(topic)?.get(queueId);
  }

  /**
   * Appends a message. The queue offset is the queue's next; the consume-queue entry is written
   * before this returns (unless it is a prepared or rolled-back transaction record).
   */
  async put(message: MessageToStore, waitStoreMsgOk = true): Promise<PutResult> {
    const refused = (status: PutStatus): PutResult => ({ status, physicalOffset: -1, queueOffset: -1, size: 0 });
    if (this.shutDown) return refused(PutStatus.SERVICE_NOT_AVAILABLE);
    if (message.body.length > this.config.messageBodyBytesMax) return refused(PutStatus.MESSAGE_ILLEGAL);
    const sizes = recordSizes(message);
    if (sizes.properties.length > propertiesBytesMax) return refused(PutStatus.PROPERTIES_SIZE_EXCEEDED);
    if (sizes.topic.length > 127) return refused(PutStatus.MESSAGE_ILLEGAL);
    const type = transactionType(message.sysFlag);
    const inQueue = type !== SysFlag.TRANSACTION_PREPARED && type !== SysFlag.TRANSACTION_ROLLBACK;
    const queue = this.queue(message.topic, message.queueId);
    const queueOffset = inQueue ? queue.maxOffset : 0;
    const storeTimestamp = this.io.clock.realtimeMs();
    const appended = this.commitLog.append(message, sizes, queueOffset, storeTimestamp);
    if (inQueue) {
      const tagsCode = this.config.tagsCodeFor?.(message.topic, message.properties, storeTimestamp) ?? message.tagsCode;
      queue.put(queueOffset, appended.physicalOffset, appended.size, tagsCode);
      for (const listener of this.arrivalListeners) listener(message.topic, message.queueId, queue.maxOffset, tagsCode);
    }
    const result: PutResult = { status: PutStatus.OK, physicalOffset: appended.physicalOffset, queueOffset, size: appended.size };
    if (this.config.flush === "sync" && waitStoreMsgOk) {
      const flushed = await this.waitFlushedTo(appended.physicalOffset + appended.size);
      if (!flushed) result.status = PutStatus.FLUSH_DISK_TIMEOUT;
    }
    return result;
  }

  /** Group commit: resolves true once an fdatasync covers `offset`, false after the timeout. */
  waitFlushedTo(offset: number): Promise<boolean> {
    if (this.commitLog.flushedOffset >= offset) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.flushWaiters.push({ offset, deadlineMs: this.io.clock.monotonicMs() + this.config.syncFlushTimeoutMs, resolve });
      if (!this.flushing) void this.groupCommit();
    });
  }

  private async groupCommit(): Promise<void> {
    this.flushing = true;
    try {
      while (this.flushWaiters.length > 0) {
        let flushed: number;
        try {
          flushed = await this.commitLog.flush();
        } catch (error) {
          log.error("commit_log.flush_failed", { error: String(error) });
          flushed = this.commitLog.flushedOffset;
        }
        const now = this.io.clock.monotonicMs();
        let kept = 0;
        for (const waiter of this.flushWaiters) {
          if (waiter.offset <= flushed) waiter.resolve(true);
          else if (now > waiter.deadlineMs) waiter.resolve(false);
          else this.flushWaiters[kept++] = waiter;
        }
        this.flushWaiters.length = kept;
        if (kept > 0 && this.commitLog.flushedOffset === flushed) await new Promise((resolve) => setTimeout(resolve, 1));
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Flushes the commit log and every consume queue (the async flush timer, and shutdown). */
  async flushAll(): Promise<void> {
    try {
      await this.commitLog.flush();
      const flushes: Promise<void>[] = [];
      for (const byId of this.queues.values()) for (const queue of byId.values()) flushes.push(queue.flush());
      await Promise.all(flushes);
    } catch (error) {
      log.error("store.flush_failed", { error: String(error) });
    }
  }

  maxOffset(topic: string, queueId: number): number {
    return this.findQueue(topic, queueId)?.maxOffset ?? 0;
  }
  minOffset(topic: string, queueId: number): number {
    return this.findQueue(topic, queueId)?.minOffset ?? 0;
  }

  /** The record at consume-queue `offset`, or null. */
  recordAt(topic: string, queueId: number, offset: number): Uint8Array | null {
    const queue = this.findQueue(topic, queueId);
    if (!queue || !queue.get(offset, this.entry)) return null;
    return this.commitLog.read(this.entry.commitLogOffset, this.entry.size);
  }

  /** The store timestamp of the record at consume-queue `offset`, or -1. */
  storeTimestampAt(topic: string, queueId: number, offset: number): number {
    const record = this.recordAt(topic, queueId, offset);
    if (!record) return -1;
    const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
    const sysFlag = view.getInt32(36);
    return readU64(view, 48 + (sysFlag & SysFlag.BORNHOST_V6 ? 20 : 8));
  }

  /** The logical offset whose message was stored closest to `timestampMs` (SEARCH_OFFSET_BY_TIMESTAMP). */
  offsetByTime(topic: string, queueId: number, timestampMs: number): number {
    const queue = this.findQueue(topic, queueId);
    if (!queue || queue.maxOffset === queue.minOffset) return 0;
    let low = queue.minOffset;
    let high = queue.maxOffset - 1;
    if (this.storeTimestampAt(topic, queueId, low) >= timestampMs) return low;
    if (this.storeTimestampAt(topic, queueId, high) < timestampMs) return queue.maxOffset;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      if (this.storeTimestampAt(topic, queueId, middle) < timestampMs) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /**
   * Reads up to `maxCount` records of a queue from `offset`, keeping those whose tag code passes
   * `accept`. Status and nextBeginOffset as RocketMQ's DefaultMessageStore.getMessage.
   */
  get(topic: string, queueId: number, offset: number, maxCount: number, accept: (tagsCode: number) => boolean): GetResult {
    const queue = this.findQueue(topic, queueId);
    const result: GetResult = { status: GetStatus.NO_MATCHED_LOGIC_QUEUE, records: [], recordBytes: 0, nextBeginOffset: 0, minOffset: 0, maxOffset: 0 };
    if (!queue) {
      result.nextBeginOffset = offset === 0 ? 0 : 0;
      result.status = GetStatus.NO_MATCHED_LOGIC_QUEUE;
      return result;
    }
    const minOffset = queue.minOffset;
    const maxOffset = queue.maxOffset;
    result.minOffset = minOffset;
    result.maxOffset = maxOffset;
    if (maxOffset === 0) {
      result.status = GetStatus.NO_MESSAGE_IN_QUEUE;
      result.nextBeginOffset = 0;
    } else if (offset < minOffset) {
      result.status = GetStatus.OFFSET_TOO_SMALL;
      result.nextBeginOffset = minOffset;
    } else if (offset === maxOffset) {
      result.status = GetStatus.OFFSET_OVERFLOW_ONE;
      result.nextBeginOffset = offset;
    } else if (offset > maxOffset) {
      result.status = GetStatus.OFFSET_OVERFLOW_BADLY;
      result.nextBeginOffset = maxOffset;
    } else {
      result.status = GetStatus.NO_MATCHED_MESSAGE;
      const scanMax = Math.max(16000 / 20, maxCount);
      let next = offset;
      for (let scanned = 0; next < maxOffset && scanned < scanMax && result.records.length < maxCount; scanned++, next++) {
        if (!queue.get(next, this.entry) || this.entry.size <= 0) continue;
        if (!accept(this.entry.tagsCode)) continue;
        if (result.records.length > 0 && result.recordBytes + this.entry.size > this.config.pullBytesMax) break;
        const record = this.commitLog.read(this.entry.commitLogOffset, this.entry.size);
        if (!record) continue;
        result.records.push(record);
        result.recordBytes += record.length;
      }
      result.nextBeginOffset = next;
      if (result.records.length > 0) result.status = GetStatus.FOUND;
    }
    return result;
  }

  topics(): string[] {
    return [...this.queues.keys()];
  }

  async shutdown(): Promise<void> {
    this.shutDown = true;
    if (this.flushTimer) clearInterval(this.flushTimer);
    await this.flushAll();
    for (const waiter of this.flushWaiters.splice(0)) waiter.resolve(this.commitLog.flushedOffset >= waiter.offset);
    this.commitLog.close();
    for (const byId of this.queues.values()) for (const queue of byId.values()) queue.close();
  }
}
