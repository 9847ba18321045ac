// All 18 delay levels on a fake clock: each message is delivered no earlier than its level's
// delay, and at once when the clock reaches it.
import { afterEach, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Prng, type Io } from "../../io/io.ts";
import { encodeProperties, javaHashCode } from "../../protocol/message_properties.ts";
import { hostBytes } from "../../protocol/message_record.ts";
import { MessageStore } from "../../store/message_store.ts";
import { messageDelayLevelDefault, parseDelayLevels, scheduleTopic } from "./delay_levels.ts";
import { ScheduleMessageService } from "./schedule_message_service.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

class FakeTime {
  nowMs = 1_800_000_000_000;
  private pending: Array<{ atMs: number; callback: () => void; id: number }> = [];
  private nextId = 1;
  readonly io: Io = {
    clock: { monotonicMs: () => this.nowMs, realtimeMs: () => this.nowMs },
    random: new Prng(1),
    timers: {
      set: (callback, delayMs) => {
        const id = this.nextId++;
        this.pending.push({ atMs: this.nowMs + delayMs, callback, id });
        return id;
      },
      clear: (handle) => {
        this.pending = this.pending.filter((timer) => timer.id !== handle);
      },
    },
  };
  /** Moves the clock to `toMs`, running every timer due by then (and the work they start). */
  async advance(toMs: number): Promise<void> {
    this.nowMs = toMs;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      const due = this.pending.filter((timer) => timer.atMs <= this.nowMs);
      if (due.length === 0) return;
      this.pending = this.pending.filter((timer) => timer.atMs > this.nowMs);
      for (const timer of due) timer.callback();
    }
  }
}

test("levels 1..18 (1s … 2h) deliver at their delay, not before", async () => {
  const time = new FakeTime();
  const dataDir = mkdtempSync(join(tmpdir(), "bolide-schedule-"));
  dirs.push(dataDir);
  const levelsMs = parseDelayLevels(messageDelayLevelDefault);
  let service: ScheduleMessageService | null = null;
  const store = new MessageStore(
    {
      dataDir, commitLogFileBytes: 1024 * 1024, consumeQueueEntriesPerFile: 1000, messageBodyBytesMax: 64 * 1024, flush: "async",
      flushIntervalMs: 60_000, syncFlushTimeoutMs: 5000, pullBytesMax: 256 * 1024,
      tagsCodeFor: (topic, properties, storeTimestamp) => (topic === scheduleTopic ? service!.dueTimeMs(properties, storeTimestamp) : null),
    },
    time.io,
  );
  store.load();
  service = new ScheduleMessageService(store, levelsMs, dataDir, time.io, () => hostBytes("127.0.0.1", 10911));
  const sentMs = time.nowMs;
  for (let level = 1; level <= 18; level++) {
    await store.put({
      topic: scheduleTopic, queueId: level - 1, flag: 0, body: new TextEncoder().encode(`level-${level}`),
      properties: encodeProperties({ TAGS: "T", DELAY: String(level), REAL_TOPIC: "Real", REAL_QID: "0" }), sysFlag: 0,
      bornTimestamp: sentMs, bornHost: hostBytes("127.0.0.1", 1), storeHost: hostBytes("127.0.0.1", 10911),
      reconsumeTimes: 0, preparedTransactionOffset: 0, tagsCode: javaHashCode("T"),
    });
  }
  service.start();
  await time.advance(sentMs + 999); // the service starts its levels 1 s after start
  for (let level = 1; level <= 18; level++) {
    const dueMs = sentMs + levelsMs[level - 1]!;
    await time.advance(dueMs - 1);
    expect(store.maxOffset("Real", 0)).toBe(level - 1);
    await time.advance(dueMs);
    expect(store.maxOffset("Real", 0)).toBe(level);
  }
  await service.stop();
  await store.shutdown();
});

test("persist writes delayOffset.json only when a cursor moved (each write is an fsync on the event loop)", async () => {
  const time = new FakeTime();
  const dataDir = mkdtempSync(join(tmpdir(), "bolide-schedule-"));
  dirs.push(dataDir);
  const store = new MessageStore(
    { dataDir, commitLogFileBytes: 1024 * 1024, consumeQueueEntriesPerFile: 1000, messageBodyBytesMax: 64 * 1024, flush: "async", flushIntervalMs: 60_000, syncFlushTimeoutMs: 5000, pullBytesMax: 256 * 1024 },
    time.io,
  );
  store.load();
  const service = new ScheduleMessageService(store, parseDelayLevels(messageDelayLevelDefault), dataDir, time.io, () => hostBytes("127.0.0.1", 10911));
  const path = join(dataDir, "config", "delayOffset.json");
  service.persist();
  expect(existsSync(path)).toBe(true);
  rmSync(path);
  service.persist(); // nothing changed: no write
  expect(existsSync(path)).toBe(false);
  service.replaceFromMaster('{"offsetTable":{"1":5}}');
  expect(readFileSync(path, "utf8")).toBe('{"offsetTable":{"1":5}}');
  service.persist(); // its own cursors differ from what the file now holds
  expect(readFileSync(path, "utf8")).toBe(service.snapshotText(2));
  await store.shutdown();
});
