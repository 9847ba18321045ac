/**
 * StoreCheckpoint (src/store/checkpoint.ts): `<dataDir>/checkpoint`, RocketMQ's 4 KiB file saying
 * how far each structure was on disk the last time everything was flushed. After a crash, recovery
 * re-walks the commit log only from the first segment whose first record is older than
 * minTimestamp(), so restart time depends on the data written since the last flush, not on the
 * data kept.
 *
 *   at  bytes  field (big-endian)
 *    0      8  physicMsgTimestamp  store time of the last commit-log record flushed
 *    8      8  logicsMsgTimestamp  store time of the last record whose consume-queue entry was flushed
 *   16      8  indexMsgTimestamp   store time of the last record whose index entries were flushed
 *   24      8  (RocketMQ 5.x masterFlushedOffset; 0 here)
 *   32      8  (RocketMQ 5.x confirmPhyOffset; 0 here)
 *   40      8  physicOffset        Bolide: the commit-log offset everything was flushed to
 *   48   4048  zero
 *   --
 *   4096 bytes
 *
 * Guarantees: write() changes the file in place and resolves once an fdatasync covers it. Both
 * the 4 KiB pwrite and the fdatasync run on the I/O thread pool, never on the event loop: the
 * fdatasync took milliseconds of every ASYNC flush interval, and even the pwrite can wait tens
 * of milliseconds (a page still under writeback from the last checkpoint is not changed until
 * that I/O ends). Writes are chained, each with its own copy of the bytes, so they reach the file
 * in call order. The three timestamps only move forward within one run. A missing or short file
 * reads as all zeros (recover from the start). close() with a write still running closes the
 * file once the chain ends.
 */
import { closeSync, existsSync, fdatasync, openSync, readSync, write } from "node:fs";
import { assert } from "../assert.ts";
import { readU64, writeU64 } from "../protocol/message_record.ts";

export const checkpointBytes = 4096;
export const checkpointPhysicMsgTimestampAt = 0;
export const checkpointLogicsMsgTimestampAt = 8;
export const checkpointIndexMsgTimestampAt = 16;
export const checkpointPhysicOffsetAt = 40;
/** RocketMQ's safety margin: records stored up to 3 s before the checkpoint are re-dispatched too. */
export const checkpointMarginMs = 3000;
assert(checkpointLogicsMsgTimestampAt === checkpointPhysicMsgTimestampAt + 8);
assert(checkpointIndexMsgTimestampAt === checkpointLogicsMsgTimestampAt + 8);
assert(checkpointPhysicOffsetAt + 8 <= checkpointBytes);

export class StoreCheckpoint {
  physicMsgTimestamp = 0;
  logicsMsgTimestamp = 0;
  indexMsgTimestamp = 0;
  physicOffset = 0;
  private readonly buffer = new Uint8Array(checkpointBytes);
  private readonly view = new DataView(this.buffer.buffer);
  private fd = -1;
  /** write()s started and not finished: close() waits for them to close the file. */
  private writesRunning = 0;
  private closeWanted = false;
  /** The last write() in the chain: the next one starts when it ends. */
  private lastWrite: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  /** Opens (creating) the file and reads it. */
  load(): void {
    const existed = existsSync(this.path);
    this.fd = openSync(this.path, existed ? "r+" : "w+");
    if (!existed) return;
    const read = readSync(this.fd, this.buffer, 0, checkpointBytes, 0);
    if (read < checkpointPhysicOffsetAt + 8) return; // short: treat as never written
    this.physicMsgTimestamp = readU64(this.view, checkpointPhysicMsgTimestampAt);
    this.logicsMsgTimestamp = readU64(this.view, checkpointLogicsMsgTimestampAt);
    this.indexMsgTimestamp = readU64(this.view, checkpointIndexMsgTimestampAt);
    this.physicOffset = readU64(this.view, checkpointPhysicOffsetAt);
  }

  /** Where crash recovery may start: records stored before this are on disk everywhere. */
  minTimestamp(): number {
    const least = Math.min(this.physicMsgTimestamp, this.logicsMsgTimestamp, this.indexMsgTimestamp);
    return Math.max(0, least - checkpointMarginMs);
  }

  /** Records that everything up to `physicOffset` (last record stored at `timestamp`) is flushed. */
  write(timestamp: number, physicOffset: number): Promise<void> {
    assert(this.fd >= 0, "checkpoint not loaded");
    assert(!this.closeWanted, "checkpoint written after close");
    assert(Number.isSafeInteger(physicOffset) && physicOffset >= 0);
    this.physicMsgTimestamp = Math.max(this.physicMsgTimestamp, timestamp);
    this.logicsMsgTimestamp = Math.max(this.logicsMsgTimestamp, timestamp);
    this.indexMsgTimestamp = Math.max(this.indexMsgTimestamp, timestamp);
    this.physicOffset = physicOffset;
    writeU64(this.view, checkpointPhysicMsgTimestampAt, this.physicMsgTimestamp);
    writeU64(this.view, checkpointLogicsMsgTimestampAt, this.logicsMsgTimestamp);
    writeU64(this.view, checkpointIndexMsgTimestampAt, this.indexMsgTimestamp);
    writeU64(this.view, checkpointPhysicOffsetAt, this.physicOffset);
    const bytes = this.buffer.slice(); // the chain may still be writing an older copy
    const fd = this.fd;
    this.writesRunning++;
    const next = this.lastWrite.then(
      () => writeAndSync(fd, bytes),
      () => writeAndSync(fd, bytes),
    );
    const settled = (): void => {
      this.writesRunning--;
      if (this.closeWanted && this.writesRunning === 0) this.closeNow();
    };
    this.lastWrite = next.then(settled, settled);
    return next;
  }

  close(): void {
    if (this.writesRunning > 0) {
      this.closeWanted = true;
      return;
    }
    this.closeNow();
  }

  private closeNow(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** pwrite all of `bytes` at offset 0, then fdatasync, both on the thread pool. */
function writeAndSync(fd: number, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    write(fd, bytes, 0, bytes.length, 0, (writeError, written) => {
      if (writeError) return reject(writeError);
      if (written !== bytes.length) return reject(new Error(`checkpoint write was short: ${written} of ${bytes.length} bytes`));
      fdatasync(fd, (syncError) => (syncError ? reject(syncError) : resolve()));
    });
  });
}
