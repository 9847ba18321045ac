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
 * Guarantees: write() changes the file in place (one 4 KiB pwrite, at once) and resolves once an
 * fdatasync covers it; the fdatasync runs on the I/O thread pool, not the event loop (under
 * ASYNC_FLUSH it took milliseconds of every flush interval away from serving). The three
 * timestamps only move forward within one run. A missing or short file reads as all zeros
 * (recover from the start). close() with an fdatasync still running closes the file once it ends.
 */
import { closeSync, existsSync, fdatasync, openSync, readSync, writeSync } from "node:fs";
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
  /** fdatasyncs started by write() and not finished: close() waits for them to close the file. */
  private syncsRunning = 0;
  private closeWanted = false;

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
    const written = writeSync(this.fd, this.buffer, 0, checkpointBytes, 0);
    assert(written === checkpointBytes, "checkpoint write was short");
    this.syncsRunning++;
    const fd = this.fd;
    return new Promise((resolve, reject) => {
      fdatasync(fd, (error) => {
        this.syncsRunning--;
        if (this.closeWanted && this.syncsRunning === 0) this.closeNow();
        if (error) reject(error);
        else resolve();
      });
    });
  }

  close(): void {
    if (this.syncsRunning > 0) {
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
