/**
 * TimerMessageService (src/broker/schedule/timer_message_service.ts): delivery at an arbitrary
 * time, to the millisecond — beyond RocketMQ 4's 18 levels. A message carrying TIMER_DELIVER_MS
 * or __STARTDELIVERTIME (absolute, ms since the epoch; the second is what ali-ons'
 * setStartDeliverTime writes) or TIMER_DELAY_MS / TIMER_DELAY_SEC (relative) is stored under
 * rmq_sys_wheel_timer, queue 0, with its real destination in REAL_TOPIC / REAL_QID and its due
 * time in TIMER_OUT_MS and in the consume-queue tag field.
 *
 * Pending timers live in a min-heap by due time, rebuilt at start by reading the timer queue from
 * the persisted cursor (<dataDir>/config/timerOffset.json). One timeout fires for the earliest;
 * a due message is re-put to its real topic and queue and marked delivered; the cursor advances
 * over the delivered prefix. After a crash, messages delivered beyond the cursor may be delivered
 * again (at-least-once), never lost.
 */
import { join } from "node:path";
import type { Io } from "../../io/io.ts";
import { logScoped } from "../../log.ts";
import { decodeJsonBody, jsonText } from "../../protocol/json_body.ts";
import { decodeProperties, Property } from "../../protocol/message_properties.ts";
import { decodeRecord, type HostBytes } from "../../protocol/message_record.ts";
import { realMessageOf } from "./real_message.ts";
import type { MessageStore } from "../../store/message_store.ts";
import { PutStatus } from "../../store/put_status.ts";
import { readConfigFile, writeConfigFile } from "../config_file.ts";

const log = logScoped("broker");

export const timerTopic = "rmq_sys_wheel_timer";
export const TimerProperty = {
  DELIVER_MS: "TIMER_DELIVER_MS",
  START_DELIVER_TIME: "__STARTDELIVERTIME",
  DELAY_MS: "TIMER_DELAY_MS",
  DELAY_SEC: "TIMER_DELAY_SEC",
  OUT_MS: "TIMER_OUT_MS",
} as const;
/** The longest delay accepted (RocketMQ 5's timerMaxDelaySec default is 3 days). */
export const timerDelayMsMax = 3 * 24 * 3600 * 1000;
/** Pause before retrying a failed delivery. */
const retryPauseMs = 100;

/** The due time a message asks for, or null when it asks for none. */
export function requestedDueMs(properties: Map<string, string>, nowMs: number): number | null {
  const absolute = properties.get(TimerProperty.DELIVER_MS) ?? properties.get(TimerProperty.START_DELIVER_TIME);
  if (absolute !== undefined && /^\d+$/.test(absolute)) return Number(absolute);
  const delayMs = properties.get(TimerProperty.DELAY_MS);
  if (delayMs !== undefined && /^\d+$/.test(delayMs)) return nowMs + Number(delayMs);
  const delaySec = properties.get(TimerProperty.DELAY_SEC);
  if (delaySec !== undefined && /^\d+$/.test(delaySec)) return nowMs + Number(delaySec) * 1000;
  return null;
}

export class TimerMessageService {
  /** Binary min-heap of pending timers: due times and their consume-queue offsets, side by side. */
  private heapDue: number[] = [];
  private heapOffset: number[] = [];
  /** Offsets at or beyond the cursor already delivered. */
  private readonly delivered = new Set<number>();
  /** Every offset below it is delivered. */
  private cursor = 0;
  /** Offsets below it are in the heap or delivered. */
  private loadedUpTo = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerDueMs = Infinity;
  private running = false;
  private firing = false;
  private readonly path: string;
  /** What the file holds since this process wrote it; null: not written yet. */
  private persistedText: string | null = null;

  constructor(
    private readonly store: MessageStore,
    dataDir: string,
    private readonly io: Io,
    private readonly storeHost: () => HostBytes,
  ) {
    this.path = join(dataDir, "config", "timerOffset.json");
  }

  get pendingCount(): number {
    return this.heapDue.length;
  }

