/**
 * FileMapper (src/store/file_mapper.ts): how the store gets at the bytes of its files. Every
 * commit-log, consume-queue and index file goes through one, so that tests can swap the disk for
 * a fault model (src/testing/power_cut_mapper.ts) without touching the store's code.
 *
 * Contract of map(path, fileBytes, reserve):
 * - returns `bytes`, exactly fileBytes long, holding the file's content (zeros where never
 *   written); the store writes records straight into it;
 * - writes into `bytes` are volatile until a sync() that started after them resolves: then they
 *   survive a power cut. Writes not yet synced may be lost, or torn at sector granularity;
 * - `reserve`: the disk space is allocated now (posix_fallocate), so that running out of space is
 *   an ENOSPC error here, at file creation, and never a SIGBUS later while writing into a sparse
 *   mapping. Commit-log segments reserve (the bulk of what is written, and where a
 *   SIGBUS would take acknowledged sends with it); consume-queue files (6 MB per queue) and index
 *   files (RocketMQ's 420 MB geometry) stay sparse, as in RocketMQ, and rely on the store refusing
 *   puts past diskFullRatio.
 *
 * Contract of write(source, position): the same as copying `source` into `bytes` at `position`
 * (volatile until a later sync() resolves), through the file instead of the mapping. Appenders
 * that fsync often use it: on ext4, bytes written through write(2) are fdatasync'd two to three
 * times faster than the same bytes stored through a shared mapping (each newly dirtied mapped
 * page takes a write fault that may wait for the journal commit of the fdatasync in progress;
 * measured by scripts/bench/store_disk.ts, README "Store benchmarks").
 *
 * Contract of discard(): the file is about to be deleted (retention): its disk space comes back
 * now. A Bun.mmap mapping lives until the collector drops its last view, and an unlinked file's
 * blocks stay allocated while it is mapped — so without this a full disk stayed full after
 * retention deleted files (the bench's "past retention" workload: sends refused for 30 s with
 * three deleted 64 MiB segments still mapped). The mapping stays valid and reads as zeros
 * afterwards: no SIGBUS for a late reader, and a stale record fails its checks instead.
 *
 * Contract of advise(pattern, from): how the bytes from `from` to the end will be used, a hint that
 * changes no content. "append": written in order, once, by the store (the active commit-log
 * segment or consume-queue file past its write position, and index files, written at hashed
 * slots): no read-ahead. "read": written already, read by consumers: the kernel's default
 * read-ahead, so that reading old data back from disk goes in large requests.
 * Why: on Linux a write fault on a page not yet in the page cache is served like a read, with
 * read-ahead of read_ahead_kb (8 MiB here) around it. For a reserved (fallocated) segment that
 * means zeroing 8 MiB of new page-cache pages inside one fault of put(): every 8 MiB of appends
 * one send waited 12–28 ms (measured around commitLog.append at 5k msg/s; in the kernel profile
 * as memset under ext4_mpage_readpages). With "append" each fault costs one page.
 *
 * Contract of release(from, to): the bytes in [from, to) are written and will not be written again
 * through the mapping; its pages may leave this process's page tables. A hint that changes no
 * content: the bytes stay in the page cache (still dirty until a sync), and a later read maps them
 * again. `from` and `to` are multiples of adviceAlignBytes (the caller rounds). Why: an fdatasync cleans
 * every dirty page, and a page this process maps writable must first be write-protected in its
 * page table, which takes a TLB flush — an interrupt to the other cores running the broker's
 * threads — per 4 KiB page: 8-9 % of the broker's CPU samples while producing, on the flushing
 * thread and the interrupted event loop. Unmapping the appended pages before the flush (one range,
 * one TLB flush) leaves it nothing to write-protect. The range then gets the default read-ahead
 * advice back (the "append" advice was given when it was still unwritten), so a consumer reading it
 * later maps 64 KiB per fault rather than 4 KiB.
 *
 * diskMapper: open, reserve (or ftruncate), Bun.mmap shared; sync() is fdatasync; write() is
 * pwrite(2), whose bytes the shared mapping shows at once (one page cache); discard() punches a
 * hole over the whole file (fallocate PUNCH_HOLE | KEEP_SIZE; best effort: where the file system
 * cannot, the space comes back when the mapping is collected, as before).
 */
import { closeSync, existsSync, fdatasync, fstatSync, ftruncateSync, openSync, unlinkSync, writeSync } from "node:fs";
import { FFIType, ptr } from "bun:ffi";
import { libcOnce } from "../io/libc.ts";
import { assert } from "../assert.ts";

export type AccessPattern = "append" | "read";

export interface MappedRegion {
  readonly bytes: Uint8Array;
  write(source: Uint8Array, position: number): void;
  advise(pattern: AccessPattern, from: number): void;
  release(from: number, to: number): void;
  sync(): Promise<void>;
  discard(): void;
  close(): void;
}

export interface FileMapper {
  map(path: string, fileBytes: number, reserve: boolean): MappedRegion;
}

