/**
 * IndexFile (src/store/index_file.ts): one hash index of message keys, RocketMQ's layout, so
 * QUERY_MESSAGE can find messages by KEYS and UNIQ_KEY. Preallocated (sparse) and memory-mapped;
 * named by its creation time, yyyyMMddHHmmssSSS.
 *
 *   header (40 bytes, big-endian)
 *    at  bytes  field
 *     0      8  beginTimestamp   store time of the first indexed message
 *     8      8  endTimestamp     store time of the last indexed message
 *    16      8  beginPhyOffset   commit-log offset of the first indexed message
 *    24      8  endPhyOffset     commit-log offset of the last indexed message
 *    32      4  hashSlotCount    slots that are not empty
 *    36      4  indexCount       entries used + 1: entry 0 is never used, so 0 means "none"
 *   then hashSlots × 4 bytes: slot = the newest entry number whose keyHash % hashSlots is the slot
 *   then entriesMax × 20 bytes, entry n at 40 + hashSlots × 4 + n × 20:
 *     0      4  keyHash          abs(Java String.hashCode("topic#key")), 0 if that overflows
 *     4      8  phyOffset        where the message starts in the commit log
 *    12      4  timeDiff         (storeTimestamp − beginTimestamp) / 1000, clamped to [0, 2^31 − 1]
 *    16      4  prevIndex        the previous entry of the same slot, 0 = end of chain
 *   --
 *   40 + hashSlots × 4 + entriesMax × 20 bytes (RocketMQ: 5,000,000 and 20,000,000 → 420,000,040)
 *
 * Guarantees: put() never overwrites an entry; a chain only points to older entries. The bytes
 * may be torn after an OS crash: query results are hints, and the store checks each record.
 * Requires: one writer (the dispatcher).
 */
import { diskMapper, type FileMapper } from "./file_mapper.ts";
import { MappedFile } from "./mapped_file.ts";
import { assert } from "../assert.ts";
import { javaHashCode } from "../protocol/message_properties.ts";
import { readU64, writeU64 } from "../protocol/message_record.ts";

export const indexHeaderBytes = 40;
export const indexBeginTimestampAt = 0;
export const indexEndTimestampAt = 8;
export const indexBeginPhyOffsetAt = 16;
export const indexEndPhyOffsetAt = 24;
export const indexHashSlotCountAt = 32;
export const indexIndexCountAt = 36;
export const indexSlotBytes = 4;
export const indexEntryBytes = 20;
export const indexEntryKeyHashAt = 0;
export const indexEntryPhyOffsetAt = 4;
export const indexEntryTimeDiffAt = 12;
export const indexEntryPrevIndexAt = 16;
export const indexHashSlotsDefault = 5_000_000;
export const indexEntriesMaxDefault = 20_000_000;
assert(indexIndexCountAt + 4 === indexHeaderBytes);
assert(indexEntryPrevIndexAt + 4 === indexEntryBytes);
assert(indexHeaderBytes + indexHashSlotsDefault * indexSlotBytes + indexEntriesMaxDefault * indexEntryBytes === 420_000_040);

export function indexFileBytes(hashSlots: number, entriesMax: number): number {
  return indexHeaderBytes + hashSlots * indexSlotBytes + entriesMax * indexEntryBytes;
}

/** RocketMQ's IndexService.buildKey and IndexFile.indexKeyHashMethod. */
export function indexKeyHash(topic: string, key: string): number {
  const hash = Math.abs(javaHashCode(`${topic}#${key}`));
  return hash > 0x7fffffff ? 0 : hash; // Java's Math.abs(Integer.MIN_VALUE) stays negative
}

export class IndexFile {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly file: MappedFile;
  private flushedCount = 0;

  constructor(
    readonly path: string,
    readonly hashSlots: number,
    readonly entriesMax: number,
    mapper: FileMapper = diskMapper,
  ) {
    assert(hashSlots > 0);
    assert(entriesMax > 1);
    const fileBytes = indexFileBytes(hashSlots, entriesMax);
    this.file = MappedFile.openPath(path, fileBytes, mapper);
    this.file.advise("append"); // slots and entries are written and read at hashed places: read-ahead only costs
    this.bytes = this.file.bytes;
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    if (this.indexCount === 0) this.view.setInt32(indexIndexCountAt, 1); // new file
    this.flushedCount = this.indexCount;
  }

