/**
 * MappedFile (src/store/mapped_file.ts): one preallocated file, memory-mapped shared, named by the
 * 20-digit decimal offset of its first byte. Writes into `bytes` reach the page cache at once
 * (so they survive the process being killed); flush() fdatasyncs them (so they survive the OS).
 * Requires: one writer; `wrotePosition` only grows, except through truncate() during recovery.
 */
import { closeSync, existsSync, fdatasync, ftruncateSync, openSync, fstatSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { assert } from "../assert.ts";

export const fileNameDigits = 20;

export function fileNameOf(fromOffset: number): string {
  return String(fromOffset).padStart(fileNameDigits, "0");
}

export class MappedFile {
  readonly bytes: Uint8Array;
  wrotePosition = 0;
  flushedPosition = 0;
  private fd: number;

  private constructor(
    readonly path: string,
    readonly fromOffset: number,
    readonly fileBytes: number,
  ) {
    const created = !existsSync(path);
    this.fd = openSync(path, created ? "w+" : "r+");
    const size = fstatSync(this.fd).size;
    if (size !== fileBytes) ftruncateSync(this.fd, fileBytes);
    this.bytes = Bun.mmap(path, { shared: true });
    assert(this.bytes.length === fileBytes, `mapped ${this.bytes.length} bytes of ${path}, expected ${fileBytes}`);
  }

  static open(dir: string, fromOffset: number, fileBytes: number): MappedFile {
    return new MappedFile(join(dir, fileNameOf(fromOffset)), fromOffset, fileBytes);
  }

  /** A file with a name of its own (index files are named by time), sized `fileBytes`. */
  static openPath(path: string, fileBytes: number): MappedFile {
    return new MappedFile(path, 0, fileBytes);
  }

  get endOffset(): number {
    return this.fromOffset + this.fileBytes;
  }
  get isFull(): boolean {
    return this.wrotePosition === this.fileBytes;
  }

  /** fdatasync what was written since the last flush. Resolves with the flushed position. */
  flush(): Promise<number> {
    const target = this.wrotePosition;
    if (target <= this.flushedPosition) return Promise.resolve(this.flushedPosition);
    return this.sync().then(() => {
      if (target > this.flushedPosition) this.flushedPosition = target;
      return this.flushedPosition;
    });
  }

  /** fdatasync the whole file, whatever was written. */
  sync(): Promise<void> {
    return new Promise((resolve, reject) => {
      fdatasync(this.fd, (error) => (error ? reject(error) : resolve()));
    });
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  destroy(): void {
    this.close();
    unlinkSync(this.path);
  }
}
