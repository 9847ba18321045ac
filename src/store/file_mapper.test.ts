import { expect, test } from "bun:test";
import { dlopen, FFIType, ptr } from "bun:ffi";
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { adviceAlignBytes, diskMapper } from "./file_mapper.ts";

test("discard gives a reserved file's blocks back while it is still mapped; the mapping reads zeros", () => {
  const dir = mkdtempSync(join(tmpdir(), "bolide-mapper-"));
  try {
    const path = join(dir, "segment");
    const fileBytes = 8 * 1024 * 1024;
    const region = diskMapper.map(path, fileBytes, true);
    region.bytes.fill(0x61, 0, 4096);
    expect(statSync(path).blocks * 512).toBeGreaterThanOrEqual(fileBytes); // reserved up front
    region.discard();
    expect(statSync(path).blocks * 512).toBeLessThan(fileBytes / 8);
    expect(statSync(path).size).toBe(fileBytes);
    expect(region.bytes[0]).toBe(0);
    expect(region.bytes[fileBytes - 1]).toBe(0);
    region.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Pages of `bytes` in the page cache (mincore(2)). */
function residentPages(bytes: Uint8Array, pageBytes: number): number {
  const libc = dlopen("libc.so.6", { mincore: { args: [FFIType.ptr, FFIType.u64, FFIType.ptr], returns: FFIType.i32 } });
  const vector = new Uint8Array(Math.ceil(bytes.length / pageBytes));
  expect(libc.symbols.mincore(ptr(bytes), bytes.length, ptr(vector))).toBe(0);
  libc.close();
  return vector.reduce((sum, flag) => sum + (flag & 1), 0);
}

test.if(process.platform === "linux")('advise("append"): a write into a new page of a reserved file brings in that page only, not read-ahead around it', () => {
  const dir = mkdtempSync(join(tmpdir(), "bolide-mapper-"));
  try {
    const fileBytes = 16 * 1024 * 1024;
    const pageBytes = 4096;
    const region = diskMapper.map(join(dir, "segment"), fileBytes, true);
    const appendFrom = 1024 * 1024;
    region.advise("append", appendFrom + 100); // from the 64 KiB boundary at or below it
    // The kernel took the advice: the mapping's part from 1 MiB on is flagged rr (random reads, no read-ahead).
    const segmentFlags = readFileSync("/proc/self/smaps", "utf8").split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/).filter((vma) => vma.includes(join(dir, "segment")))
      .map((vma) => /VmFlags:(.*)/.exec(vma)?.[1]?.includes(" rr") ?? false);
    expect(segmentFlags).toEqual([false, true]);
    const touched = 32;
    for (let i = 0; i < touched; i++) region.bytes[appendFrom + i * ((fileBytes - appendFrom) / touched)] = 1;
    // Without the advice each of these write faults reads ahead read_ahead_kb around it (128 KiB
    // to 8 MiB by default), all of it zeroed pages of the reserved file.
    expect(residentPages(region.bytes.subarray(appendFrom), pageBytes)).toBeLessThanOrEqual(touched);
    region.advise("read", 0);
    expect(region.bytes[appendFrom]).toBe(1); // a hint: content unchanged
    region.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Each of the mapping's VMAs over `path` (in address order): resident KiB and whether reads are random (rr). */
function vmasOf(path: string): { rssKiB: number; random: boolean }[] {
  return readFileSync("/proc/self/smaps", "utf8").split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/).filter((vma) => vma.includes(path))
    .map((vma) => ({ rssKiB: Number(/\nRss:\s+(\d+) kB/.exec(vma)?.[1] ?? -1), random: /VmFlags:(.*)/.exec(vma)?.[1]?.includes(" rr") ?? false }));
}

test.if(process.platform === "linux")("release: written pages leave the page tables, keep their bytes in the page cache and reach the file at the next sync", async () => {
  const dir = mkdtempSync(join(tmpdir(), "bolide-mapper-"));
  try {
    const path = join(dir, "segment");
    const fileBytes = 4 * 1024 * 1024;
    const region = diskMapper.map(path, fileBytes, true);
    region.advise("append", 0);
    const written = 1024 * 1024 + 100;
    for (let at = 0; at < written; at++) region.bytes[at] = (at * 7) & 0xff;
    region.release(0, written - (written % adviceAlignBytes)); // whole 64 KiB steps: [0, 1 MiB)
    // Unmapped from this process (nothing resident in its VMA), read-ahead advice back to normal;
    // the rest of the file keeps the append advice, and the 100 bytes past 1 MiB stay mapped.
    const vmas = vmasOf(path);
    expect(vmas.map((vma) => vma.random)).toEqual([false, true]);
    expect(vmas[0]!.rssKiB).toBe(0);
    expect(vmas[1]!.rssKiB).toBeGreaterThan(0);
    // Still in the page cache, and dirty: the sync writes them. Proof: once synced, the kernel may
    // drop them (POSIX_FADV_DONTNEED drops clean, unmapped pages only) and the file read back from
    // the disk has the bytes. Had the release lost their dirty bit, the disk would hold zeros.
    expect(residentPages(region.bytes.subarray(0, 1024 * 1024), 4096)).toBe(256);
    await region.sync();
    const fd = openSync(path, "r");
    const libc = dlopen("libc.so.6", { posix_fadvise: { args: [FFIType.i32, FFIType.i64, FFIType.i64, FFIType.i32], returns: FFIType.i32 } });
    expect(libc.symbols.posix_fadvise(fd, 0, 1024 * 1024, 4 /* POSIX_FADV_DONTNEED */)).toBe(0);
    libc.close();
    expect(residentPages(region.bytes.subarray(0, 1024 * 1024), 4096)).toBe(0);
    const fromDisk = Buffer.alloc(written);
    expect(readSync(fd, fromDisk, 0, written, 0)).toBe(written);
    closeSync(fd);
    expect(fromDisk.every((byte, at) => byte === ((at * 7) & 0xff))).toBe(true);
    // Through the mapping again (mapped anew, read-only until written).
    expect(region.bytes.subarray(0, written).every((byte, at) => byte === ((at * 7) & 0xff))).toBe(true);
    region.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
