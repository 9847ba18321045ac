/**
 * ConsumeQueue (src/store/consume_queue.ts): the index of one (topic, queueId). Entry n (the
 * message's logical queue offset) sits at byte n × 20 of a sequence of preallocated files of
 * `entriesPerFile` × 20 bytes, each named by the 20-digit byte offset of its first entry.
 *
 *   entry (20 bytes, big-endian)
 *   0   8   commitLogOffset
 *   8   4   size of the record in the commit log
 *   12  8   tagsCode (Java String.hashCode of TAGS, sign-extended; 0 = no tag)
 *
 * Guarantees: offsets are dense from minOffset to maxOffset − 1; put() at an offset already
 * written is ignored, so re-dispatch after a crash is idempotent. An all-zero entry (size 0) is
 * "not written"; recovery stops at the first one.
 */
import { mkdirSync, readdirSync } from "node:fs";
import { assert } from "../assert.ts";
import { logScoped } from "../log.ts";
import { dataViewOf, readU64, writeU64 } from "../protocol/message_record.ts";
import { diskMapper, type FileMapper } from "./file_mapper.ts";
import { MappedFile } from "./mapped_file.ts";

const log = logScoped("store");

export const cqEntryBytes = 20;

/** Reused result of get(): no allocation per entry read. */
export interface CqEntry {
  commitLogOffset: number;
  size: number;
  tagsCode: number;
}

export class ConsumeQueue {
  private readonly files: MappedFile[] = [];
  private readonly fileBytes: number;
  /** Entries ever written: the next logical offset. */
  maxOffset = 0;
  minOffset = 0;

  constructor(
    readonly topic: string,
    readonly queueId: number,
    private readonly dir: string,
    readonly entriesPerFile: number,
    private readonly mapper: FileMapper = diskMapper,
  ) {
    this.fileBytes = entriesPerFile * cqEntryBytes;
  }

  /** Opens existing files and finds the first unwritten entry. */
  load(): void {
    mkdirSync(this.dir, { recursive: true });
    const names = readdirSync(this.dir).filter((name) => /^\d{20}$/.test(name)).sort();
    for (const name of names) {
      const file = MappedFile.open(this.dir, Number(name), this.fileBytes, this.mapper);
      file.wrotePosition = file.flushedPosition = this.fileBytes;
      this.files.push(file);
    }
    if (this.files.length === 0) return;
    this.minOffset = this.files[0]!.fromOffset / cqEntryBytes;
    // Find the end: the last file holding a written entry, then its first unwritten slot.
    this.maxOffset = this.minOffset;
    for (let i = Math.max(0, this.files.length - 3); i < this.files.length; i++) {
      const file = this.files[i]!;
      const view = dataViewOf(file.bytes);
      let at = 0;
      while (at < this.fileBytes && view.getInt32(at + 8) > 0) at += cqEntryBytes;
      file.wrotePosition = file.flushedPosition = at;
      if (at > 0) this.maxOffset = (file.fromOffset + at) / cqEntryBytes;
      if (at < this.fileBytes) {
        file.advise("append", at);
        break;
      }
    }
    this.truncateTo(this.maxOffset);
  }

  /** Drops entries at and after logical `offset`. */
  truncateTo(offset: number): void {
    const byteOffset = offset * cqEntryBytes;
    while (this.files.length > 1 && this.files.at(-1)!.fromOffset > byteOffset) this.files.pop()!.destroy();
    const last = this.files.at(-1);
    if (last) {
      const position = Math.max(0, byteOffset - last.fromOffset);
      last.bytes.fill(0, position, Math.max(position, last.wrotePosition));
      last.wrotePosition = position;
      last.flushedPosition = Math.min(last.flushedPosition, position);
    }
    this.maxOffset = Math.max(offset, this.minOffset);
  }

  /** Writes entry `offset`. Below maxOffset: already there, ignored. Returns whether it wrote. */
  put(offset: number, commitLogOffset: number, size: number, tagsCode: number): boolean {
    if (offset < this.maxOffset) return false;
    assert(size > 0, "consume-queue entry needs a size");
    // Offsets follow each other; a record far ahead of the queue's end (a damaged queue-offset
    // field, which no checksum covers) would make every file up to it. Its entry is left out.
    if (this.files.length > 0 && offset > this.maxOffset + this.entriesPerFile) {
      log.error("consume_queue.offset_gap", { dir: this.dir, expected: this.maxOffset, got: offset, commitLogOffset });
      return false;
    }
    const byteOffset = offset * cqEntryBytes;
    const file = this.fileFor(byteOffset);
    const at = byteOffset - file.fromOffset;
    const view = dataViewOf(file.bytes);
    writeU64(view, at, commitLogOffset);
    view.setInt32(at + 8, size);
    writeU64(view, at + 12, tagsCode); // a tag hash (sign-extended) or, for delayed messages, a due time
    file.wrotePosition = at + cqEntryBytes;
    this.maxOffset = offset + 1;
    return true;
  }