  start(): void {
    const stored = readConfigFile(this.path, (text) => decodeJsonBody(new TextEncoder().encode(text))) as { cursor?: number } | null;
    this.cursor = this.loadedUpTo = Number(stored?.cursor ?? 0);
    this.running = true;
    this.loadNew();
  }

  /** Something was appended to the timer queue: take new entries into the heap. */
  onArrival(): void {
    if (this.running) this.loadNew();
  }

  private loadNew(): void {
    const queue = this.store.findQueue(timerTopic, 0);
    if (!queue) return;
    if (this.loadedUpTo < queue.minOffset) this.loadedUpTo = this.cursor = queue.minOffset;
    const entry = { commitLogOffset: 0, size: 0, tagsCode: 0 };
    for (; this.loadedUpTo < queue.maxOffset; this.loadedUpTo++) {
      if (!queue.get(this.loadedUpTo, entry) || entry.size <= 0) {
        this.markDelivered(this.loadedUpTo);
        continue;
      }
      this.push(entry.tagsCode, this.loadedUpTo);
    }
    this.arm();
  }

  private arm(): void {
    if (!this.running || this.firing || this.heapDue.length === 0) return;
    const due = this.heapDue[0]!;
    if (this.timer !== null && due >= this.timerDueMs) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerDueMs = due;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerDueMs = Infinity;
      void this.fire();
    }, Math.max(0, due - this.io.clock.realtimeMs()));
  }

  private async fire(): Promise<void> {
    this.firing = true;
    try {
      while (this.running && this.heapDue.length > 0 && this.heapDue[0]! <= this.io.clock.realtimeMs()) {
        const offset = this.heapOffset[0]!;
        const ok = await this.deliver(offset);
        if (!ok) {
          await new Promise((resolve) => setTimeout(resolve, retryPauseMs));
          continue;
        }
        this.pop();
        this.markDelivered(offset);
      }
    } finally {
      this.firing = false;
    }
    this.arm();
  }

  private async deliver(offset: number): Promise<boolean> {
    const record = this.store.recordAt(timerTopic, 0, offset);
    if (!record) return true; // gone (retention): nothing to deliver
    const message = decodeRecord(record);
    const properties = decodeProperties(message.properties);
    if (!properties.has(Property.REAL_TOPIC)) return true;
    for (const name of Object.values(TimerProperty)) properties.delete(name);
    const real = realMessageOf(message, properties, this.storeHost());
    const result = await this.store.put(real, false);
    if (result.status !== PutStatus.OK) log.warnEvery(10_000, "timer.put_failed", { status: result.status });
    return result.status === PutStatus.OK;
  }

  private markDelivered(offset: number): void {
    this.delivered.add(offset);
    while (this.delivered.delete(this.cursor)) this.cursor++;
  }

  private push(due: number, offset: number): void {
    const dues = this.heapDue;
    const offsets = this.heapOffset;
    let at = dues.length;
    dues.push(due);
    offsets.push(offset);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (dues[parent]! <= due) break;
      dues[at] = dues[parent]!;
      offsets[at] = offsets[parent]!;
      at = parent;
    }
    dues[at] = due;
    offsets[at] = offset;
  }

  private pop(): void {
    const dues = this.heapDue;
    const offsets = this.heapOffset;
    const lastDue = dues.pop()!;
    const lastOffset = offsets.pop()!;
    if (dues.length === 0) return;
    let at = 0;
    for (;;) {
      const left = at * 2 + 1;
      if (left >= dues.length) break;
      const child = left + 1 < dues.length && dues[left + 1]! < dues[left]! ? left + 1 : left;
      if (dues[child]! >= lastDue) break;
      dues[at] = dues[child]!;
      offsets[at] = offsets[child]!;
      at = child;
    }
    dues[at] = lastDue;
    offsets[at] = lastOffset;
  }

  /** Writes timerOffset.json if its content changed: each write fsyncs on the event loop. */
  persist(): void {
    const text = jsonText({ cursor: this.cursor }, 2);
    if (text === this.persistedText) return;
    writeConfigFile(this.path, text);
    this.persistedText = text;
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    while (this.firing) await new Promise((resolve) => setTimeout(resolve, 5));
    this.persist();
  }
}
