/**
 * TopicConfigManager (src/broker/topic_config_manager.ts): the broker's topics, persisted as
 * <dataDir>/config/topics.json in RocketMQ's format:
 *   {"dataVersion":{"counter":N,"timestamp":ms},"topicConfigTable":{"T":{…TopicConfig…}}}
 * Every change bumps dataVersion (the name server rebuilds a master's routes when it changes)
 * and is written before the caller answers.
 */
import { join } from "node:path";
import type { Io } from "../io/io.ts";
import { jsonText } from "../protocol/json_body.ts";
import { defaultTopic, newTopicConfig, Perm, permReadWrite, type TopicConfig } from "../protocol/topic.ts";
import { readConfigFile, writeConfigFile } from "./config_file.ts";
import { decodeJsonBody } from "../protocol/json_body.ts";

export interface DataVersion {
  counter: number;
  timestamp: number;
}

/** Queues of TBW102 on a broker that lets clients create topics (RocketMQ's 8/8, perm RW+inherit). */
export const defaultTopicQueueNums = 8;

export class TopicConfigManager {
  readonly topics = new Map<string, TopicConfig>();
  dataVersion: DataVersion;
  private readonly path: string;

  constructor(
    dataDir: string,
    private readonly io: Io,
    readonly autoCreateTopicEnable: boolean,
  ) {
    this.path = join(dataDir, "config", "topics.json");
    this.dataVersion = { counter: 0, timestamp: io.clock.realtimeMs() };
  }

  load(): void {
    const stored = readConfigFile(this.path, (text) => decodeJsonBody(new TextEncoder().encode(text))) as {
      dataVersion?: DataVersion;
      topicConfigTable?: Record<string, TopicConfig>;
    } | null;
    for (const config of Object.values(stored?.topicConfigTable ?? {})) this.topics.set(config.topicName, config);
    if (stored?.dataVersion) this.dataVersion = stored.dataVersion;
    if (this.autoCreateTopicEnable) this.topics.set(defaultTopic, newTopicConfig(defaultTopic, defaultTopicQueueNums, permReadWrite | Perm.INHERIT));
    else this.topics.delete(defaultTopic);
    this.bump();
  }

  get(topic: string): TopicConfig | undefined {
    return this.topics.get(topic);
  }

  /** Creates or replaces a topic config; persists. */
  put(config: TopicConfig): void {
    this.topics.set(config.topicName, config);
    this.bump();
  }

  delete(topic: string): boolean {
    const deleted = this.topics.delete(topic);
    if (deleted) this.bump();
    return deleted;
  }

  /**
   * A slave: the master's topics and data version replace ours (RocketMQ's SlaveSynchronize);
   * persisted. Returns whether anything changed.
   */
  replaceFromMaster(table: Record<string, TopicConfig>, dataVersion: DataVersion | undefined): boolean {
    const before = jsonText(this.topics);
    this.topics.clear();
    for (const config of Object.values(table)) this.topics.set(config.topicName, config);
    if (dataVersion) this.dataVersion = dataVersion;
    const changed = before !== jsonText(this.topics);
    this.persist();
    return changed;
  }

  private bump(): void {
    this.dataVersion = { counter: this.dataVersion.counter + 1, timestamp: this.io.clock.realtimeMs() };
    this.persist();
  }

  wrapper(): { dataVersion: DataVersion; topicConfigTable: Map<string, TopicConfig> } {
    return { dataVersion: this.dataVersion, topicConfigTable: this.topics };
  }

  persist(): void {
    writeConfigFile(this.path, jsonText(this.wrapper(), 2));
  }
}
