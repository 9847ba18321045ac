/**
 * MessageStore (src/store/message_store.ts): the commit log, the consume queues and their files
 * under one data directory, with flushing and recovery.
 *
 *   <dataDir>/commitlog/<20-digit offset>            commit-log files
 *   <dataDir>/consumequeue/<topic>/<queueId>/<...>   consume-queue files
 *   <dataDir>/index/<yyyyMMddHHmmssSSS>              index files (keys → commit-log offsets)
 *   <dataDir>/checkpoint                             how far everything was flushed (checkpoint.ts)
 *   <dataDir>/abort, <dataDir>/lock                  crash marker, one broker per dir (data_dir_lock.ts)
 *
 * Guarantees: put() appends and dispatches (consume-queue entry, arrival listeners) before it
 * returns, so a pull that starts after a put's answer sees the message. Under SYNC flush, put()
 * resolves only after an fdatasync covering the record, shared by every put waiting at the time
 * (group commit); under ASYNC flush it resolves at once and a timer flushes every flushIntervalMs.
 * Every flush of everything (the timer, shutdown) ends by writing the checkpoint.
 * Recovery (load): after a clean shutdown (no abort marker) only the last commit-log file is
 * walked and only records past the consume queues' end are dispatched. After a crash the walk
 * starts at the checkpoint and every record from there is re-dispatched (consume queue and
 * index, both idempotent). Either way the log ends at its first bad record and consume-queue
 * entries past it are dropped, so restart time depends on segment size and on what was written
 * since the last checkpoint, not on the data kept.
 */
import { existsSync, mkdirSync, readdirSync, statfsSync } from "node:fs";
import { join } from "node:path";
import { assert } from "../assert.ts";
import type { Io } from "../io/io.ts";
import { logScoped } from "../log.ts";
import { propertiesBytesMax, Property, tagsCodeOf } from "../protocol/message_properties.ts";
import {
  checkRecord,
  dataViewOf,
  decodeRecord,
  readU64,
  recordSizes,
  SysFlag,
  topicBytesMax,
  transactionType,
  type MessageToStore,
} from "../protocol/message_record.ts";
import { CommitLog, asyncCommitMapBytesMax, blankMarkerBytes } from "./commit_log.ts";
import { StoreCheckpoint } from "./checkpoint.ts";
import { DataDirLock } from "./data_dir_lock.ts";
import type { FileMapper } from "./file_mapper.ts";
import { indexEntriesMaxDefault, indexHashSlotsDefault } from "./index_file.ts";
import { IndexService } from "./index_service.ts";
import { ConsumeQueue, type CqEntry } from "./consume_queue.ts";
import { GetStatus, PutStatus } from "./put_status.ts";

const log = logScoped("store");
const textDecoder = new TextDecoder();

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
  /** Told how long each commit-log flush (fdatasync) took, in ms: for metrics. */
  onCommitLogFlushMs?: (ms: number) => void;
  /** Index file geometry (RocketMQ: 5,000,000 slots, 20,000,000 entries, 420 MB sparse). */
  indexHashSlots?: number;
  indexEntriesMax?: number;
  /**
   * Retention, as RocketMQ's CleanCommitLogService: every cleanIntervalMs, when the hour is in
   * deleteWhen ("04", or "01;04"), or the disk is diskCleanRatio full, commit-log files older than
   * fileReservedMs are deleted (never the active one); past diskCleanForciblyRatio the oldest go
   * even if young. Consume-queue and index files follow. Defaults: 10 s, "04", 72 h, 0.75, 0.85.
   */
  cleanIntervalMs?: number;
  deleteWhen?: string;
  fileReservedMs?: number;
  diskCleanRatio?: number;
  diskCleanForciblyRatio?: number;
  /** At this share of the disk used, puts fail with SERVICE_NOT_AVAILABLE (reads go on). Default 0.90. */
  diskFullRatio?: number;
  /** How full the disk holding `path` is, 0..1. Default: statfs, RocketMQ's (total − free) / total. Tests inject it. */
  diskUsedRatio?: (path: string) => number;
  /**
   * Commit-log appends are staged and reach the file in runs, one pwrite each, instead of being
   * encoded into the mapping (CommitLog's `staged`). Default on; the broker then calls
   * commitAppends() before any answer leaves.
   */
  commitLogStaged?: boolean;
  /** Where file bytes come from (file_mapper.ts): the disk by default; the power-cut simulation injects its own. */
  fileMapper?: FileMapper;
}

