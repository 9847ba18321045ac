/**
 * ConsumerOffsetManager (src/broker/consumer_offset_manager.ts): committed consumer offsets per
 * "topic@group" and queue id — the next offset to consume. Persisted every flush interval and at
 * shutdown as <dataDir>/config/consumerOffset.json: {"offsetTable":{"T@G":{"0":12,"1":7}}}.
 * The latest value wins, not the largest (clients may move backwards after a reset).
 */
import { join } from "node:path";
import { decodeJsonBody, jsonText } from "../protocol/json_body.ts";
import { readConfigFile, writeConfigFile } from "./config_file.ts";

export class ConsumerOffsetManager {
  private readonly table = new Map<string, Map<number, number>>();
  private readonly path: string;
  private dirty = false;

  constructor(dataDir: string) {
    this.path = join(dataDir, "config", "consumerOffset.json");
  }

  load(): void {
    const stored = readConfigFile(this.path, (text) => decodeJsonBody(new TextEncoder().encode(text))) as {
      offsetTable?: Record<string, Record<string, number>>;
    } | null;
    for (const [key, byQueue] of Object.entries(stored?.offsetTable ?? {})) {
      const offsets = new Map<number, number>();
      for (const [queueId, offset] of Object.entries(byQueue)) offsets.set(Number(queueId), Number(offset));
      this.table.set(key, offsets);
    }
  }

  commit(group: string, topic: string, queueId: number, offset: number): void {
    const key = `${topic}@${group}`;
    let offsets = this.table.get(key);
    if (!offsets) this.table.set(key, (offsets = new Map()));
    offsets.set(queueId, offset);
    this.dirty = true;
  }

  /** The committed offset, or -1 when none is stored (a stored negative counts as none). */
  query(group: string, topic: string, queueId: number): number {
    const offset = this.table.get(`${topic}@${group}`)?.get(queueId);
    return offset === undefined || offset < 0 ? -1 : offset;
  }

  groupsOf(topic: string): string[] {
    return [...this.table.keys()].filter((key) => key.startsWith(`${topic}@`)).map((key) => key.slice(topic.length + 1));
  }

  /** Topics the group has committed offsets for. */
  topicsOf(group: string): string[] {
    return [...this.table.keys()].filter((key) => key.endsWith(`@${group}`)).map((key) => key.slice(0, key.length - group.length - 1));
  }

  /** A slave: the master's offsets win for every queue it has (RocketMQ's putAll); others stay. */
  mergeFromMaster(offsetTable: Record<string, Record<string, number>>): void {
    for (const [key, byQueue] of Object.entries(offsetTable)) {
      let offsets = this.table.get(key);
      if (!offsets) this.table.set(key, (offsets = new Map()));
      for (const [queueId, offset] of Object.entries(byQueue)) offsets.set(Number(queueId), Number(offset));
    }
    this.dirty = true;
  }

  deleteTopic(topic: string): void {
    for (const key of [...this.table.keys()]) if (key.startsWith(`${topic}@`)) this.table.delete(key);
    this.dirty = true;
  }

  /** Every committed offset (for metrics). */
  *entries(): Iterable<{ group: string; topic: string; queueId: number; offset: number }> {
    for (const [key, byQueue] of this.table) {
      const at = key.lastIndexOf("@");
      for (const [queueId, offset] of byQueue) yield { group: key.slice(at + 1), topic: key.slice(0, at), queueId, offset };
    }
  }

  snapshot(): { offsetTable: Map<string, Map<number, number>> } {
    return { offsetTable: this.table };
  }

  persist(force = false): void {
    if (!this.dirty && !force) return;
    this.dirty = false;
    writeConfigFile(this.path, jsonText(this.snapshot(), 2));
  }
}
