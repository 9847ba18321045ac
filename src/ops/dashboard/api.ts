/**
 * DashboardApi (src/ops/dashboard/api.ts): the read-only JSON the dashboard page polls, served on
 * the operator's HTTP port next to /metrics. Everything comes from this process's memory (the
 * broker's topics, consume queues, offsets and clients; the name server's route table in
 * --role all or namesrv), never from a network round trip to itself. In --role broker the cluster
 * view is this broker alone; in --role namesrv there are no topics, groups or messages to show.
 *
 *   GET /api/overview     version, role, clusters and their brokers, this broker's store figures
 *   GET /api/topics       per topic: queues with min/max offset and last store time, message count
 *   GET /api/groups       per consumer group: online clients, per topic and queue the lag
 *   GET /api/messages     ?topic=T&key=K | ?msgId=ID[&topic=T] | ?topic=T&begin=MS&end=MS, each
 *                         message with its trace (stored when, where; which groups consumed it)
 *   GET /api/throughput   messages and bytes in/out per second, the last 5 minutes
 *   GET /api/locks        [?group=G] ordered-consumption queue locks held now: per group, each
 *                         queue's holder (client id) and how long ago it renewed
 *
 * No endpoint changes anything. Answers are JSON; user data (topic names, keys, bodies) goes out
 * as JSON strings and the page renders it as text only.
 */
import type { Broker } from "../../broker/broker.ts";
import { decodePulledMessages, type ReceivedMessage } from "../../client/message.ts";
import type { NameServer } from "../../namesrv/namesrv.ts";
import { parseOffsetMessageId } from "../../protocol/message_record.ts";
import { dlqTopicPrefix, isSystemTopic, retryTopicPrefix } from "../../protocol/topic.ts";
import type { ThroughputSampler } from "./throughput.ts";

/** Most messages one search returns. */
export const searchResultsMax = 64;
/** Bodies longer than this are cut in answers (the page shows text, not files). */
export const bodyCharsMax = 4096;

export interface DashboardSources {
  role: string;
  version: string;
  broker: Broker | null;
  namesrv: NameServer | null;
  throughput: ThroughputSampler;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function json(data: unknown, status = 200): Response {
  return new Response(JSON.stringify(data), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" },
  });
}

/** Topics Bolide or RocketMQ keep for themselves: the page hides them unless asked. */
function isInternalTopic(topic: string): boolean {
  return isSystemTopic(topic) || topic.startsWith(retryTopicPrefix) || topic.startsWith(dlqTopicPrefix) || topic.startsWith("TRANS_") || topic.startsWith("RMQ_SYS_");
}
function isInternalGroup(group: string): boolean {
  return group.startsWith("CID_RMQ_SYS_") || group === "BOLIDE_ADMIN";
}

export class DashboardApi {
  constructor(private readonly sources: DashboardSources) {}

  /** Answers GET /api/<name>; a 404 for any other name. */
  handle(url: URL): Response {
    try {
      switch (url.pathname) {
        case "/api/overview":
          return json(this.overview());
        case "/api/topics":
          return json(this.topics());
        case "/api/groups":
          return json(this.groups());
        case "/api/messages":
          return json(this.messages(url.searchParams));
        case "/api/throughput":
          return json(this.sources.throughput.snapshot());
        case "/api/locks":
          return json(this.locks(url.searchParams.get("group")));
        default:
          return json({ error: `no such endpoint: ${url.pathname}` }, 404);
      }
    } catch (error) {
      if (error instanceof ApiError) return json({ error: error.message }, error.status);
      return json({ error: error instanceof Error ? error.message : String(error) }, 500);
    }
  }

  locks(only: string | null): unknown {
    const table = this.broker().queueLocks;
    const names = only !== null ? [only] : table.groupNames().sort();
    return { groups: names.map((group) => ({ group, locks: table.liveLocks(group) })) };
  }

  private broker(): Broker {
    const broker = this.sources.broker;
    if (!broker) throw new ApiError(404, this.sources.role === "namesrv" ? "this process runs the name server only: no broker data" : "the broker is still starting");
    return broker;
  }