  get beginTimestamp(): number {
    return readU64(this.view, indexBeginTimestampAt);
  }
  get endTimestamp(): number {
    return readU64(this.view, indexEndTimestampAt);
  }
  get beginPhyOffset(): number {
    return readU64(this.view, indexBeginPhyOffsetAt);
  }
  get endPhyOffset(): number {
    return readU64(this.view, indexEndPhyOffsetAt);
  }
  get hashSlotCount(): number {
    return this.view.getInt32(indexHashSlotCountAt);
  }
  get indexCount(): number {
    return this.view.getInt32(indexIndexCountAt);
  }
  get isFull(): boolean {
    return this.indexCount >= this.entriesMax;
  }
  get isEmpty(): boolean {
    return this.indexCount <= 1;
  }

  /** Adds one key. Returns false when the file is full (the caller rolls to a new file). */
  put(keyHash: number, phyOffset: number, storeTimestamp: number): boolean {
    assert(keyHash >= 0);
    assert(Number.isSafeInteger(phyOffset) && phyOffset >= 0);
    const count = this.indexCount;
    if (count >= this.entriesMax) return false;
    const slotAt = indexHeaderBytes + (keyHash % this.hashSlots) * indexSlotBytes;
    let previous = this.view.getInt32(slotAt);
    if (previous <= 0 || previous >= count) previous = 0; // torn or stale: end the chain here
    if (count === 1) {
      writeU64(this.view, indexBeginTimestampAt, storeTimestamp);
      writeU64(this.view, indexBeginPhyOffsetAt, phyOffset);
    }
    const timeDiff = Math.min(0x7fffffff, Math.max(0, Math.floor((storeTimestamp - this.beginTimestamp) / 1000)));
    const entryAt = this.entryAt(count);
    this.view.setInt32(entryAt + indexEntryKeyHashAt, keyHash);
    writeU64(this.view, entryAt + indexEntryPhyOffsetAt, phyOffset);
    this.view.setInt32(entryAt + indexEntryTimeDiffAt, timeDiff);
    this.view.setInt32(entryAt + indexEntryPrevIndexAt, previous);
    this.view.setInt32(slotAt, count);
    if (previous === 0) this.view.setInt32(indexHashSlotCountAt, this.hashSlotCount + 1);
    this.view.setInt32(indexIndexCountAt, count + 1);
    writeU64(this.view, indexEndTimestampAt, storeTimestamp);
    writeU64(this.view, indexEndPhyOffsetAt, phyOffset);
    return true;
  }

  /**
   * Appends to `out` the commit-log offsets of entries with `keyHash` stored within
   * [beginMs, endMs], newest first, until `out` holds maxNum.
   */
  select(keyHash: number, beginMs: number, endMs: number, maxNum: number, out: number[]): void {
    const count = this.indexCount;
    let entry = this.view.getInt32(indexHeaderBytes + (keyHash % this.hashSlots) * indexSlotBytes);
    const fileBegin = this.beginTimestamp;
    // A chain only points backwards, so it ends within `count` steps even if torn.
    for (let steps = 0; entry > 0 && entry < count && steps < count && out.length < maxNum; steps++) {
      const entryAt = this.entryAt(entry);
      const timeMs = fileBegin + this.view.getInt32(entryAt + indexEntryTimeDiffAt) * 1000;
      if (this.view.getInt32(entryAt + indexEntryKeyHashAt) === keyHash && timeMs >= beginMs - 999 && timeMs <= endMs) {
        out.push(readU64(this.view, entryAt + indexEntryPhyOffsetAt));
      }
      const previous = this.view.getInt32(entryAt + indexEntryPrevIndexAt);
      if (previous >= entry) break;
      entry = previous;
    }
  }

  /** Whether any entry may fall within [beginMs, endMs]. */
  overlaps(beginMs: number, endMs: number): boolean {
    return !this.isEmpty && this.beginTimestamp <= endMs && this.endTimestamp >= beginMs - 999;
  }

  private entryAt(entry: number): number {
    return indexHeaderBytes + this.hashSlots * indexSlotBytes + entry * indexEntryBytes;
  }

  flush(): Promise<void> {
    const count = this.indexCount;
    if (count === this.flushedCount) return Promise.resolve();
    return this.file.sync().then(() => {
      this.flushedCount = Math.max(this.flushedCount, count);
    });
  }

  close(): void {
    this.file.close();
  }

  destroy(): void {
    this.file.destroy();
  }
}
