// Before each measurement the suite writes dirty pages out and drops the clean page cache that no
// process maps (`sync`, then `1` into /proc/sys/vm/drop_caches), so that every figure starts from
// the same memory state instead of from whatever the target's earlier steps left cached.
//
// Why: on the 2-core VM these results come from, memory past about 13-15 GiB in use is five to six
// times slower to touch for the first time (a loop writing one byte per 4 KiB page of fresh
// anonymous memory: 0.5 s per GiB up to ~14 GiB, 2.6-2.9 s per GiB past it, every try). A broker
// whose earlier steps had filled the page cache that far paid it on every new page in its later
// steps, the fastest writer soonest: at 16 KiB, bolide-async's 64-producer figure fell from ~21k
// to 8-13k msg/s after ~15 GB had been written (kernel time per message 30 -> 90 us, in
// clear_page and the page-cache copy of pwrite); with this drop between steps it stayed at 20-23k.
// Memory a broker holds — heap, pages it maps — is not dropped: what it keeps, it pays for.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";

/** Writes dirty pages out and drops the unmapped clean page cache. Returns null, or why it could not. */
export function dropPageCache(): string | null {
  const synced = spawnSync("sync", [], { stdio: "ignore", timeout: 120_000 });
  if (synced.status !== 0) return `sync failed (${synced.error?.message ?? `exit ${synced.status}`})`;
  try {
    writeFileSync("/proc/sys/vm/drop_caches", "1");
    return null;
  } catch (error) {
    return `cannot write /proc/sys/vm/drop_caches (${error instanceof Error ? error.message : String(error)})`;
  }
}
