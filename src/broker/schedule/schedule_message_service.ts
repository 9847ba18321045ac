/**
 * ScheduleMessageService (src/broker/schedule/schedule_message_service.ts): delivers delayed
 * messages. A message with DELAY = n is stored under SCHEDULE_TOPIC_XXXX, queue n − 1, with its
 * real destination in REAL_TOPIC / REAL_QID and its due time (store time + level delay) in the
 * consume-queue tag field. One cursor per level walks its queue in order (one delay per level,
 * so due times only grow): a due entry is re-put to its real topic and queue — DELAY removed,
 * everything else kept — and the cursor advances; an entry not yet due parks the level until
 * then; a level with nothing to deliver polls every 100 ms. Cursors persist in
 * <dataDir>/config/delayOffset.json every persist interval and at shutdown: after a crash a delivery may repeat (at-least-once), never vanish.
 */
import { join } from "node:path";
import { realTimers, type Io } from "../../io/io.ts";
import { logScoped } from "../../log.ts";
import { decodeProperties, Property } from "../../protocol/message_properties.ts";
import { decodeRecord, type HostBytes, type MessageToStore } from "../../protocol/message_record.ts";
import { realMessageOf } from "./real_message.ts";
import { decodeJsonBody, jsonText } from "../../protocol/json_body.ts";
import type { MessageStore } from "../../store/message_store.ts";
import { PutStatus } from "../../store/put_status.ts";
import { readConfigFile, writeConfigFile } from "../config_file.ts";
import { scheduleTopic } from "./delay_levels.ts";

const log = logScoped("broker");
/** Idle poll of a level with nothing due, and the retry pause after a failed put. */
const idlePollMs = 100;

export class ScheduleMessageService {
  /** Next consume-queue offset to deliver, per level (index = level − 1). */
  private readonly cursors: number[];
  private readonly timers: Array<unknown>;
  private readonly path: string;
  /** What the file holds since this process wrote it; null: not written yet. */
  private persistedText: string | null = null;
  private running = false;
  private delivering = 0;

  constructor(
    private readonly store: MessageStore,
    readonly levelsMs: number[],
    dataDir: string,
    private readonly io: Io,
    private readonly storeHost: () => HostBytes,
  ) {
    this.cursors = levelsMs.map(() => 0);
    this.timers = levelsMs.map(() => null);
    this.path = join(dataDir, "config", "delayOffset.json");
  }

  /** The due time of a scheduled message stored at `storeTimestamp` with properties text. */
  dueTimeMs(properties: string, storeTimestamp: number): number {
    const level = Number(decodeProperties(properties).get(Property.DELAY) ?? 0);
    const delay = this.levelsMs[Math.min(Math.max(level, 1), this.levelsMs.length) - 1] ?? 0;
    return storeTimestamp + delay;
  }

  start(): void {
    const stored = readConfigFile(this.path, (text) => decodeJsonBody(new TextEncoder().encode(text))) as {
      offsetTable?: Record<string, number>;
    } | null;
    for (const [level, offset] of Object.entries(stored?.offsetTable ?? {})) {
      const index = Number(level) - 1;
      if (index >= 0 && index < this.cursors.length) this.cursors[index] = Number(offset);
    }
    this.running = true;
    for (let index = 0; index < this.levelsMs.length; index++) this.schedule(index, 1000);
  }

  private schedule(index: number, afterMs: number): void {
    if (!this.running) return;
    this.timers[index] = (this.io.timers ?? realTimers).set(() => {
      this.timers[index] = null;
      void this.deliverLevel(index);
    }, Math.max(0, afterMs));
  }

  private async deliverLevel(index: number): Promise<void> {
    if (!this.running) return;
    const entry = { commitLogOffset: 0, size: 0, tagsCode: 0 };
    for (;;) {
      const queue = this.store.findQueue(scheduleTopic, index);
      if (!queue) return this.schedule(index, idlePollMs);
      let offset = this.cursors[index]!;
      if (offset < queue.minOffset) offset = this.cursors[index] = queue.minOffset;
      if (offset >= queue.maxOffset) return this.schedule(index, idlePollMs);
      if (!queue.get(offset, entry) || entry.size <= 0) {
        this.cursors[index] = offset + 1;
        continue;
      }
      const waitMs = entry.tagsCode - this.io.clock.realtimeMs();
      if (waitMs > 0) return this.schedule(index, Math.min(waitMs, this.levelsMs[index]!));
      const record = this.store.commitLog.read(entry.commitLogOffset, entry.size);
      if (record) {
        this.delivering++;
        try {
          const result = await this.store.put(this.realMessage(record), false);
          if (result.status !== PutStatus.OK) {
            log.warnEvery(10_000, "schedule.put_failed", { level: index + 1, status: result.status });
            return this.schedule(index, idlePollMs);
          }
        } finally {
          this.delivering--;
        }
      }
      this.cursors[index] = offset + 1;
      if (!this.running) return;
    }
  }

  /** The message as it goes to its real topic and queue. */
  private realMessage(record: Uint8Array): MessageToStore {
    const message = decodeRecord(record);
    const properties = decodeProperties(message.properties);
    properties.delete(Property.DELAY);
    return realMessageOf(message, properties, this.storeHost());
  }

  /** delayOffset.json's content: {"offsetTable":{"1":cursor,…}} (also GET_ALL_DELAY_OFFSET's body). */
  snapshotText(indent?: number): string {
    const offsetTable = new Map<number, number>();
    this.cursors.forEach((offset, index) => offsetTable.set(index + 1, offset));
    return jsonText({ offsetTable }, indent);
  }

  /** Writes delayOffset.json if its content changed: each write fsyncs on the event loop. */
  persist(): void {
    const text = this.snapshotText(2);
    if (text === this.persistedText) return;
    writeConfigFile(this.path, text);
    this.persistedText = text;
  }

  /** A slave: the master's cursors, kept on disk for when this broker delivers (not while a slave). */
  replaceFromMaster(text: string): void {
    writeConfigFile(this.path, text);
    this.persistedText = text;
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const timer of this.timers) if (timer !== null) (this.io.timers ?? realTimers).clear(timer);
    while (this.delivering > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    this.persist();
  }
}
