// Before each measurement the suite writes dirty pages out and drops the page cache of the target's
// data files (`sync`, then posix_fadvise(POSIX_FADV_DONTNEED) on every file under its data dir), so
// that every figure starts from the same memory state instead of from whatever the target's earlier
// steps left cached. Pages a process maps stay (the kernel does not drop them): what a broker keeps
// mapped, it pays for. Binaries, jars and the JDK stay cached, as they would be for a restart: a
// machine-wide drop (/proc/sys/vm/drop_caches) also evicted dist/bolide whenever no Bolide ran, and
// the next Bolide's cold start then read it from disk (134-178 ms against 51-61 ms).
//
// Why: on the 2-core VM these results come from, memory past about 13-15 GiB in use is five to six
// times slower to touch for the first time (a loop writing one byte per 4 KiB page of fresh
// anonymous memory: 0.50-0.55 s per GiB up to GiB 13-14, then 1.0-2.9 s per GiB, every try). A
// broker whose earlier steps had filled the page cache that far paid it on every new page in its
// later steps, the fastest writer soonest: at 16 KiB, bolide-async's 64-producer figure fell from
// ~21k to 8-13k msg/s after ~13 GB had been written (kernel time per message 31 -> 90 us, in
// clear_page and pwrite's copy into the page cache); with the cache dropped between steps it
// stayed at 20-23k.
import { spawnSync } from "node:child_process";
import { closeSync, openSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { FFIType } from "bun:ffi";
import { libcOnce } from "../../../src/io/libc.ts";

/** POSIX_FADV_DONTNEED (linux/fadvise.h). */
const fadviseDontNeed = 4;

const libcFadvise = libcOnce(
  { posix_fadvise: { args: [FFIType.i32, FFIType.i64, FFIType.i64, FFIType.i32], returns: FFIType.i32 } },
  (libc) => (fd: number, offset: number, length: number, advice: number): number => libc.symbols.posix_fadvise(fd, offset, length, advice),
  true,
);

/** Every regular file under `dir` (a broker's data dir; files that vanish meanwhile are skipped). */
function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name));
  } catch {
    return [];
  }
}

/**
 * Writes dirty pages out (machine-wide `sync`) and drops the cached pages of every file under
 * `dataDir` that no process maps. Returns null, or why it could not.
 */
export function dropPageCache(dataDir: string): string | null {
  const advise = libcFadvise();
  if (!advise) return "posix_fadvise not reachable through bun:ffi (no libc.so.6)";
  const synced = spawnSync("sync", [], { stdio: "ignore", timeout: 120_000 });
  if (synced.status !== 0) return `sync failed (${synced.error?.message ?? `exit ${synced.status}`})`;
  for (const file of filesUnder(dataDir)) {
    let fd: number;
    try {
      fd = openSync(file, "r");
    } catch {
      continue; // deleted (retention, a rolled segment) or not readable: nothing of it to keep
    }
    try {
      const result = advise(fd, 0, 0, fadviseDontNeed);
      if (result !== 0) return `posix_fadvise(${file}) failed: error ${result}`;
    } finally {
      closeSync(fd);
    }
  }
  return null;
}
