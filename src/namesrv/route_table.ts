/**
 * RouteTable (src/namesrv/route_table.ts): the name server's memory of live brokers and the
 * topics they serve, as RocketMQ's RouteInfoManager keeps it. Nothing here is persisted: brokers
 * re-register every 30 s and are dropped after `brokerExpiryMs` of silence or when their
 * connection closes.
 */
import type { QueueData } from "../protocol/route_data.ts";
import type { TopicConfig } from "../protocol/topic.ts";

export interface BrokerData {
  cluster: string;
  brokerName: string;
  /** brokerId (0 = master) → "ip:port". */
  brokerAddrs: Map<number, string>;
}

interface BrokerLive {
  lastUpdateMs: number;
  dataVersion: string;
  haServerAddr: string;
  connectionId: unknown;
}

export interface RegisterInput {
  clusterName: string;
  brokerName: string;
  brokerAddr: string;
  brokerId: number;
  haServerAddr: string;
  dataVersion: string;
  topics: TopicConfig[];
  connectionId: unknown;
}

export interface TopicRouteData {
  queueDatas: QueueData[];
  brokerDatas: BrokerData[];
}

export class RouteTable {
  private readonly topicQueueTable = new Map<string, Map<string, QueueData>>();
  private readonly brokerAddrTable = new Map<string, BrokerData>();
  private readonly clusterAddrTable = new Map<string, Set<string>>();
  private readonly brokerLiveTable = new Map<string, BrokerLive>();

  register(input: RegisterInput, nowMs: number): { masterAddr: string; haServerAddr: string } {
    let names = this.clusterAddrTable.get(input.clusterName);
    if (!names) this.clusterAddrTable.set(input.clusterName, (names = new Set()));
    names.add(input.brokerName);

    let brokerData = this.brokerAddrTable.get(input.brokerName);
    const first = !brokerData;
    if (!brokerData) {
      brokerData = { cluster: input.clusterName, brokerName: input.brokerName, brokerAddrs: new Map() };
      this.brokerAddrTable.set(input.brokerName, brokerData);
    }
    // The same address under another id (a slave promoted, say) moves.
    for (const [id, addr] of brokerData.brokerAddrs) if (addr === input.brokerAddr && id !== input.brokerId) brokerData.brokerAddrs.delete(id);
    brokerData.brokerAddrs.set(input.brokerId, input.brokerAddr);

    const previous = this.brokerLiveTable.get(input.brokerAddr);
    const changed = first || !previous || previous.dataVersion !== input.dataVersion;
    if (input.brokerId === 0 && changed) {
      const listed = new Set<string>();
      for (const topic of input.topics) {
        listed.add(topic.topicName);
        let byBroker = this.topicQueueTable.get(topic.topicName);
        if (!byBroker) this.topicQueueTable.set(topic.topicName, (byBroker = new Map()));
        byBroker.set(input.brokerName, {
          brokerName: input.brokerName,
          readQueueNums: topic.readQueueNums,
          writeQueueNums: topic.writeQueueNums,
          perm: topic.perm,
          topicSysFlag: topic.topicSysFlag,
        });
      }
      // Topics this master no longer has (deleted on the broker) lose its queues.
      for (const [topic, byBroker] of this.topicQueueTable) {
        if (!listed.has(topic) && byBroker.delete(input.brokerName) && byBroker.size === 0) this.topicQueueTable.delete(topic);
      }
    }
    this.brokerLiveTable.set(input.brokerAddr, {
      lastUpdateMs: nowMs,
      dataVersion: input.dataVersion,
      haServerAddr: input.haServerAddr,
      connectionId: input.connectionId,
    });
    const masterAddr = input.brokerId === 0 ? "" : (brokerData.brokerAddrs.get(0) ?? "");
    const haServerAddr = masterAddr ? (this.brokerLiveTable.get(masterAddr)?.haServerAddr ?? "") : "";
    return { masterAddr, haServerAddr };
  }

