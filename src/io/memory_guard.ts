/**
 * MemoryGuard (src/io/memory_guard.ts): asks for a full garbage collection when the process's
 * resident memory has grown by `growthBytes` since the last one.
 *
 * Why: answers, frames and read chunks are ArrayBuffers whose bytes live outside the JS heap;
 * under churn (peers that connect, pile up answers and get dropped, as the soak's slow readers
 * do) the collector runs late and RSS climbed from ~250 MiB to ~1 GiB in two minutes with 1,000
 * connections, though a forced collection brought it back each time (no leak). A collection on
 * growth keeps the resident size near what is live; it never runs under steady load.
 */
import { logScoped } from "../log.ts";

const log = logScoped("memory");

export class MemoryGuard {
  private timer: ReturnType<typeof setInterval> | null = null;
  private baselineBytes = process.memoryUsage.rss();

  constructor(
    private readonly growthBytes: number = 192 * 1024 * 1024,
    private readonly checkIntervalMs: number = 2000,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.check(), this.checkIntervalMs);
    this.timer.unref?.();
  }

  check(): void {
    const rssBytes = process.memoryUsage.rss();
    if (rssBytes < this.baselineBytes + this.growthBytes) {
      // Memory given back (or never taken): follow it down so the next growth is measured from here.
      this.baselineBytes = Math.min(this.baselineBytes, rssBytes);
      return;
    }
    const startedMs = performance.now();
    Bun.gc(true);
    const afterBytes = process.memoryUsage.rss();
    this.baselineBytes = afterBytes;
    log.info("memory.collected", { rssMiBBefore: Math.round(rssBytes / 1048576), rssMiBAfter: Math.round(afterBytes / 1048576), pauseMs: Math.round(performance.now() - startedMs) });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
