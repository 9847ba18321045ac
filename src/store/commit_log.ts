/**
 * CommitLog (src/store/commit_log.ts): every message, appended to preallocated files of
 * `fileBytes` (RocketMQ's mappedFileSizeCommitLog), named by the absolute offset of their first byte.
 *
 * Guarantees: append() puts a record wholly in one file, encoded once — into the stage that
 * mirrors the file's tail (see `staged`), or straight into the mapping; if it does not fit, the
 * file's tail gets the 8-byte blank marker (int remaining, int 0xCBD43194) and the next file
 * begins. Bytes below `maxOffset` never change; staged bytes reach the file before any reader
 * gets at them and before commitStaged() returns; bytes below `flushedOffset` survive an OS
 * crash. Requires: one writer (the put path). Readers stay below `maxOffset`.
 * Recovery: walk records from the last file (clean restart) or from the checkpoint (after a
 * crash), checking magic, sizes, body CRC and the record's tail; the first bad record ends the
 * log and everything after it is dropped.
 */
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { assert } from "../assert.ts";
import { logScoped } from "../log.ts";
import { blankMagic, checkRecord, dataViewOf, readU64, registerLongLivedView, SysFlag, writeRecord, type MessageToStore, type RecordSizes } from "../protocol/message_record.ts";
import { diskMapper, type FileMapper } from "./file_mapper.ts";
import { MappedFile } from "./mapped_file.ts";

const log = logScoped("store");

/** The store time of a file's first record, or Infinity when no valid record starts the file. */
function firstStoreTimestamp(bytes: Uint8Array, fileBytes: number): number {
  if (checkRecord(bytes, 0, fileBytes, false) <= 0) return Number.POSITIVE_INFINITY;
  const view = dataViewOf(bytes);
  return readU64(view, 48 + (view.getInt32(36) & SysFlag.BORNHOST_V6 ? 20 : 8));
}

/**
 * checkRecord() checks sizes and the body CRC; a record cut short after its body (a torn write
 * leaves zeros) still passes those when only topic or property bytes are missing. Every stored
 * topic is non-empty with no zero byte, and non-empty properties end with the 0x02 separator
 * (the put path adds it when a client left it out), so this finds any cut after the body.
 */
export function recordTailIntact(bytes: Uint8Array, at: number, size: number): boolean {
  const view = dataViewOf(bytes);
  const sysFlag = view.getInt32(at + 36);
  const bodyLengthAt = at + 48 + (sysFlag & SysFlag.BORNHOST_V6 ? 20 : 8) + 8 + (sysFlag & SysFlag.STOREHOST_V6 ? 20 : 8) + 12;
  const topicAt = bodyLengthAt + 4 + view.getInt32(bodyLengthAt);
  const topicBytes = bytes[topicAt]!;
  if (topicBytes === 0) return false;
  for (let i = topicAt + 1; i <= topicAt + topicBytes; i++) if (bytes[i] === 0) return false;
  const propsBytes = view.getInt16(topicAt + 1 + topicBytes);
  return propsBytes === 0 || bytes[at + size - 1] === 0x02;
}
export const blankMarkerBytes = 8;
/** Staged appends reach the file in runs of up to this many bytes, one pwrite each (a bigger record gets a stage of its size). */
export const stageBytes = 256 * 1024;
/**
 * Under ASYNC_FLUSH a commit of fewer staged bytes than this is copied into the mapping rather than
 * pwritten: with few records per turn (64 producers, one send in flight each) a pwrite per turn
 * cost more than the page faults it saves (one client process, 64 connections × 1 in flight, 5
 * interleaved pairs: 51.2k → 54.4k msg/s with it; `ab.ts --producers 64` against the mapping-only
 * build: 47.7k → 48.7k). Under SYNC_FLUSH every commit is pwritten: fdatasync is faster on
 * written than on mapped pages.
 */
export const asyncCommitMapBytesMax = 16 * 1024;
/** Bytes zeroed after a truncation point: more than the largest record (4 MiB body + header). */
export const truncateZeroBytes = 8 * 1024 * 1024;

export interface AppendResult {
  physicalOffset: number;
  size: number;
}

export class CommitLog {
  private readonly files: MappedFile[] = [];
  /** fdatasync calls flush() has started (one per file with unflushed bytes): for metrics and benchmarks. */
  fsyncCount = 0;

  /**
   * Staged appends: records encoded here, for bytes [stagePosition, stagePosition + stagedBytes)
   * of stageFile, not yet in the file. commitStaged() writes them.
   */
  private stage = new Uint8Array(0);
  private stageFile: MappedFile | null = null;
  private stagePosition = 0;
  private stagedBytes = 0;