  overview(): unknown {
    const { broker, namesrv } = this.sources;
    const clusters: Array<{ cluster: string; brokers: Array<{ brokerName: string; addrs: Array<{ brokerId: number; addr: string }> }> }> = [];
    if (namesrv) {
      const info = namesrv.routes.clusterInfo();
      for (const [cluster, names] of [...info.clusterAddrTable].sort(([a], [b]) => a.localeCompare(b))) {
        const brokers = [...names].sort().map((brokerName) => ({
          brokerName,
          addrs: [...(info.brokerAddrTable.get(brokerName)?.brokerAddrs ?? new Map<number, string>())]
            .sort(([a], [b]) => a - b)
            .map(([brokerId, addr]) => ({ brokerId, addr })),
        }));
        clusters.push({ cluster, brokers });
      }
    } else if (broker) {
      clusters.push({ cluster: broker.config.clusterName, brokers: [{ brokerName: broker.config.brokerName, addrs: [{ brokerId: broker.config.brokerId, addr: broker.brokerAddr }] }] });
    }
    return {
      role: this.sources.role,
      version: this.sources.version,
      nowMs: Date.now(),
      clusterSource: namesrv ? "name server in this process" : "this broker only",
      clusters,
      broker: broker
        ? {
            cluster: broker.config.clusterName,
            brokerName: broker.config.brokerName,
            brokerId: broker.config.brokerId,
            addr: broker.brokerAddr,
            bootTimestampMs: broker.bootTimestampMs,
            flush: broker.config.store.flush,
            commitLogMinOffset: broker.store.commitLog.minOffset,
            commitLogMaxOffset: broker.store.commitLog.maxOffset,
            storeBytes: broker.store.commitLog.maxOffset - broker.store.commitLog.minOffset,
            diskFull: broker.store.diskFull,
            topicCount: broker.topics.topics.size,
            consumerGroupCount: broker.clients.consumerGroups.size,
            pullRequestsHeld: broker.pullHold.heldCount,
          }
        : null,
    };
  }

  topics(): unknown {
    const broker = this.broker();
    const names = new Set<string>([...broker.topics.topics.keys(), ...broker.store.topics()]);
    const topics = [...names].sort().map((topic) => {
      const config = broker.topics.get(topic);
      const queueCount = this.queueCount(broker, topic);
      let messages = 0;
      let lastStoreTimestamp = 0;
      const queues = [];
      for (let queueId = 0; queueId < queueCount; queueId++) {
        const minOffset = broker.store.minOffset(topic, queueId);
        const maxOffset = broker.store.maxOffset(topic, queueId);
        const last = maxOffset > minOffset ? broker.store.storeTimestampAt(topic, queueId, maxOffset - 1) : 0;
        messages += maxOffset - minOffset;
        lastStoreTimestamp = Math.max(lastStoreTimestamp, last);
        queues.push({ queueId, minOffset, maxOffset, messages: maxOffset - minOffset, lastStoreTimestamp: last });
      }
      return {
        topic,
        internal: isInternalTopic(topic),
        perm: config?.perm ?? null,
        readQueueNums: config?.readQueueNums ?? null,
        writeQueueNums: config?.writeQueueNums ?? null,
        messages,
        lastStoreTimestamp,
        queues,
      };
    });
    return { brokerName: broker.config.brokerName, topics };
  }

  /** Queues to show: the topic config's, plus any the store holds beyond them (a shrunk topic, a config-less one). */
  private queueCount(broker: Broker, topic: string): number {
    const config = broker.topics.get(topic);
    if (!config) {
      let count = 0;
      for (let queueId = 0; queueId < 1024; queueId++) if (broker.store.findQueue(topic, queueId)) count = queueId + 1;
      return count;
    }
    let count = Math.max(config.readQueueNums, config.writeQueueNums);
    while (count < 1024 && broker.store.findQueue(topic, count)) count++;
    return count;
  }