export const cleanIntervalMsDefault = 10_000;
/** Retention pass, disk past diskCleanForciblyRatio: at most this many commit-log files (RocketMQ deletes up to 10). */
export const forcedDeleteFilesPerPassMax = 10;
/** Retention pass, files past fileReservedTime: at most this many commit-log files. */
export const expiredDeleteFilesPerPassMax = 64;
export const fileReservedMsDefault = 72 * 3600 * 1000;
export const diskFullCheckIntervalMs = 1000;

function statfsUsedRatio(path: string): number {
  const stats = statfsSync(path);
  return stats.blocks > 0 ? (stats.blocks - stats.bfree) / stats.blocks : 0;
}

/** What one retention pass deleted. */
export interface CleanResult {
  commitLogFiles: number;
  consumeQueueFiles: number;
  indexFiles: number;
}

/** QUERY_MESSAGE's answer: matching records (newest first) and how far the index was built. */
export interface QueryResult {
  records: Uint8Array[];
  indexLastUpdateTimestamp: number;
  indexLastUpdatePhyOffset: number;
}

/** Value of property `name` in an encoded properties string, without decoding the rest. */
export function propertyValue(properties: string, name: string): string | undefined {
  let from = 0;
  for (;;) {
    const at = properties.indexOf(`${name}\u0001`, from);
    if (at < 0) return undefined;
    if (at === 0 || properties.charCodeAt(at - 1) === 2) {
      const valueAt = at + name.length + 1;
      const end = properties.indexOf("\u0002", valueAt);
      return properties.slice(valueAt, end < 0 ? properties.length : end);
    }
    from = at + 1;
  }
}

/**
 * Value of the last property `name` in an encoded properties string, as decodeProperties(...).get
 * gives it (a repeated name keeps its last value), without decoding the rest.
 */
export function lastPropertyValue(properties: string, name: string): string | undefined {
  const needle = `${name}\u0001`;
  for (let from = properties.length; from >= 0; ) {
    const at = properties.lastIndexOf(needle, from);
    if (at < 0) return undefined;
    if (at === 0 || properties.charCodeAt(at - 1) === 2) {
      const valueAt = at + needle.length;
      const end = properties.indexOf("\u0002", valueAt);
      return properties.slice(valueAt, end < 0 ? properties.length : end);
    }
    from = at - 1;
  }
  return undefined;
}

/** The keys RocketMQ indexes for a message: UNIQ_KEY, then each space-separated KEYS token. */
export function indexKeysOf(properties: string): string[] {
  const keys: string[] = [];
  const unique = propertyValue(properties, Property.UNIQ_KEY);
  if (unique) keys.push(unique);
  const listed = propertyValue(properties, Property.KEYS);
  if (listed) for (const key of listed.split(" ")) if (key.length > 0) keys.push(key);
  return keys;
}

export interface PutResult {
  status: PutStatus;
  physicalOffset: number;
  queueOffset: number;
  size: number;
}

export interface GetResult {
  status: GetStatus;
  /** The records found: views into the commit log; empty when get() filled a RecordSpans instead. */
  records: Uint8Array[];
  recordCount: number;
  recordBytes: number;
  nextBeginOffset: number;
  minOffset: number;
  maxOffset: number;
}

/**
 * Where get() found its records, by segment and position rather than as a view each (the pull path
 * copies them straight into its answer, and a view per record costs as much as the copy). Reused
 * from call to call: entries [0, count) are valid until the next get() into it.
 */
export class RecordSpans {
  count = 0;
  readonly segments: Uint8Array[] = [];
  readonly positions: number[] = [];
  readonly sizes: number[] = [];
  /** Commit-log offset of the last record (the pull path's slaveReadEnable check). */
  lastPhysicalOffset = -1;

  clear(): void {
    this.count = 0;
    this.segments.length = 0; // no segment (a deleted file's mapping) stays referenced from here
    this.lastPhysicalOffset = -1;
  }

  push(segment: Uint8Array, position: number, size: number, physicalOffset: number): void {
    this.segments[this.count] = segment;
    this.positions[this.count] = position;
    this.sizes[this.count] = size;
    this.count++;
    this.lastPhysicalOffset = physicalOffset;
  }
}

/** Called after a message lands in a consume queue: wakes long-polling pulls. */
export type ArrivalListener = (topic: string, queueId: number, maxOffset: number, tagsCode: number) => void;