  /** Creates the file entry `offset` will go in, if missing: a put calls it before appending to the commit log, so a file that cannot be created (ENOSPC) refuses the put before anything is stored. */
  prepare(offset: number): void {
    if (offset >= this.maxOffset) this.fileFor(offset * cqEntryBytes);
  }

  /** Reads entry `offset` into `into`; false if it is outside [minOffset, maxOffset). */
  get(offset: number, into: CqEntry): boolean {
    if (offset < this.minOffset || offset >= this.maxOffset) return false;
    const byteOffset = offset * cqEntryBytes;
    const first = this.files[0];
    if (!first) return false;
    const file = this.files[Math.floor((byteOffset - first.fromOffset) / this.fileBytes)];
    if (!file) return false;
    const at = byteOffset - file.fromOffset;
    const view = dataViewOf(file.bytes);
    into.commitLogOffset = readU64(view, at);
    into.size = view.getInt32(at + 8);
    into.tagsCode = readU64(view, at + 12);
    return true;
  }

  /** The commit-log offset stored in entry `offset`, whatever minOffset says; -1 if not in a file. */
  private commitLogOffsetOf(offset: number): number {
    const first = this.files[0];
    if (!first || offset >= this.maxOffset) return -1;
    const byteOffset = offset * cqEntryBytes;
    const file = this.files[Math.floor((byteOffset - first.fromOffset) / this.fileBytes)];
    if (!file || byteOffset < first.fromOffset) return -1;
    return readU64(dataViewOf(file.bytes), byteOffset - file.fromOffset);
  }

  /**
   * Retention: deletes whole files (never the last) whose entries all point below
   * `commitLogMinOffset`, then moves minOffset to the first entry at or above it (entries of a
   * queue point forward in the log, so a binary search finds it). Returns the files deleted.
   */
  deleteBelow(commitLogMinOffset: number): number {
    let deleted = 0;
    while (this.files.length > 1) {
      const first = this.files[0]!;
      const lastEntry = first.endOffset / cqEntryBytes - 1;
      if (this.commitLogOffsetOf(lastEntry) >= commitLogMinOffset) break;
      this.files.shift()!.destroy();
      deleted++;
    }
    const first = this.files[0];
    if (first) this.minOffset = Math.max(this.minOffset, first.fromOffset / cqEntryBytes);
    this.correctMinOffset(commitLogMinOffset);
    return deleted;
  }

  /** Moves minOffset past entries whose message lies below the commit log's min offset. */
  correctMinOffset(commitLogMinOffset: number): void {
    let low = this.minOffset;
    let high = this.maxOffset;
    while (low < high) {
      const middle = Math.floor((low + high) / 2);
      if (this.commitLogOffsetOf(middle) < commitLogMinOffset) low = middle + 1;
      else high = middle;
    }
    assert(low >= this.minOffset && low <= this.maxOffset);
    this.minOffset = low;
  }

  /** The commit-log end of the last entry: how far the commit log was dispatched into this queue. */
  lastEntryEnd(): number {
    const entry: CqEntry = { commitLogOffset: 0, size: 0, tagsCode: 0 };
    return this.get(this.maxOffset - 1, entry) ? entry.commitLogOffset + entry.size : 0;
  }

  private fileFor(byteOffset: number): MappedFile {
    let last = this.files.at(-1);
    if (!last) {
      const fromOffset = byteOffset - (byteOffset % this.fileBytes);
      last = MappedFile.open(this.dir, fromOffset, this.fileBytes, this.mapper);
      last.advise("append");
      this.files.push(last);
      this.minOffset = fromOffset / cqEntryBytes;
    }
    while (byteOffset >= last.endOffset) {
      last.wrotePosition = this.fileBytes;
      last.advise("read");
      last = MappedFile.open(this.dir, last.endOffset, this.fileBytes, this.mapper);
      last.advise("append");
      this.files.push(last);
    }
    return last;
  }

  async flush(): Promise<void> {
    await Promise.all(this.files.filter((file) => file.flushedPosition < file.wrotePosition).map((file) => file.flush()));
  }

  close(): void {
    for (const file of this.files) file.close();
  }
}
