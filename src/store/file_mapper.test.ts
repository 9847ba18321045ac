import { expect, test } from "bun:test";
import { dlopen, FFIType, ptr } from "bun:ffi";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { diskMapper } from "./file_mapper.ts";

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
