/**
 * MemoryGuard (src/io/memory_guard.ts): asks for a full garbage collection when the process's
 * resident memory has grown by `growthBytes` since the last one.
 *
 * Why: answers, frames and read chunks are ArrayBuffers whose bytes live outside the JS heap;
 * under churn (peers that connect, pile up answers and get dropped, as the soak's slow readers
 * do) the collector runs late and RSS climbed from ~250 MiB to ~1 GiB in two minutes with 1,000
 * connections, though a forced collection brought it back each time (no leak). A collection on
 * growth keeps the resident size near what is live.
 *
 * With MIMALLOC_PURGE_DELAY=-1 (src/io/runtime_env.ts) a collection no longer lowers RSS: what it
 * frees stays with the allocator for reuse. The baseline is then the RSS after the collection, so
 * the next one comes only once the process needs another growthBytes beyond what it already
 * holds: growth stays bounded (a 180-s soak with 600 connections levelled off at 474 MiB).
 *
 * It watches anonymous memory (RssAnon in /proc/self/status), not the whole RSS: the commit
 * log's mapped segments count as file-backed RSS and grow with every byte written, which would
 * otherwise force a full collection every 192 MiB of traffic under steady load.
 *
 * The collection is bun:jsc's fullGC(), not Bun.gc(true): that one also sweeps the whole heap at
 * once (and throws compiled code away), and stopped the event loop for 37–60 ms — at 20k msg/s it
 * ran about every 10 s and was the p99.9 of end-to-end latency (38 ms; 12.5 ms with fullGC(),
 * `ab.ts --workload latency --rate 20000`). fullGC() pauses 2–7 ms and leaves sweeping to the
 * allocator; a 75-s soak with 600 connections (slow readers included) peaked at 373 MiB RSS
 * against 307 MiB with Bun.gc(true) and 1,009 MiB with Bun.gc(false), which only asks for a
 * collection later.
 */
import { fullGC } from "bun:jsc";
import { readFileSync } from "node:fs";
import { logScoped } from "../log.ts";

const log = logScoped("memory");

/** Anonymous resident bytes (Linux: RssAnon), else the whole RSS. */
export function anonRssBytes(): number {
  try {
    const match = /^RssAnon:\s+(\d+)\s+kB/m.exec(readFileSync("/proc/self/status", "latin1"));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage.rss();
}

export class MemoryGuard {
  private timer: ReturnType<typeof setInterval> | null = null;
  private baselineBytes = anonRssBytes();

  constructor(
    private readonly growthBytes: number = 192 * 1024 * 1024,
    private readonly checkIntervalMs: number = 2000,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.check(), this.checkIntervalMs);
    this.timer.unref?.();
  }

  check(): void {
    const rssBytes = anonRssBytes();
    if (rssBytes < this.baselineBytes + this.growthBytes) {
      // Memory given back (or never taken): follow it down so the next growth is measured from here.
      this.baselineBytes = Math.min(this.baselineBytes, rssBytes);
      return;
    }
    const startedMs = performance.now();
    fullGC();
    const afterBytes = anonRssBytes();
    this.baselineBytes = afterBytes;
    log.info("memory.collected", { rssMiBBefore: Math.round(rssBytes / 1048576), rssMiBAfter: Math.round(afterBytes / 1048576), pauseMs: Math.round(performance.now() - startedMs) });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