function refused(status: PutStatus): PutResult {
  return { status, physicalOffset: -1, queueOffset: -1, size: 0 };
}

interface FlushWaiter {
  offset: number;
  deadlineMs: number;
  resolve(ok: boolean): void;
}

export class MessageStore {
  readonly commitLog: CommitLog;
  private readonly queues = new Map<string, Map<number, ConsumeQueue>>();
  private readonly arrivalListeners: ArrivalListener[] = [];
  private readonly appendListeners: Array<(maxOffset: number) => void> = [];
  /**
   * A slave's store: put() refuses (SERVICE_NOT_AVAILABLE) and the commit log grows only through
   * appendReplicated(). Set before load().
   */
  replica = false;
  /** Replica reput cursor: records below it were dispatched (consume queue, index, arrivals). */
  private replicaDispatchedOffset = 0;
  private readonly flushWaiters: FlushWaiter[] = [];
  private flushing = false;
  private flushTimer: ReturnType<typeof setInterval> | null = null;
  private readonly entry: CqEntry = { commitLogOffset: 0, size: 0, tagsCode: 0 };
  private shutDown = false;
  readonly index: IndexService;
  private readonly checkpoint: StoreCheckpoint;
  private readonly lock: DataDirLock;
  /** Store time of the newest record appended (or re-dispatched): what the next checkpoint covers. */
  private lastStoreTimestamp = 0;
  private checkpointedOffset = -1;
  /** Set while the disk is over diskFullRatio or a write failed for space: puts are refused. */
  diskFull = false;
  /**
   * Set when a commit-log fdatasync failed: the kernel may have dropped the dirty pages, so a later
   * successful fdatasync would prove nothing (the "fsyncgate" lesson). Every waiting put is failed,
   * and puts are refused until a restart re-reads the log from disk.
   */
  writeFailed: string | null = null;
  private halted = false;
  private readonly timers: Array<ReturnType<typeof setInterval>> = [];
  /** What load() did: crashed = the abort marker was there; the walk and the re-dispatch started at scanFrom/dispatchFrom. */
  recovery = { crashed: false, scanFrom: 0, dispatchFrom: 0, redispatched: 0, maxOffset: 0, ms: 0 };

  constructor(
    readonly config: StoreConfig,
    private readonly io: Io,
  ) {
    assert(config.commitLogFileBytes >= config.messageBodyBytesMax + 64 * 1024 + blankMarkerBytes, "commit-log files must hold the largest message");
    this.commitLog = new CommitLog(join(config.dataDir, "commitlog"), config.commitLogFileBytes, config.fileMapper, config.commitLogStaged ?? true, config.flush === "async" ? asyncCommitMapBytesMax : 0);
    this.index = new IndexService(
      join(config.dataDir, "index"), config.indexHashSlots ?? indexHashSlotsDefault, config.indexEntriesMax ?? indexEntriesMaxDefault,
      () => io.clock.realtimeMs(), config.fileMapper,
    );
    this.checkpoint = new StoreCheckpoint(join(config.dataDir, "checkpoint"));
    this.lock = new DataDirLock(config.dataDir);
  }

  onArrival(listener: ArrivalListener): void {
    this.arrivalListeners.push(listener);
  }

  /** Called after each put appended to the commit log, with its new end (replication wakes on it). */
  onCommitLogAppend(listener: (maxOffset: number) => void): void {
    this.appendListeners.push(listener);
  }

