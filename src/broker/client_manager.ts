/**
 * ClientManager (src/broker/client_manager.ts): which clients are alive in which consumer and
 * producer groups, from HEART_BEAT (34) and UNREGISTER_CLIENT (35). A channel is dropped after
 * `channelExpiryMs` without a heartbeat or when its connection closes. When the set of a consumer
 * group's clients changes, every member gets NOTIFY_CONSUMER_IDS_CHANGED (40, oneway, JSON) so
 * Java clients rebalance at once; ali-ons ignores it and rebalances every 10 s. When a client id
 * loses its last channel in a consumer group (closed or expired, not a clean unregister),
 * `onConsumerGone` tells the owner (the broker shortens that client's queue locks).
 */
import { logScoped } from "../log.ts";
import type { Connection } from "../net/connection.ts";
import { newRequest } from "../net/remoting_command.ts";
import { RequestCode } from "../net/request_code.ts";

const log = logScoped("broker");

export interface SubscriptionData {
  topic: string;
  subString: string;
  tagsSet?: string[];
  codeSet?: number[];
  subVersion?: number;
  expressionType?: string;
}

export interface ConsumerData {
  groupName: string;
  consumeType?: string;
  messageModel?: string;
  consumeFromWhere?: string;
  subscriptionDataSet?: SubscriptionData[];
}

export interface HeartbeatData {
  clientID: string;
  consumerDataSet?: ConsumerData[];
  producerDataSet?: Array<{ groupName: string }>;
}

interface Channel {
  clientId: string;
  connection: Connection;
  lastUpdateMs: number;
}

export interface ConsumerGroup {
  groupName: string;
  consumeType: string;
  messageModel: string;
  consumeFromWhere: string;
  subscriptions: Map<string, SubscriptionData>;
  channels: Map<Connection, Channel>;
}

export class ClientManager {
  readonly consumerGroups = new Map<string, ConsumerGroup>();
  readonly producerGroups = new Map<string, Map<Connection, Channel>>();

  constructor(
    private readonly channelExpiryMs: number,
    private readonly onConsumerGone: (group: string, clientId: string) => void = () => {},
  ) {}

  /** Records a heartbeat. Returns the consumer groups whose membership changed. */
  heartbeat(connection: Connection, data: HeartbeatData, nowMs: number): string[] {
    const changed: string[] = [];
    for (const consumer of data.consumerDataSet ?? []) {
      let group = this.consumerGroups.get(consumer.groupName);
      if (!group) {
        group = {
          groupName: consumer.groupName,
          consumeType: consumer.consumeType ?? "CONSUME_PASSIVELY",
          messageModel: consumer.messageModel ?? "CLUSTERING",
          consumeFromWhere: consumer.consumeFromWhere ?? "CONSUME_FROM_LAST_OFFSET",
          subscriptions: new Map(),
          channels: new Map(),
        };
        this.consumerGroups.set(consumer.groupName, group);
      }
      group.consumeType = consumer.consumeType ?? group.consumeType;
      group.messageModel = consumer.messageModel ?? group.messageModel;
      group.consumeFromWhere = consumer.consumeFromWhere ?? group.consumeFromWhere;
      for (const subscription of consumer.subscriptionDataSet ?? []) group.subscriptions.set(subscription.topic, subscription);
      const channel = group.channels.get(connection);
      if (channel) channel.lastUpdateMs = nowMs;
      else {
        group.channels.set(connection, { clientId: data.clientID, connection, lastUpdateMs: nowMs });
        changed.push(group.groupName);
      }
    }
    for (const producer of data.producerDataSet ?? []) {
      let channels = this.producerGroups.get(producer.groupName);
      if (!channels) this.producerGroups.set(producer.groupName, (channels = new Map()));
      const channel = channels.get(connection);
      if (channel) channel.lastUpdateMs = nowMs;
      else channels.set(connection, { clientId: data.clientID, connection, lastUpdateMs: nowMs });
    }
    connection.attributes.set("clientId", data.clientID);
    for (const group of changed) this.notifyIdsChanged(group);
    return changed;
  }

  unregister(connection: Connection, consumerGroup: string | undefined, producerGroup: string | undefined): void {
    if (consumerGroup) this.removeConsumerChannel(consumerGroup, connection, false);
    if (producerGroup) this.producerGroups.get(producerGroup)?.delete(connection);
  }

  /** A connection closed, or (with nowMs) drop channels silent for too long. */
  expire(nowMs: number, closed?: Connection): void {
    for (const [name, group] of this.consumerGroups) {
      for (const [connection, channel] of group.channels) {
        if (connection === closed || nowMs - channel.lastUpdateMs > this.channelExpiryMs) this.removeConsumerChannel(name, connection, true);
      }
    }
    for (const channels of this.producerGroups.values()) {
      for (const [connection, channel] of channels) {
        if (connection === closed || nowMs - channel.lastUpdateMs > this.channelExpiryMs) channels.delete(connection);
      }
    }
  }

  private removeConsumerChannel(groupName: string, connection: Connection, lost: boolean): void {
    const group = this.consumerGroups.get(groupName);
    const channel = group?.channels.get(connection);
    if (!group || !channel || !group.channels.delete(connection)) return;
    log.debug("consumer.removed", { group: groupName, lost });
    if (lost && ![...group.channels.values()].some((other) => other.clientId === channel.clientId)) {
      this.onConsumerGone(groupName, channel.clientId);
    }
    if (group.channels.size === 0) this.consumerGroups.delete(groupName);
    else this.notifyIdsChanged(groupName);
  }

  consumerIds(groupName: string): string[] {
    const group = this.consumerGroups.get(groupName);
    if (!group) return [];
    return [...new Set([...group.channels.values()].map((channel) => channel.clientId))];
  }

  subscription(groupName: string, topic: string): SubscriptionData | undefined {
    return this.consumerGroups.get(groupName)?.subscriptions.get(topic);
  }

  private notifyIdsChanged(groupName: string): void {
    const group = this.consumerGroups.get(groupName);
    if (!group) return;
    for (const connection of group.channels.keys()) {
      connection.invokeOneway(newRequest(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, { consumerGroup: groupName }));
    }
  }
}