  groups(): unknown {
    const broker = this.broker();
    const byGroup = new Map<string, Map<string, Map<number, number>>>();
    for (const { group, topic, queueId, offset } of broker.offsets.entries()) {
      let topics = byGroup.get(group);
      if (!topics) byGroup.set(group, (topics = new Map()));
      let queues = topics.get(topic);
      if (!queues) topics.set(topic, (queues = new Map()));
      queues.set(queueId, offset);
    }
    for (const [name, group] of broker.clients.consumerGroups) {
      let topics = byGroup.get(name);
      if (!topics) byGroup.set(name, (topics = new Map()));
      for (const topic of group.subscriptions.keys()) if (!topics.has(topic)) topics.set(topic, new Map());
    }
    const groups = [...byGroup].sort(([a], [b]) => a.localeCompare(b)).map(([group, topics]) => {
      const live = broker.clients.consumerGroups.get(group);
      let lag = 0;
      const topicRows = [...topics].sort(([a], [b]) => a.localeCompare(b)).map(([topic, committed]) => {
        const queueCount = Math.max(this.queueCount(broker, topic), ...[...committed.keys()].map((id) => id + 1));
        let topicLag = 0;
        const queues = [];
        for (let queueId = 0; queueId < queueCount; queueId++) {
          const brokerOffset = broker.store.maxOffset(topic, queueId);
          const consumerOffset = committed.get(queueId) ?? -1;
          // No committed offset: everything still in the queue is unconsumed (mqadmin's diff).
          const queueLag = consumerOffset < 0 ? brokerOffset - broker.store.minOffset(topic, queueId) : Math.max(0, brokerOffset - consumerOffset);
          topicLag += queueLag;
          queues.push({ queueId, brokerOffset, consumerOffset, lag: queueLag });
        }
        lag += topicLag;
        return { topic, lag: topicLag, queues };
      });
      return {
        group,
        internal: isInternalGroup(group),
        online: live ? live.channels.size : 0,
        clientIds: live ? [...live.channels.values()].map((channel) => channel.clientId).sort() : [],
        messageModel: live?.messageModel ?? null,
        consumeType: live?.consumeType ?? null,
        lag,
        topics: topicRows,
      };
    });
    return { brokerName: broker.config.brokerName, groups };
  }

  messages(params: URLSearchParams): unknown {
    const broker = this.broker();
    const topic = params.get("topic")?.trim() ?? "";
    const key = params.get("key")?.trim() ?? "";
    const msgId = params.get("msgId")?.trim() ?? "";
    const beginText = params.get("begin")?.trim() ?? "";
    const endText = params.get("end")?.trim() ?? "";
    let found: ReceivedMessage[];
    let how: string;
    if (msgId !== "") {
      found = this.byMessageId(broker, msgId, topic);
      how = "msgId";
    } else if (key !== "") {
      if (topic === "") throw new ApiError(400, "a key search needs the topic");
      found = this.decode(broker, broker.store.queryMessage(topic, key, searchResultsMax, 0, Number.MAX_SAFE_INTEGER).records);
      how = "key";
    } else if (beginText !== "" || endText !== "") {
      if (topic === "") throw new ApiError(400, "a time search needs the topic");
      const begin = beginText === "" ? 0 : Number(beginText);
      const end = endText === "" ? Number.MAX_SAFE_INTEGER : Number(endText);
      if (!Number.isFinite(begin) || !Number.isFinite(end) || begin > end) throw new ApiError(400, "begin and end must be ms since the epoch, begin ≤ end");
      found = this.byTime(broker, topic, begin, end);
      how = "time";
    } else {
      throw new ApiError(400, "give msgId, or topic and key, or topic and begin/end (ms)");
    }
    found.sort((a, b) => a.storeTimestamp - b.storeTimestamp || a.queueId - b.queueId || a.queueOffset - b.queueOffset);
    return { how, truncated: found.length >= searchResultsMax, messages: found.slice(0, searchResultsMax).map((message) => this.traced(broker, message)) };
  }

