/**
 * MappedFile (src/store/mapped_file.ts): one preallocated file, memory-mapped shared, named by the
 * 20-digit decimal offset of its first byte. Writes into `bytes` reach the page cache at once
 * (so they survive the process being killed); flush() fdatasyncs them (so they survive the OS).
 * Requires: one writer; `wrotePosition` only grows, except through truncate() during recovery.
 */
import { unlinkSync } from "node:fs";
import { join } from "node:path";
import { registerLongLivedView } from "../protocol/message_record.ts";
import { adviceAlignBytes, diskMapper, type AccessPattern, type FileMapper, type MappedRegion } from "./file_mapper.ts";

export const fileNameDigits = 20;

export function fileNameOf(fromOffset: number): string {
  return String(fromOffset).padStart(fileNameDigits, "0");
}

export class MappedFile {
  readonly bytes: Uint8Array;
  wrotePosition = 0;
  flushedPosition = 0;
  /** Where releaseWritten() got to: a multiple of adviceAlignBytes. */
  private releasedPosition = 0;
  private readonly region: MappedRegion;

  private constructor(
    readonly path: string,
    readonly fromOffset: number,
    readonly fileBytes: number,
    mapper: FileMapper,
    reserve: boolean,
  ) {
    this.region = mapper.map(path, fileBytes, reserve);
    this.bytes = this.region.bytes;
    registerLongLivedView(this.bytes);
  }

  /** A segment named by its offset; `reserve`: allocate its disk space now (see file_mapper.ts). */
  static open(dir: string, fromOffset: number, fileBytes: number, mapper: FileMapper = diskMapper, reserve = false): MappedFile {
    return new MappedFile(join(dir, fileNameOf(fromOffset)), fromOffset, fileBytes, mapper, reserve);
  }

  /** A sparse file with a name of its own (index files are named by time), sized `fileBytes`. */
  static openPath(path: string, fileBytes: number, mapper: FileMapper = diskMapper): MappedFile {
    return new MappedFile(path, 0, fileBytes, mapper, false);
  }

  get endOffset(): number {
    return this.fromOffset + this.fileBytes;
  }
  get isFull(): boolean {
    return this.wrotePosition === this.fileBytes;
  }

  /** Stores `source` at `position` through the file rather than the mapping (see FileMapper). */
  write(source: Uint8Array, position: number): void {
    this.region.write(source, position);
  }

  /** How the bytes from `from` on will be used (FileMapper: "append" turns read-ahead off there). */
  advise(pattern: AccessPattern, from = 0): void {
    this.region.advise(pattern, from);
  }

  /**
   * The whole pages written through the mapping since the last call leave this process's page
   * tables (FileMapper.release): for appenders that store through the mapping, before a flush.
   */
  releaseWritten(): void {
    const end = this.wrotePosition - (this.wrotePosition % adviceAlignBytes);
    if (end <= this.releasedPosition) return;
    this.region.release(this.releasedPosition, end);
    this.releasedPosition = end;
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
    return this.region.sync();
  }

  close(): void {
    this.region.close();
  }

  /** Deletes the file; its disk space comes back at once (MappedRegion.discard), not when the mapping is collected. */
  destroy(): void {
    this.region.discard();
    this.close();
    unlinkSync(this.path);
  }
}