/** posix_fallocate(3) from libc; null where libc cannot be opened (then ftruncate). */
const fallocateFunction = libcOnce(
  { posix_fallocate: { args: [FFIType.i32, FFIType.i64, FFIType.i64], returns: FFIType.i32 } },
  (libc) => (fd: number, offset: number, length: number): number => libc.symbols.posix_fallocate(fd, offset, length),
);

/** fallocate(2) mode bits (linux/falloc.h). */
const fallocKeepSize = 0x01;
const fallocPunchHole = 0x02;
/** madvise(2) advice values (asm-generic/mman-common.h). */
const madviseNormal = 0;
const madviseRandom = 1;
const madviseDontNeed = 4;
/**
 * Advice is given from a multiple of this (madvise wants a page-aligned start): 64 KiB is a
 * multiple of every page size Linux uses (4, 16, 64 KiB), so no page-size lookup is needed.
 */
export const adviceAlignBytes = 64 * 1024;

/** The Linux libc calls the disk mapper uses; each is a hint or has a fallback where it is missing. */
interface LinuxCalls {
  /** fallocate(fd, PUNCH_HOLE | KEEP_SIZE, 0, length). */
  punchHole(fd: number, length: number): number;
  /** madvise(2) over a view of a mapping. */
  madvise(bytes: Uint8Array, advice: number): number;
}

/** Linux only; null elsewhere or where libc cannot be opened. */
const linuxCalls = libcOnce(
  {
    fallocate: { args: [FFIType.i32, FFIType.i32, FFIType.i64, FFIType.i64], returns: FFIType.i32 },
    madvise: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  },
  (libc): LinuxCalls => ({
    punchHole: (fd, length) => libc.symbols.fallocate(fd, fallocKeepSize | fallocPunchHole, 0, length),
    madvise: (bytes, advice) => libc.symbols.madvise(ptr(bytes), bytes.length, advice),
  }),
  true,
);

const errnoNames: Record<number, string> = { 28: "ENOSPC", 5: "EIO", 27: "EFBIG", 122: "EDQUOT" };

class DiskRegion implements MappedRegion {
  readonly bytes: Uint8Array;
  private fd: number;

  constructor(path: string, fileBytes: number, reserve: boolean) {
    const created = !existsSync(path);
    this.fd = openSync(path, created ? "w+" : "r+");
    try {
      const size = fstatSync(this.fd).size;
      const fallocate = reserve ? fallocateFunction() : null;
      if (fallocate && size < fileBytes) {
        const errno = fallocate(this.fd, 0, fileBytes);
        if (errno !== 0) {
          const code = errnoNames[errno] ?? `errno ${errno}`;
          throw Object.assign(new Error(`${code}: cannot reserve ${fileBytes} bytes for ${path}`), { code, errno });
        }
      }
      if (fstatSync(this.fd).size !== fileBytes) ftruncateSync(this.fd, fileBytes);
      this.bytes = Bun.mmap(path, { shared: true });
    } catch (error) {
      closeSync(this.fd);
      if (created) unlinkSync(path); // no half-made file for the next start to trip over
      throw error;
    }
    assert(this.bytes.length === fileBytes, `mapped ${this.bytes.length} bytes of ${path}, expected ${fileBytes}`);
  }

  write(source: Uint8Array, position: number): void {
    assert(position >= 0 && position + source.length <= this.bytes.length, "write past the end of the file");
    let written = 0;
    while (written < source.length) {
      // A short write to a regular file means an error on the next call (ENOSPC, EIO): it throws.
      written += writeSync(this.fd, source, written, source.length - written, position + written);
    }
  }

  advise(pattern: AccessPattern, from: number): void {
    const start = from - (from % adviceAlignBytes);
    if (start >= this.bytes.length) return;
    // A hint: where it fails (EINVAL on an odd file system) the kernel's default stays.
    linuxCalls()?.madvise(this.bytes.subarray(start), pattern === "append" ? madviseRandom : madviseNormal);
  }

  release(from: number, to: number): void {
    assert(from % adviceAlignBytes === 0 && to % adviceAlignBytes === 0, "release bounds must be multiples of adviceAlignBytes");
    assert(0 <= from && to <= this.bytes.length, "release past the end of the file");
    if (to <= from) return;
    const calls = linuxCalls();
    if (!calls) return;
    const pages = this.bytes.subarray(from, to);
    // MADV_DONTNEED on a shared file mapping drops page-table entries only: a dirty entry marks its
    // page dirty in the page cache first (the kernel's zap), so nothing written is lost.
    calls.madvise(pages, madviseDontNeed);
    calls.madvise(pages, madviseNormal);
  }

  sync(): Promise<void> {
    return new Promise((resolve, reject) => {
      fdatasync(this.fd, (error) => (error ? reject(error) : resolve()));
    });
  }

  discard(): void {
    if (this.fd < 0) return;
    linuxCalls()?.punchHole(this.fd, this.bytes.length); // -1 (EOPNOTSUPP…): freed at collection instead
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

export const diskMapper: FileMapper = {
  map: (path, fileBytes, reserve) => new DiskRegion(path, fileBytes, reserve),
};