  /** Opens the files and recovers (see the class comment). */
  load(): void {
    mkdirSync(this.config.dataDir, { recursive: true });
    this.lock.acquire(); // throws DataDirLockedError if another broker has the dir
    this.checkpoint.load();
    const crashed = this.lock.crashedBefore;
    const startedMs = this.io.clock.monotonicMs();
    const scanFrom = this.commitLog.load(crashed ? this.checkpoint.minTimestamp() : null);
    const end = this.commitLog.maxOffset;
    const cqRoot = join(this.config.dataDir, "consumequeue");
    if (existsSync(cqRoot)) {
      for (const topic of readdirSync(cqRoot)) {
        for (const queueName of readdirSync(join(cqRoot, topic))) {
          if (!/^\d+$/.test(queueName)) continue;
          const queue = this.queue(topic, Number(queueName));
          if (crashed) {
            // Entries written after the last flush may be lost or torn (a 20-byte entry can
            // straddle two sectors): keep only the prefix that verifies against records below
            // the walk's start, and let the re-dispatch below rebuild the rest from the log.
            queue.truncateTo(this.firstEntryNotBelow(queue, scanFrom));
          } else {
            // Entries pointing past the end of the commit log were never (fully) stored.
            while (queue.maxOffset > queue.minOffset && queue.lastEntryEnd() > end) queue.truncateTo(queue.maxOffset - 1);
          }
        }
      }
    }
    this.index.load(end);
    // After a clean shutdown everything up to the checkpoint was dispatched and flushed; only
    // records past the consume queues' end (say, queues deleted by hand) need dispatching.
    let dispatchFrom = scanFrom;
    if (!crashed) {
      let queuesEnd = 0;
      for (const byId of this.queues.values()) for (const queue of byId.values()) queuesEnd = Math.max(queuesEnd, queue.lastEntryEnd());
      dispatchFrom = Math.max(scanFrom, Math.min(queuesEnd, this.checkpoint.physicOffset, end));
    }
    let redispatched = 0;
    this.commitLog.scan(dispatchFrom, (bytes, at) => {
      if (this.dispatch(bytes, at)) redispatched++;
    });
    this.recovery = { crashed, scanFrom, dispatchFrom, redispatched, maxOffset: end, ms: Math.round(this.io.clock.monotonicMs() - startedMs) };
    log.info("store.recovered", { ...this.recovery });
    for (const byId of this.queues.values()) for (const queue of byId.values()) queue.correctMinOffset(this.commitLog.minOffset);
    this.replicaDispatchedOffset = end;
    this.flushTimer = setInterval(() => void this.flushAll(), this.config.flushIntervalMs);
    this.checkDisk();
    this.timers.push(setInterval(() => {
      // Past the forced-cleaning ratio, retention runs at once rather than at its next pass: at
      // tens of MiB/s the disk crosses from 85 % to the 90 % that refuses sends within seconds.
      if (this.checkDisk() >= (this.config.diskCleanForciblyRatio ?? 0.85)) this.clean(this.io.clock.realtimeMs(), false);
    }, diskFullCheckIntervalMs));
    this.timers.push(setInterval(() => this.clean(this.io.clock.realtimeMs(), false), this.config.cleanIntervalMs ?? cleanIntervalMsDefault));
  }