  /**
   * `staged` (the store's default): append() encodes each record into a reused buffer (the
   * stage), and the records of one event-loop turn reach the file together, one pwrite per
   * stageBytes — RocketMQ's transient store pool in spirit. The stage is written before anything
   * reads past it (read, readRaw, scan, fileHolding, flush: they commit first), at the end of the
   * turn that filled it (a microtask), and, through MessageStore.commitAppends, before the broker
   * lets any answer leave: an acknowledged record is in the page cache, as with the mapping.
   * Why: storing through the mapping takes a write fault per new 4 KiB page (page-cache
   * allocation, zeroing, ext4's page_mkwrite, the page-table entry), 36 % of the broker's samples
   * while producing; one pwrite of 256 KiB does the same work in a few large folios. fdatasyncs
   * are faster too (see FileMapper.write). A small commit may go through the mapping instead
   * (commitMapBytesMax). Not staged: records are encoded straight into the mapping, as RocketMQ's
   * default store does.
   */
  constructor(
    private readonly dir: string,
    readonly fileBytes: number,
    private readonly mapper: FileMapper = diskMapper,
    private readonly staged = false,
    /** A commit of fewer staged bytes is copied into the mapping instead of pwritten (asyncCommitMapBytesMax under ASYNC_FLUSH). */
    private readonly commitMapBytesMax = 0,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  get maxOffset(): number {
    const last = this.files.at(-1);
    return last ? last.fromOffset + last.wrotePosition : 0;
  }
  get minOffset(): number {
    return this.files[0]?.fromOffset ?? 0;
  }
  get flushedOffset(): number {
    for (const file of this.files) {
      if (file.flushedPosition < file.wrotePosition) return file.fromOffset + file.flushedPosition;
    }
    return this.maxOffset;
  }

  /**
   * Opens existing files and finds the end of the log; returns the offset the walk started at
   * (records from there on were checked and may need re-dispatch).
   * `minTimestamp` null: the last run shut down cleanly, so only the last file is walked (files
   * before it are full and were flushed). A number: the last run crashed; the walk starts at the
   * newest file whose first record was stored at or before it (the checkpoint), or the first file.
   */
  load(minTimestamp: number | null): number {
    const names = readdirSync(this.dir).filter((name) => /^\d{20}$/.test(name)).sort();
    for (const name of names) {
      const file = MappedFile.open(this.dir, Number(name), this.fileBytes, this.mapper, true);
      file.wrotePosition = this.fileBytes;
      file.flushedPosition = this.fileBytes;
      this.files.push(file);
    }
    if (this.files.length === 0) return 0;
    let startIndex = this.files.length - 1;
    if (minTimestamp !== null) {
      while (startIndex > 0 && !(firstStoreTimestamp(this.files[startIndex]!.bytes, this.fileBytes) <= minTimestamp)) startIndex--;
    }
    let index = startIndex;
    let file = this.files[index]!;
    let at = 0;
    let records = 0;
    for (;;) {
      const size = checkRecord(file.bytes, at, this.fileBytes, true);
      // A record followed by another valid one was not torn, whatever its tail looks like
      // (records from before the put path added the final separator stay readable).
      if (size > 0 && (recordTailIntact(file.bytes, at, size) || checkRecord(file.bytes, at + size, this.fileBytes, true) >= 0)) {
        at += size;
        records++;
        continue;
      }
      if (size === 0 && index + 1 < this.files.length) {
        index++;
        file = this.files[index]!;
        at = 0;
        continue;
      }
      break; // the first invalid record (or a blank marker in the last file) ends the log
    }
    const end = file.fromOffset + at;
    this.truncateTo(end);
    const from = this.files[startIndex]?.fromOffset ?? 0;
    log.info("commit_log.recovered", { files: this.files.length, from, records, maxOffset: end, crashed: minTimestamp !== null });
    return from;
  }

  /** Drops everything at and after `offset`: later files are deleted, the tail is zeroed. */
  truncateTo(offset: number): void {
    assert(this.stagedBytes === 0, "truncate with staged appends");
    while (this.files.length > 0 && this.files.at(-1)!.fromOffset > offset) this.files.pop()!.destroy();
    const last = this.files.at(-1);
    if (!last) return;
    const position = offset - last.fromOffset;
    // Zero a window past the cut (torn bytes, a stale blank marker) so that a later walk cannot
    // read them as records. Not the whole rest: that would allocate every sparse page of the file.
    const head = last.bytes.subarray(position, Math.min(position + blankMarkerBytes, this.fileBytes));
    if (head.some((byte) => byte !== 0)) last.bytes.fill(0, position, Math.min(position + truncateZeroBytes, this.fileBytes));
    last.wrotePosition = position;
    last.flushedPosition = Math.min(last.flushedPosition, position);
    last.advise("append", position);
    // Files before the last are full by construction.
    for (const file of this.files.slice(0, -1)) file.wrotePosition = file.flushedPosition = this.fileBytes;
  }

  /**
   * Appends one record. `encode` writes it at (bytes, at); the log chose physicalOffset.
   * Returns null when the record can never fit a file (the caller checked sizes, so this asserts).
   */
  append(message: MessageToStore, sizes: RecordSizes, queueOffset: number, storeTimestamp: number): AppendResult {
    assert(sizes.total + blankMarkerBytes <= this.fileBytes, "record larger than a commit-log file");
    let file = this.files.at(-1);
    if (!file || file.wrotePosition + sizes.total + blankMarkerBytes > this.fileBytes) file = this.roll(file);
    const physicalOffset = file.fromOffset + file.wrotePosition;
    if (this.staged) {
      // A stage that cannot take the record goes to the file first (roll() committed any of the previous file's).
      if (this.stagedBytes > 0 && this.stagedBytes + sizes.total > this.stage.length) this.commitStaged();
      if (this.stagedBytes === 0) {
        if (this.stage.length < sizes.total || (this.stage.length > stageBytes && sizes.total <= stageBytes)) {
          this.stage = new Uint8Array(Math.max(sizes.total, stageBytes));
          registerLongLivedView(this.stage); // writeRecord's DataView, made once rather than per record
        }
        this.stageFile = file;
        this.stagePosition = file.wrotePosition;
        queueMicrotask(this.commitAtTurnEnd);
      }
      assert(this.stageFile === file && this.stagePosition + this.stagedBytes === file.wrotePosition, "the stage continues the file's end");
      writeRecord(this.stage, this.stagedBytes, message, sizes, queueOffset, physicalOffset, storeTimestamp);
      this.stagedBytes += sizes.total;
    } else {
      writeRecord(file.bytes, file.wrotePosition, message, sizes, queueOffset, physicalOffset, storeTimestamp);
    }
    file.wrotePosition += sizes.total;
    return { physicalOffset, size: sizes.total };
  }

  /**
   * Writes the staged records to their file (then they survive the process; a flush makes them
   * survive the OS). Throws on a write error (EIO), keeping them staged for the next call.
   */
  commitStaged(): void {
    if (this.stagedBytes === 0) return;
    const staged = this.stage.subarray(0, this.stagedBytes);
    if (this.stagedBytes < this.commitMapBytesMax) this.stageFile!.bytes.set(staged, this.stagePosition);
    else this.stageFile!.write(staged, this.stagePosition);
    this.stagedBytes = 0;
  }

  /** The microtask an append that starts a stage queues; a failure waits for the next caller (commitAppends logs it). */
  private readonly commitAtTurnEnd = (): void => {
    try {
      this.commitStaged();
    } catch (error) {
      log.warnEvery(10_000, "commit_log.stage_write_failed", { error: String(error) });
    }
  };

  /**
   * Replication (a slave): writes `bytes` — a master's commit log from `offset` on, as it is on
   * the master's disk, records cut anywhere, blank end-of-file markers included — at `offset`,
   * which must be this log's end (or, for an empty log, the start of a file). Files roll at the
   * same boundaries as the master's because the bytes fill each file to its end. Nothing is
   * checked here: the reput walk (MessageStore.dispatchReplicated) parses what arrived.
   * Returns false, writing nothing, when `offset` does not continue this log.
   */
  appendRaw(offset: number, bytes: Uint8Array): boolean {
    this.commitStaged();
    if (this.files.length === 0) {
      if (offset % this.fileBytes !== 0) return false;
    } else if (offset !== this.maxOffset) {
      return false;
    }
    let written = 0;
    while (written < bytes.length) {
      let file = this.files.at(-1);
      if (!file || file.isFull) {
        file?.advise("read");
        file = MappedFile.open(this.dir, file ? file.endOffset : offset, this.fileBytes, this.mapper, true);
        file.advise("append");
        this.files.push(file);
        log.info("commit_log.roll", { fromOffset: file.fromOffset, fileBytes: this.fileBytes, replicated: true });
      }
      const chunk = Math.min(bytes.length - written, this.fileBytes - file.wrotePosition);
      file.bytes.set(bytes.subarray(written, written + chunk), file.wrotePosition);
      file.wrotePosition += chunk;
      written += chunk;
    }
    return true;
  }

  /**
   * Replication (the master): a view of at most `bytesMax` bytes from `offset`, within one file
   * and below maxOffset; empty when there is nothing past `offset`, null when `offset` is not in
   * the log (below minOffset, or past the end).
   */
  readRaw(offset: number, bytesMax: number): Uint8Array | null {
    this.commitStaged();
    if (offset === this.maxOffset) return new Uint8Array(0);
    const file = this.fileAt(offset);
    if (!file) return null;
    const at = offset - file.fromOffset;
    if (at > file.wrotePosition) return null;
    return file.bytes.subarray(at, Math.min(file.wrotePosition, at + bytesMax));
  }

  /** The file holding `offset` (for the replica's reput walk), or undefined. */
  fileHolding(offset: number): MappedFile | undefined {
    this.commitStaged();
    return this.fileAt(offset);
  }

  private roll(current: MappedFile | undefined): MappedFile {
    // Create (and reserve) the next file first: if that fails (ENOSPC), the current file is left
    // as it was and a later append can try again.
    this.commitStaged();
    const fromOffset = current ? current.endOffset : 0;
    const file = MappedFile.open(this.dir, fromOffset, this.fileBytes, this.mapper, true);
    if (current) {
      const remaining = this.fileBytes - current.wrotePosition;
      assert(remaining >= blankMarkerBytes);
      const view = new DataView(current.bytes.buffer, current.bytes.byteOffset);
      view.setInt32(current.wrotePosition, remaining);
      view.setInt32(current.wrotePosition + 4, blankMagic);
      current.wrotePosition = this.fileBytes;
      current.advise("read");
    }
    file.advise("append");
    file.bytes.fill(0, 0, blankMarkerBytes); // a reused name may hold old bytes at its head
    this.files.push(file);
    log.info("commit_log.roll", { fromOffset, fileBytes: this.fileBytes });
    return file;
  }

  /** A view of `size` bytes at `offset`, valid while the file exists; null if out of range. */
  read(offset: number, size: number): Uint8Array | null {
    this.commitStaged();
    const file = this.fileAt(offset);
    if (!file) return null;
    const at = offset - file.fromOffset;
    if (at + size > file.wrotePosition) return null;
    return file.bytes.subarray(at, at + size);
  }

  /** Walks records from `offset` to the end, calling `visit(bytes, at, physicalOffset, size)`. */
  scan(offset: number, visit: (bytes: Uint8Array, at: number, physicalOffset: number, size: number) => void): void {
    this.commitStaged();
    let index = this.files.findIndex((file) => offset >= file.fromOffset && offset < file.endOffset);
    if (index < 0) return;
    let at = offset - this.files[index]!.fromOffset;
    while (index < this.files.length) {
      const file = this.files[index]!;
      const size = at < file.wrotePosition ? checkRecord(file.bytes, at, file.wrotePosition, false) : -1;
      if (size > 0) {
        visit(file.bytes, at, file.fromOffset + at, size);
        at += size;
        continue;
      }
      index++;
      at = 0;
    }
  }

  private fileAt(offset: number): MappedFile | undefined {
    // Files are contiguous: index by arithmetic from the first.
    const first = this.files[0];
    if (!first || offset < first.fromOffset) return undefined;
    return this.files[Math.floor((offset - first.fromOffset) / this.fileBytes)];
  }

  /**
   * Retention: deletes files from the oldest on, never the last (active) one, while they are
   * older than `reservedMs` (by modification time) or `force` is set; at most `filesMax`.
   * Returns how many were deleted; minOffset moves past them.
   */
  deleteExpired(nowMs: number, reservedMs: number, force: boolean, filesMax: number): number {
    let deleted = 0;
    while (deleted < filesMax && this.files.length > 1) {
      const oldest = this.files[0]!;
      if (!force && statSync(oldest.path).mtimeMs + reservedMs > nowMs) break;
      this.files.shift()!.destroy();
      deleted++;
      log.info("commit_log.deleted", { fromOffset: oldest.fromOffset, forced: force });
    }
    return deleted;
  }

  /**
   * Commits the stage, then fdatasyncs every file with unflushed bytes. Resolves with the flushed offset. Appends stored
   * through the mapping (not staged, or small commits) leave the page tables first
   * (MappedFile.releaseWritten), so the fdatasync has no mapped page to write-protect.
   */
  async flush(): Promise<number> {
    this.commitStaged();
    const dirty = this.files.filter((file) => file.flushedPosition < file.wrotePosition);
    this.fsyncCount += dirty.length;
    for (const file of dirty) file.releaseWritten();
    await Promise.all(dirty.map((file) => file.flush()));
    return this.flushedOffset;
  }

  close(): void {
    this.commitStaged();
    for (const file of this.files) file.close();
  }
}