  unregister(clusterName: string, brokerName: string, brokerAddr: string, brokerId: number): void {
    this.brokerLiveTable.delete(brokerAddr);
    const brokerData = this.brokerAddrTable.get(brokerName);
    if (brokerData && brokerData.brokerAddrs.get(brokerId) === brokerAddr) brokerData.brokerAddrs.delete(brokerId);
    if (brokerData && brokerData.brokerAddrs.size === 0) {
      this.brokerAddrTable.delete(brokerName);
      const names = this.clusterAddrTable.get(clusterName);
      names?.delete(brokerName);
      if (names && names.size === 0) this.clusterAddrTable.delete(clusterName);
    }
    // Queues stay while any broker of the name lives: consumers read a dead master's queues from
    // its slaves (RocketMQ removes them only with the last address).
    if (!this.brokerAddrTable.has(brokerName)) {
      for (const [topic, byBroker] of this.topicQueueTable) {
        if (byBroker.delete(brokerName) && byBroker.size === 0) this.topicQueueTable.delete(topic);
      }
    }
  }

  /** Drops brokers silent for longer than `expiryMs` or registered through a closed connection. */
  expire(nowMs: number, expiryMs: number, closedConnectionId?: unknown): string[] {
    const dropped: string[] = [];
    for (const [addr, live] of this.brokerLiveTable) {
      const stale = nowMs - live.lastUpdateMs > expiryMs;
      const closed = closedConnectionId !== undefined && live.connectionId === closedConnectionId;
      if (!stale && !closed) continue;
      for (const brokerData of this.brokerAddrTable.values()) {
        for (const [id, brokerAddr] of brokerData.brokerAddrs) {
          if (brokerAddr === addr) this.unregister(brokerData.cluster, brokerData.brokerName, addr, id);
        }
      }
      this.brokerLiveTable.delete(addr);
      dropped.push(addr);
    }
    return dropped;
  }

  route(topic: string): TopicRouteData | null {
    const byBroker = this.topicQueueTable.get(topic);
    if (!byBroker || byBroker.size === 0) return null;
    const queueDatas = [...byBroker.values()];
    const brokerDatas: BrokerData[] = [];
    for (const queueData of queueDatas) {
      const brokerData = this.brokerAddrTable.get(queueData.brokerName);
      if (brokerData) brokerDatas.push({ ...brokerData, brokerAddrs: new Map(brokerData.brokerAddrs) });
    }
    if (brokerDatas.length === 0) return null;
    return { queueDatas, brokerDatas };
  }

  /** Live masters that let clients auto-create topics (TBW102 with the inherit bit). */
  autoCreateMasters(defaultTopic: string): string[] {
    const byBroker = this.topicQueueTable.get(defaultTopic);
    if (!byBroker) return [];
    const out: string[] = [];
    for (const queueData of byBroker.values()) {
      if ((queueData.perm & 1) === 0) continue;
      const addr = this.brokerAddrTable.get(queueData.brokerName)?.brokerAddrs.get(0);
      if (addr) out.push(addr);
    }
    return out;
  }

  topicQueueNumsOf(topic: string): number {
    let max = 0;
    for (const queueData of this.topicQueueTable.get(topic)?.values() ?? []) max = Math.max(max, queueData.writeQueueNums);
    return max;
  }

  clusterInfo(): { brokerAddrTable: Map<string, BrokerData>; clusterAddrTable: Map<string, Set<string>> } {
    return { brokerAddrTable: this.brokerAddrTable, clusterAddrTable: this.clusterAddrTable };
  }

  topicList(): string[] {
    return [...this.topicQueueTable.keys()];
  }

  topicsOfCluster(cluster: string): string[] {
    const names = this.clusterAddrTable.get(cluster) ?? new Set<string>();
    return [...this.topicQueueTable].filter(([, byBroker]) => [...byBroker.keys()].some((name) => names.has(name))).map(([topic]) => topic);
  }

  deleteTopic(topic: string): void {
    this.topicQueueTable.delete(topic);
  }
}