  /**
   * The first queue offset whose entry does not verify against a record stored below `below`.
   * Entries of records below the checkpoint were flushed before it was written, so "verifies and
   * lies below" holds for a prefix of the queue and for nothing after it (the correct record of
   * any later entry lies at or past `below`, and a torn entry can only verify by naming exactly
   * that record): a binary search finds the end of the prefix in O(log n) record reads.
   */
  private firstEntryNotBelow(queue: ConsumeQueue, below: number): number {
    const entry: CqEntry = { commitLogOffset: 0, size: 0, tagsCode: 0 };
    const verifies = (offset: number): boolean => {
      if (!queue.get(offset, entry) || entry.size <= 0 || entry.commitLogOffset + entry.size > below) return false;
      const record = this.recordAtPhysical(entry.commitLogOffset);
      if (!record || record.length !== entry.size) return false;
      const decoded = decodeRecord(record);
      return decoded.topic === queue.topic && decoded.queueId === queue.queueId && decoded.queueOffset === offset;
    };
    let low = queue.minOffset; // every offset below `low` verifies
    let high = queue.maxOffset; // no offset at or past `high` does
    while (low < high) {
      const middle = low + Math.floor((high - low) / 2);
      if (verifies(middle)) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  /**
   * A slave: appends bytes the master streamed (see CommitLog.appendRaw), then dispatches every
   * record now complete — consume queues, index, long-polling pulls — as the put path does.
   * Returns false, changing nothing, when `offset` is not this log's end.
   */
  appendReplicated(offset: number, bytes: Uint8Array): boolean {
    assert(this.replica, "appendReplicated on a master's store");
    if (this.shutDown) return false;
    const empty = this.commitLog.maxOffset === 0 && this.commitLog.minOffset === 0;
    if (!this.commitLog.appendRaw(offset, bytes)) return false;
    if (empty) this.replicaDispatchedOffset = offset;
    this.dispatchReplicated();
    return true;
  }

  /** The replica's reput walk: from the cursor to the last complete record. */
  private dispatchReplicated(): void {
    const end = this.commitLog.maxOffset;
    while (this.replicaDispatchedOffset < end) {
      const file = this.commitLog.fileHolding(this.replicaDispatchedOffset);
      if (!file) break;
      const at = this.replicaDispatchedOffset - file.fromOffset;
      const size = checkRecord(file.bytes, at, file.wrotePosition, false);
      if (size === 0) {
        // Blank marker: the rest of this file is padding; go on once the next file has begun.
        if (end <= file.endOffset) break;
        this.replicaDispatchedOffset = file.endOffset;
        continue;
      }
      if (size < 0) break; // not complete yet: the rest comes in the next frame
      this.dispatch(file.bytes, at, true);
      this.replicaDispatchedOffset += size;
    }
  }

  /** Builds the consume-queue entry for the record at bytes[at]. Returns whether it wrote one. */
  private dispatch(bytes: Uint8Array, at: number, notify = false): boolean {
    const view = dataViewOf(bytes);
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
    const topic = textDecoder.decode(bytes.subarray(topicAt + 1, topicAt + 1 + topicBytes));
    const storeTimestamp = readU64(view, at + 48 + bornHostBytes);
    this.lastStoreTimestamp = Math.max(this.lastStoreTimestamp, storeTimestamp);
    const propsAt = topicAt + 1 + topicBytes;
    const propsBytes = view.getInt16(propsAt);
    const propertiesText = textDecoder.decode(bytes.subarray(propsAt + 2, propsAt + 2 + propsBytes));
    const tagsCode =
      this.config.tagsCodeFor?.(topic, propertiesText, storeTimestamp) ?? tagsCodeOf(lastPropertyValue(propertiesText, Property.TAGS));
    // (build() skips records below indexedBelow: not splitting out their keys saves the most.)
    if (physicalOffset >= this.index.indexedBelow) this.index.build(topic, indexKeysOf(propertiesText), physicalOffset, storeTimestamp);
    const queue = this.queue(topic, queueId);
    const wrote = queue.put(queueOffset, physicalOffset, size, tagsCode);
    if (wrote && notify) for (const listener of this.arrivalListeners) listener(topic, queueId, queue.maxOffset, tagsCode);
    return wrote;
  }

  queue(topic: string, queueId: number): ConsumeQueue {
    let byId = this.queues.get(topic);
    if (!byId) {
      byId = new Map();
      this.queues.set(topic, byId);
    }
    let queue = byId.get(queueId);
    if (!queue) {
      const dir = join(this.config.dataDir, "consumequeue", topic, String(queueId));
      queue = new ConsumeQueue(topic, queueId, dir, this.config.consumeQueueEntriesPerFile, this.config.fileMapper);
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
   * before this returns (unless it is a prepared or rolled-back transaction record). Under SYNC
   * flush with `waitStoreMsgOk` it resolves once an fdatasync covers the record (FLUSH_DISK_TIMEOUT
   * past syncFlushTimeoutMs).
   */
  async put(message: MessageToStore, waitStoreMsgOk = true): Promise<PutResult> {
    const result = this.putNow(message);
    if (result.status === PutStatus.OK && this.config.flush === "sync" && waitStoreMsgOk) {
      const flushed = await this.waitFlushedTo(result.physicalOffset + result.size);
      if (!flushed) result.status = PutStatus.FLUSH_DISK_TIMEOUT;
    }
    return result;
  }

  /**
   * put() without waiting for a flush, for the send path's synchronous answer: appended and
   * dispatched when it returns; the caller waits for waitFlushedTo() itself where SYNC flush asks.
   */
  putNow(message: MessageToStore): PutResult {
    if (this.shutDown || this.replica) return refused(PutStatus.SERVICE_NOT_AVAILABLE);
    if (this.diskFull || this.writeFailed) return refused(PutStatus.SERVICE_NOT_AVAILABLE); // refusalReason() says why
    // Recovery finds records cut short by their properties' final separator (recordTailIntact).
    if (message.properties.length > 0 && !message.properties.endsWith("\u0002")) message = { ...message, properties: `${message.properties}\u0002` };
    if (message.body.length > this.config.messageBodyBytesMax) return refused(PutStatus.MESSAGE_ILLEGAL);
    const sizes = recordSizes(message);
    if (sizes.properties.length > propertiesBytesMax) return refused(PutStatus.PROPERTIES_SIZE_EXCEEDED);
    if (sizes.topic.length > topicBytesMax) return refused(PutStatus.MESSAGE_ILLEGAL);
    const type = transactionType(message.sysFlag);
    const inQueue = type !== SysFlag.TRANSACTION_PREPARED && type !== SysFlag.TRANSACTION_ROLLBACK;
    const queue = this.queue(message.topic, message.queueId);
    const queueOffset = inQueue ? queue.maxOffset : 0;
    const storeTimestamp = this.io.clock.realtimeMs();
    let appended: { physicalOffset: number; size: number };
    try {
      if (inQueue) queue.prepare(queueOffset);
      appended = this.commitLog.append(message, sizes, queueOffset, storeTimestamp);
    } catch (error) {
      // A new segment could not be created or mapped (ENOSPC, EIO, …): refuse, keep serving reads.
      if ((error as NodeJS.ErrnoException).code === "ENOSPC") this.diskFull = true;
      log.warnEvery(10_000, "commit_log.append_failed", { error: String(error) });
      return refused(PutStatus.SERVICE_NOT_AVAILABLE);
    }
    this.lastStoreTimestamp = Math.max(this.lastStoreTimestamp, storeTimestamp);
    for (const listener of this.appendListeners) listener(this.commitLog.maxOffset);
    if (inQueue) {
      const tagsCode = this.config.tagsCodeFor?.(message.topic, message.properties, storeTimestamp) ?? message.tagsCode;
      queue.put(queueOffset, appended.physicalOffset, appended.size, tagsCode);
      if (message.properties.includes("KEYS\u0001") || message.properties.includes("UNIQ_KEY\u0001")) {
        try {
          this.index.build(message.topic, indexKeysOf(message.properties), appended.physicalOffset, storeTimestamp);
        } catch (error) {
          // The message is stored and queued: a missing index entry only hides it from QUERY_MESSAGE.
          log.warnEvery(10_000, "index.build_failed", { error: String(error) });
        }
      }
      for (const listener of this.arrivalListeners) listener(message.topic, message.queueId, queue.maxOffset, tagsCode);
    }
    return { status: PutStatus.OK, physicalOffset: appended.physicalOffset, queueOffset, size: appended.size };
  }

  /**
   * Writes staged appends to the commit log's file (CommitLog.commitStaged): the broker calls it
   * before it lets any answer leave, so that what it acknowledges survives the process. False if
   * the write failed: then puts are refused from now on (refusalReason says why) and the caller
   * must not send the answers it holds.
   */
  commitAppends(): boolean {
    try {
      this.commitLog.commitStaged();
      return true;
    } catch (error) {
      if (!this.writeFailed) {
        this.writeFailed = String(error);
        log.error("commit_log.write_failed", { error: this.writeFailed });
      }
      return false;
    }
  }

  /**
   * Group commit: resolves true once an fdatasync covers `offset`, false after the timeout.
   * With no flush running, the first waiter starts one at the end of the current task (a
   * microtask), not at once: the sends decoded from the same socket read are appended first and
   * share it. Started at once, it covered the first send of each read alone, and the rest of the
   * read waited for the next fdatasync — 45 % of all flushes served one send (2 clients × 128
   * in flight, SYNC_FLUSH, 1 KiB).
   */
  waitFlushedTo(offset: number): Promise<boolean> {
    if (this.commitLog.flushedOffset >= offset) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.flushWaiters.push({ offset, deadlineMs: this.io.clock.monotonicMs() + this.config.syncFlushTimeoutMs, resolve });
      if (!this.flushing) {
        this.flushing = true;
        queueMicrotask(this.groupCommit);
      }
    });
  }

  /** Flushes while puts wait for one; `flushing` is set by the caller and cleared when none waits. */
  private readonly groupCommit = async (): Promise<void> => {
    try {
      while (this.flushWaiters.length > 0 && !this.shutDown) {
        let flushed: number;
        try {
          flushed = await this.flushCommitLog();
        } catch (error) {
          this.writeFailed = String(error);
          log.error("commit_log.flush_failed", { error: this.writeFailed });
          for (const waiter of this.flushWaiters.splice(0)) waiter.resolve(false);
          return;
        }
        const now = this.io.clock.monotonicMs();
        let kept = 0;
        for (const waiter of this.flushWaiters) {
          if (waiter.offset <= flushed) waiter.resolve(true);
          else if (now > waiter.deadlineMs) waiter.resolve(false);
          else this.flushWaiters[kept++] = waiter;
        }
        this.flushWaiters.length = kept;
        // Sends that arrived during that fdatasync share the next one, at once.
      }
    } finally {
      this.flushing = false;
    }
  };

  /** One commit-log flush, timed for onCommitLogFlushMs. Resolves with the flushed offset. */
  private async flushCommitLog(): Promise<number> {
    const startedMs = this.io.clock.monotonicMs();
    const flushed = await this.commitLog.flush();
    this.config.onCommitLogFlushMs?.(this.io.clock.monotonicMs() - startedMs);
    return flushed;
  }

  /**
   * Flushes the commit log, every consume queue and the index, then writes the checkpoint (the
   * async flush timer, and shutdown). Returns false if a flush failed (no checkpoint then).
   */
  async flushAll(): Promise<boolean> {
    const timestamp = this.lastStoreTimestamp;
    const end = this.commitLog.maxOffset;
    try {
      await this.flushCommitLog();
      const flushes: Promise<void>[] = [this.index.flush()];
      for (const byId of this.queues.values()) for (const queue of byId.values()) flushes.push(queue.flush());
      await Promise.all(flushes);
      if (this.halted) return false; // the process "died" meanwhile: a dead process writes nothing
      if (end !== this.checkpointedOffset) {
        await this.checkpoint.write(timestamp, end);
        this.checkpointedOffset = end;
      }
      return true;
    } catch (error) {
      log.error("store.flush_failed", { error: String(error) });
      return false;
    }
  }

  /**
   * QUERY_MESSAGE: records of `topic` whose UNIQ_KEY or one of whose KEYS is `key`, stored within
   * [beginMs, endMs], newest first, at most maxNum. Each index hit is checked against the record.
   */
  queryMessage(topic: string, key: string, maxNum: number, beginMs: number, endMs: number): QueryResult {
    const result: QueryResult = {
      records: [], indexLastUpdateTimestamp: this.index.lastUpdateTimestamp, indexLastUpdatePhyOffset: this.index.lastUpdatePhyOffset,
    };
    for (const offset of this.index.query(topic, key, maxNum * 2, beginMs, endMs)) {
      if (result.records.length >= maxNum) break;
      const record = this.recordAtPhysical(offset);
      if (!record) continue;
      const decoded = decodeRecord(record);
      if (decoded.topic !== topic || decoded.storeTimestamp < beginMs || decoded.storeTimestamp > endMs) continue;
      if (!indexKeysOf(decoded.properties).includes(key)) continue;
      result.records.push(record);
    }
    return result;
  }

  /** The whole valid record starting at commit-log `offset`, or null. */
  recordAtPhysical(offset: number): Uint8Array | null {
    if (offset < this.commitLog.minOffset || offset >= this.commitLog.maxOffset) return null;
    const head = this.commitLog.read(offset, 8);
    if (!head) return null;
    const size = new DataView(head.buffer, head.byteOffset, 8).getInt32(0);
    const record = size > 0 ? this.commitLog.read(offset, size) : null;
    if (!record || checkRecord(record, 0, record.length, false) !== size) return null;
    return record;
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
  get(topic: string, queueId: number, offset: number, maxCount: number, accept: (tagsCode: number) => boolean, spans: RecordSpans | null = null): GetResult {
    const queue = this.findQueue(topic, queueId);
    const result: GetResult = { status: GetStatus.NO_MATCHED_LOGIC_QUEUE, records: [], recordCount: 0, recordBytes: 0, nextBeginOffset: 0, minOffset: 0, maxOffset: 0 };
    spans?.clear();
    if (!queue) return result; // no such queue: nextBeginOffset 0, the pull path answers per offset
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
      for (let scanned = 0; next < maxOffset && scanned < scanMax && result.recordCount < maxCount; scanned++, next++) {
        if (!queue.get(next, this.entry) || this.entry.size <= 0) continue;
        if (!accept(this.entry.tagsCode)) continue;
        if (result.recordCount > 0 && result.recordBytes + this.entry.size > this.config.pullBytesMax) break;
        if (spans === null) {
          const record = this.commitLog.read(this.entry.commitLogOffset, this.entry.size);
          if (!record) continue;
          result.records.push(record);
        } else {
          // The same checks as CommitLog.read, without making the view.
          const file = this.commitLog.fileHolding(this.entry.commitLogOffset);
          if (!file) continue;
          const position = this.entry.commitLogOffset - file.fromOffset;
          if (position + this.entry.size > file.wrotePosition) continue;
          spans.push(file.bytes, position, this.entry.size, this.entry.commitLogOffset);
        }
        result.recordCount++;
        result.recordBytes += this.entry.size;
      }
      result.nextBeginOffset = next;
      if (result.recordCount > 0) result.status = GetStatus.FOUND;
    }
    return result;
  }

  /** Why puts are refused, for the send's remark; null when they are not. */
  refusalReason(): string | null {
    if (this.writeFailed) return `the commit log could not be written or synced to disk (${this.writeFailed}); check the disk and restart the broker`;
    if (this.diskFull) return "the disk is full: sends are refused until retention or an operator frees space";
    if (this.shutDown) return "the store is shutting down";
    return null;
  }

  /** Samples disk usage; sets or clears diskFull (a full disk frees up through retention). */
  checkDisk(): number {
    let ratio = 0;
    try {
      ratio = (this.config.diskUsedRatio ?? statfsUsedRatio)(this.config.dataDir);
    } catch (error) {
      log.warnEvery(60_000, "store.statfs_failed", { error: String(error) });
      return 0;
    }
    const full = ratio >= (this.config.diskFullRatio ?? 0.9);
    if (full !== this.diskFull) {
      if (full) log.error("store.disk_full", { usedRatio: ratio });
      else log.info("store.disk_ok", { usedRatio: ratio });
    }
    this.diskFull = full;
    return ratio;
  }

  /** One retention pass (see StoreConfig.cleanIntervalMs). `manual`: as if deleteWhen matched now. */
  clean(nowMs: number, manual: boolean): CleanResult {
    const result: CleanResult = { commitLogFiles: 0, consumeQueueFiles: 0, indexFiles: 0 };
    if (this.shutDown) return result;
    const ratio = this.checkDisk();
    const hour = String(new Date(nowMs).getHours()).padStart(2, "0");
    const hourMatches = (this.config.deleteWhen ?? "04").split(";").some((when) => when.trim() === hour);
    const pressed = ratio >= (this.config.diskCleanRatio ?? 0.75);
    if (!manual && !hourMatches && !pressed) return result;
    const forcedRatio = this.config.diskCleanForciblyRatio ?? 0.85;
    const forced = ratio >= forcedRatio;
    if (forced) {
      // Oldest first, whatever their age, one at a time until the disk is below the forced ratio
      // again (a deleted file's space comes back at once: MappedRegion.discard).
      let usedRatio = ratio;
      while (usedRatio >= forcedRatio && result.commitLogFiles < forcedDeleteFilesPerPassMax) {
        if (this.commitLog.deleteExpired(nowMs, 0, true, 1) === 0) break;
        result.commitLogFiles++;
        usedRatio = this.checkDisk();
      }
    } else {
      result.commitLogFiles = this.commitLog.deleteExpired(nowMs, this.config.fileReservedMs ?? fileReservedMsDefault, false, expiredDeleteFilesPerPassMax);
    }
    if (result.commitLogFiles === 0) return result;
    const minOffset = this.commitLog.minOffset;
    for (const byId of this.queues.values()) for (const queue of byId.values()) result.consumeQueueFiles += queue.deleteBelow(minOffset);
    result.indexFiles = this.index.deleteBelow(minOffset);
    log.info("store.cleaned", { ...result, commitLogMinOffset: minOffset, usedRatio: ratio, forced });
    return result;
  }

  topics(): string[] {
    return [...this.queues.keys()];
  }

  async shutdown(): Promise<void> {
    this.shutDown = true;
    if (this.flushTimer) clearInterval(this.flushTimer);
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    const flushed = await this.flushAll();
    for (const waiter of this.flushWaiters.splice(0)) waiter.resolve(this.commitLog.flushedOffset >= waiter.offset);
    this.commitLog.close();
    for (const byId of this.queues.values()) for (const queue of byId.values()) queue.close();
    this.index.close();
    this.checkpoint.close();
    this.lock.release(flushed); // a failed flush keeps the abort marker: the next start re-checks
  }

  /**
   * The process dies here (a crash point for simulations): timers stop and files close with
   * nothing flushed, no checkpoint written, waiting puts never answered, the abort marker kept.
   */
  halt(): void {
    this.halted = true;
    this.shutDown = true;
    if (this.flushTimer) clearInterval(this.flushTimer);
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    this.flushWaiters.length = 0;
    this.commitLog.close();
    for (const byId of this.queues.values()) for (const queue of byId.values()) queue.close();
    this.index.close();
    this.checkpoint.close();
    this.lock.release(false);
  }
}
