/**
 * smallStoreConfig (src/testing/store_config.ts): the store geometry the store's own tests share —
 * 96 KiB commit-log files (a few dozen 1 KiB records roll them), 64-entry consume-queue files, a
 * 101-slot / 300-entry index, async flush on a 10 s timer the tests never wait for. The data dir
 * is a fresh temp dir named `prefix…`, pushed onto `dirs` for the test file to delete.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StoreConfig } from "../store/message_store.ts";

export function smallStoreConfig(prefix: string, dirs: string[], overrides: Partial<StoreConfig> = {}): StoreConfig {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dataDir);
  return {
    dataDir, commitLogFileBytes: 96 * 1024, consumeQueueEntriesPerFile: 64, messageBodyBytesMax: 1024, flush: "async",
    flushIntervalMs: 10_000, syncFlushTimeoutMs: 5000, pullBytesMax: 256 * 1024, indexHashSlots: 101, indexEntriesMax: 300,
    ...overrides,
  };
}