  private decode(broker: Broker, records: Uint8Array[]): ReceivedMessage[] {
    return records.flatMap((record) => decodePulledMessages(record, broker.config.brokerName));
  }

  /** An offset message id of this broker, else a client message id (UNIQ_KEY) in `topic` or in any topic. */
  private byMessageId(broker: Broker, msgId: string, topic: string): ReceivedMessage[] {
    if (!/^[0-9A-Fa-f]{32}$|^[0-9A-Fa-f]{56}$/.test(msgId)) throw new ApiError(400, "a message id is 32 (or 56) hex digits");
    const { address, commitLogOffset } = parseOffsetMessageId(msgId);
    if (address === broker.brokerAddr) {
      const record = broker.store.recordAtPhysical(commitLogOffset);
      if (record) return this.decode(broker, [record]).filter((message) => topic === "" || message.topic === topic);
    }
    const topics = topic !== "" ? [topic] : [...broker.topics.topics.keys()].filter((name) => !isInternalTopic(name));
    const found: ReceivedMessage[] = [];
    for (const name of topics) {
      for (const message of this.decode(broker, broker.store.queryMessage(name, msgId.toUpperCase(), 8, 0, Number.MAX_SAFE_INTEGER).records)) {
        if (message.propertyMap["UNIQ_KEY"] === msgId.toUpperCase()) found.push(message);
      }
      if (found.length >= searchResultsMax) break;
    }
    return found;
  }

  /** Messages of `topic` stored within [begin, end], from the start of the range, at most searchResultsMax. */
  private byTime(broker: Broker, topic: string, begin: number, end: number): ReceivedMessage[] {
    const found: ReceivedMessage[] = [];
    const queueCount = this.queueCount(broker, topic);
    for (let queueId = 0; queueId < queueCount; queueId++) {
      let offset = broker.store.offsetByTime(topic, queueId, begin);
      const maxOffset = broker.store.maxOffset(topic, queueId);
      let taken = 0;
      while (offset < maxOffset && taken < searchResultsMax) {
        const got = broker.store.get(topic, queueId, offset, 32, () => true);
        if (got.records.length === 0 || got.nextBeginOffset <= offset) break;
        let past = false;
        for (const message of this.decode(broker, got.records)) {
          if (message.storeTimestamp > end) {
            past = true;
            break;
          }
          if (message.storeTimestamp >= begin && taken < searchResultsMax) {
            found.push(message);
            taken++;
          }
        }
        if (past) break;
        offset = got.nextBeginOffset;
      }
    }
    return found;
  }

  /** A message for the page, with its trace: where and when it was stored, who consumed it. */
  private traced(broker: Broker, message: ReceivedMessage): unknown {
    // A group has consumed the message once its committed offset is past the message's.
    const consumers = broker.offsets
      .groupsOf(message.topic)
      .sort()
      .map((group) => {
        const committedOffset = broker.offsets.query(group, message.topic, message.queueId);
        return { group, committedOffset, consumed: committedOffset > message.queueOffset };
      });
    const text = new TextDecoder("utf-8", { fatal: false }).decode(message.body.subarray(0, bodyCharsMax * 4));
    return {
      msgId: message.msgId,
      offsetMsgId: message.offsetMsgId,
      topic: message.topic,
      tags: message.tags ?? null,
      keys: message.keys,
      brokerName: broker.config.brokerName,
      queueId: message.queueId,
      queueOffset: message.queueOffset,
      commitLogOffset: message.commitLogOffset,
      storeSize: message.storeSize,
      bornTimestamp: message.bornTimestamp,
      bornHost: message.bornHost,
      storeTimestamp: message.storeTimestamp,
      storeHost: message.storeHost,
      reconsumeTimes: message.reconsumeTimes,
      properties: message.propertyMap,
      bodyBytes: message.body.length,
      body: text.length > bodyCharsMax ? `${text.slice(0, bodyCharsMax)}…` : text,
      consumers,
    };
  }
}
