/**
 * DataDirLock (src/store/data_dir_lock.ts): `<dataDir>/lock` and `<dataDir>/abort`.
 *
 * lock: an exclusive flock(2) on `<dataDir>/lock`, held for the life of the store, so a second
 * broker cannot open the same data dir (the kernel drops the lock when the process dies, even by
 * SIGKILL). Where flock is not reachable (no libc through bun:ffi), the file holds the owner's
 * pid instead and a live owner refuses the second start.
 * abort: created when the store opens, deleted after a clean shutdown's last flush. If it exists
 * at start, the previous run crashed and recovery must re-check everything after the checkpoint.
 */
import { closeSync, existsSync, openSync, readFileSync, unlinkSync, writeFileSync, fsyncSync } from "node:fs";
import { join } from "node:path";
import { FFIType } from "bun:ffi";
import { libcOnce } from "../io/libc.ts";
import { assert } from "../assert.ts";

export class DataDirLockedError extends Error {
  override readonly name = "DataDirLockedError";
}

const lockExclusive = 2;
const lockNonBlocking = 4;

/** flock(2) from libc; null where libc cannot be opened. */
const flockFunction = libcOnce(
  { flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } },
  (libc) => (fd: number, operation: number): number => libc.symbols.flock(fd, operation),
);

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class DataDirLock {
  private fd = -1;
  readonly lockPath: string;
  readonly abortPath: string;
  /** Whether the abort marker was there when the store opened: the last run did not shut down cleanly. */
  crashedBefore = false;

  constructor(readonly dataDir: string) {
    this.lockPath = join(dataDir, "lock");
    this.abortPath = join(dataDir, "abort");
  }

  /** Takes the lock (throws DataDirLockedError if another process holds it), then raises the abort marker. */
  acquire(): void {
    assert(this.fd < 0, "data dir lock taken twice");
    this.fd = openSync(this.lockPath, "a+");
    const flock = flockFunction();
    if (flock) {
      if (flock(this.fd, lockExclusive | lockNonBlocking) !== 0) {
        closeSync(this.fd);
        this.fd = -1;
        throw new DataDirLockedError(`${this.dataDir} is in use by another broker (${this.lockPath} is locked)`);
      }
    } else {
      const owner = Number(readFileSync(this.lockPath, "utf8").trim() || "0");
      if (owner > 0 && owner !== process.pid && processAlive(owner)) {
        closeSync(this.fd);
        this.fd = -1;
        throw new DataDirLockedError(`${this.dataDir} is in use by process ${owner} (${this.lockPath})`);
      }
    }
    writeFileSync(this.lockPath, `${process.pid}\n`);
    this.crashedBefore = existsSync(this.abortPath);
    const abort = openSync(this.abortPath, "w");
    fsyncSync(abort);
    closeSync(abort);
  }

  /** Clean shutdown: everything is flushed; drop the abort marker, then the lock. */
  release(clean: boolean): void {
    if (this.fd < 0) return;
    if (clean && existsSync(this.abortPath)) unlinkSync(this.abortPath);
    closeSync(this.fd); // closing the last descriptor drops the flock
    this.fd = -1;
  }
}
