/**
 * ClientInstance (src/client/client_instance.ts): what one producer or consumer talks through —
 * one RemotingClient (a TCP connection per address, opened on first use), the name server list,
 * the topic route cache, and typed wrappers of the requests the SDK sends.
 *
 * Guarantees:
 * - route(topic) answers from the cache once a route was fetched; refreshRoutes() (the owner calls
 *   it every routeRefreshIntervalMs) refetches every cached topic and keeps the old route when a
 *   lookup fails. Name servers are tried in turn, starting with the last one that answered.
 * - Broker requests go to the master (brokerId 0) of the named broker; an unknown broker name or
 *   a transport failure (connect, timeout, connection lost) throws MQClientError; an unexpected
 *   response code throws MQBrokerError. Expected "nothing there" answers are results, not errors.
 * - Oneway requests (UPDATE_CONSUMER_OFFSET) never throw; failures are logged.
 * Requires: close() once; nothing may be called after it.
 */
import type { Random } from "../io/io.ts";
import { logScoped } from "../log.ts";
import type { RequestHandler } from "../net/connection.ts";
import { newRequest, type RemotingCommand } from "../net/remoting_command.ts";
import { RequestCode } from "../net/request_code.ts";
import { ResponseCode } from "../net/response_code.ts";
import { RemotingClient } from "../net/tcp_client.ts";
import type { TlsClientOption } from "../net/tls.ts";
import { decodeJsonBody, encodeJsonBody } from "../protocol/json_body.ts";
import type { QueueData, TopicRoute } from "../protocol/route_data.ts";
import { Perm } from "../protocol/topic.ts";
import { MQBrokerError, MQClientError } from "./errors.ts";
import { compareMessageQueues, decodePulledMessages, type MessageQueue, type ReceivedMessage } from "./message.ts";
import type { SubscriptionData } from "./subscription.ts";

const log = logScoped("client");

/** Name server and admin requests (Java's default for route lookups and offset calls). */
export const requestTimeoutMs = 3000;
export const routeRefreshIntervalMs = 30_000;
export const heartbeatIntervalMs = 30_000;

export type { BrokerData, QueueData, TopicRoute } from "../protocol/route_data.ts";

/** HeartbeatData (HEART_BEAT body), fastjson field names. */
export interface ConsumerData {
  groupName: string;
  consumeType: "CONSUME_PASSIVELY" | "CONSUME_ACTIVELY";
  messageModel: "CLUSTERING" | "BROADCASTING";
  consumeFromWhere: string;
  unitMode: boolean;
  subscriptionDataSet: SubscriptionData[];
}
export interface HeartbeatData {
  clientID: string;
  consumerDataSet: ConsumerData[];
  producerDataSet: Array<{ groupName: string }>;
}

export interface PullRequest {
  consumerGroup: string;
  mq: MessageQueue;
  queueOffset: number;
  maxMsgNums: number;
  /** PullSysFlag bits: 1 commit offset, 2 suspend, 4 subscription. */
  sysFlag: number;
  commitOffset: number;
  suspendTimeoutMillis: number;
  subscription: string;
  subVersion: number;
  /** Default TAG. */
  expressionType?: "TAG" | "SQL92";
}
export const PullSysFlag = { COMMIT_OFFSET: 1, SUSPEND: 2, SUBSCRIPTION: 4 } as const;

export interface PullResponse {
  /** SUCCESS, PULL_NOT_FOUND, PULL_RETRY_IMMEDIATELY or PULL_OFFSET_MOVED; others throw. */
  code: number;
  nextBeginOffset: number;
  minOffset: number;
  maxOffset: number;
  /** Decoded and decompressed; empty unless code is SUCCESS. Not yet tag-filtered. */
  messages: ReceivedMessage[];
}

export function parseNamesrvAddrs(namesrvAddr: string): string[] {
  const addrs = namesrvAddr.split(";").map((addr) => addr.trim()).filter((addr) => addr.length > 0);
  if (addrs.length === 0) throw new MQClientError("namesrvAddr is empty");
  for (const addr of addrs) if (!/^[^:\s]+:\d+$/.test(addr)) throw new MQClientError(`namesrvAddr: not host:port: ${addr}`);
  return addrs;
}

/** Queues to send to: writable queues of brokers with a master, sorted by broker name. */
export function publishQueues(topic: string, route: TopicRoute): MessageQueue[] {
  return routeQueues(topic, route, Perm.WRITE, (queueData) => queueData.writeQueueNums);
}

/** Queues to consume: readable queues of brokers with a master, sorted as rebalancing needs. */
export function subscribeQueues(topic: string, route: TopicRoute): MessageQueue[] {
  return routeQueues(topic, route, Perm.READ, (queueData) => queueData.readQueueNums);
}

function routeQueues(topic: string, route: TopicRoute, perm: number, count: (queueData: QueueData) => number): MessageQueue[] {
  const queues: MessageQueue[] = [];
  for (const queueData of route.queueDatas) {
    if ((queueData.perm & perm) === 0) continue;
    const broker = route.brokerDatas.find((data) => data.brokerName === queueData.brokerName);
    if (broker?.brokerAddrs["0"] === undefined) continue;
    for (let queueId = 0; queueId < count(queueData); queueId++) queues.push({ topic, brokerName: queueData.brokerName, queueId });
  }
  return queues.sort(compareMessageQueues);
}

function parseRoute(body: Uint8Array | null): TopicRoute {
  const value = decodeJsonBody(body) as Partial<TopicRoute> | null;
  if (value === null || !Array.isArray(value.brokerDatas) || !Array.isArray(value.queueDatas)) {
    throw new MQClientError("topic route body is not TopicRouteData");
  }
  return { brokerDatas: value.brokerDatas, queueDatas: value.queueDatas };
}

export class ClientInstance {
  readonly remoting: RemotingClient;
  private readonly namesrvAddrs: string[];
  private namesrvIndex: number;
  private readonly routes = new Map<string, TopicRoute>();
  /** brokerName → master address, from every route fetched. */
  private readonly masters = new Map<string, string>();
  private closed = false;
  /** Grows whenever a broker's master address is learned or changes: time to heartbeat it. */
  mastersVersion = 0;

  constructor(namesrvAddr: string, random: Random, onRequest?: RequestHandler, tls?: TlsClientOption) {
    this.namesrvAddrs = parseNamesrvAddrs(namesrvAddr);
    this.namesrvIndex = random.below(this.namesrvAddrs.length);
    this.remoting = new RemotingClient({ ...(onRequest ? { onRequest } : {}), ...(tls ? { tls } : {}) });
  }

  /** Sends `request`; transport failures become MQClientError. */
  async invoke(address: string, request: RemotingCommand, timeoutMs: number): Promise<RemotingCommand> {
    if (this.closed) throw new MQClientError("client is shut down");
    try {
      return await this.remoting.invoke(address, request, timeoutMs);
    } catch (error) {
      throw new MQClientError(`request ${request.code} to ${address} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  async invokeNamesrv(request: RemotingCommand): Promise<RemotingCommand> {
    let lastError: unknown = null;
    for (let tried = 0; tried < this.namesrvAddrs.length; tried++) {
      const index = (this.namesrvIndex + tried) % this.namesrvAddrs.length;
      try {
        const response = await this.invoke(this.namesrvAddrs[index]!, request, requestTimeoutMs);
        this.namesrvIndex = index;
        return response;
      } catch (error) {
        lastError = error; // each address has its own connection, so the same opaque is fine
      }
    }
    throw new MQClientError(`no name server answered (${this.namesrvAddrs.join(";")})`, { cause: lastError });
  }

  // ------------------------------------------------------------------------------ routes

  /** GET_ROUTEINFO_BY_TOPIC (105). TOPIC_NOT_EXIST (17) throws MQBrokerError with that code. */
  async fetchRoute(topic: string): Promise<TopicRoute> {
    const response = await this.invokeNamesrv(newRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic, acceptStandardJsonOnly: "true" }));
    if (response.code !== ResponseCode.SUCCESS) throw new MQBrokerError(response.code, response.remark ?? "", "name server");
    const route = parseRoute(response.body);
    this.routes.set(topic, route);
    for (const broker of route.brokerDatas) {
      const master = broker.brokerAddrs["0"];
      if (master === undefined || this.masters.get(broker.brokerName) === master) continue;
      this.masters.set(broker.brokerName, master);
      this.mastersVersion++;
    }
    return route;
  }

  async route(topic: string): Promise<TopicRoute> {
    return this.routes.get(topic) ?? (await this.fetchRoute(topic));
  }

  /** Refetches every cached route; a failed lookup keeps the old one. */
  async refreshRoutes(): Promise<void> {
    await Promise.all(
      [...this.routes.keys()].map((topic) =>
        this.fetchRoute(topic).catch((error: unknown) => log.warnEvery(30_000, "route.refresh_failed", { topic, error: String(error) })),
      ),
    );
  }

  masterAddr(brokerName: string): string {
    const addr = this.masters.get(brokerName);
    if (addr === undefined) throw new MQClientError(`no master address for broker ${brokerName}`);
    return addr;
  }

  masterAddrs(): string[] {
    return [...new Set(this.masters.values())];
  }

  // ------------------------------------------------------------------------------ broker requests

  private async invokeBroker(brokerName: string, request: RemotingCommand, timeoutMs = requestTimeoutMs): Promise<RemotingCommand> {
    return this.invoke(this.masterAddr(brokerName), request, timeoutMs);
  }

  /**
   * CONSUMER_SEND_MSG_BACK (36) to the master of the broker the message came from: the broker
   * stores a copy in %RETRY%<group> at delay level 3 + reconsumeTimes (delayLevel 0), or in
   * %DLQ%<group> once reconsumeTimes reaches maxReconsumeTimes.
   */
  async sendMessageBack(
    brokerName: string,
    commitLogOffset: number,
    group: string,
    delayLevel: number,
    originMsgId: string,
    originTopic: string,
    maxReconsumeTimes: number,
  ): Promise<void> {
    const request = newRequest(RequestCode.CONSUMER_SEND_MSG_BACK, {
      offset: String(commitLogOffset),
      group,
      delayLevel: String(delayLevel),
      originMsgId,
      originTopic,
      unitMode: "false",
      maxReconsumeTimes: String(maxReconsumeTimes),
    });
    const response = await this.invokeBroker(brokerName, request);
    if (response.code !== ResponseCode.SUCCESS) throw new MQBrokerError(response.code, response.remark ?? "", this.masterAddr(brokerName));
  }

  private async offsetCall(code: number, mq: MessageQueue, extra: Record<string, string> = {}): Promise<number> {
    const request = newRequest(code, { topic: mq.topic, queueId: String(mq.queueId), ...extra });
    const response = await this.invokeBroker(mq.brokerName, request);
    if (response.code !== ResponseCode.SUCCESS) throw new MQBrokerError(response.code, response.remark ?? "", this.masterAddr(mq.brokerName));
    return Number(response.extFields["offset"] ?? -1);
  }

  /** QUERY_CONSUMER_OFFSET (14); null when the broker has none (QUERY_NOT_FOUND, 22). */
  async queryConsumerOffset(consumerGroup: string, mq: MessageQueue): Promise<number | null> {
    const request = newRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup, topic: mq.topic, queueId: String(mq.queueId) });
    const response = await this.invokeBroker(mq.brokerName, request);
    if (response.code === ResponseCode.QUERY_NOT_FOUND) return null;
    if (response.code !== ResponseCode.SUCCESS) throw new MQBrokerError(response.code, response.remark ?? "", this.masterAddr(mq.brokerName));
    const offset = Number(response.extFields["offset"] ?? -1);
    return offset >= 0 ? offset : null;
  }

  /** UPDATE_CONSUMER_OFFSET (15), oneway. */
  updateConsumerOffset(consumerGroup: string, mq: MessageQueue, offset: number): void {
    let addr: string;
    try {
      addr = this.masterAddr(mq.brokerName);
    } catch (error) {
      log.warnEvery(10_000, "offset.update_failed", { mq, error: String(error) });
      return;
    }
    if (this.closed) return;
    const request = newRequest(RequestCode.UPDATE_CONSUMER_OFFSET, {
      consumerGroup, topic: mq.topic, queueId: String(mq.queueId), commitOffset: String(offset),
    });
    this.remoting.invokeOneway(addr, request).catch((error: unknown) => log.warnEvery(10_000, "offset.update_failed", { addr, error: String(error) }));
  }

  /** GET_MAX_OFFSET (30): the next offset the queue will write. */
  maxOffset(mq: MessageQueue): Promise<number> {
    return this.offsetCall(RequestCode.GET_MAX_OFFSET, mq);
  }
  /** GET_MIN_OFFSET (31): the first offset still stored. */
  minOffset(mq: MessageQueue): Promise<number> {
    return this.offsetCall(RequestCode.GET_MIN_OFFSET, mq);
  }
  /** SEARCH_OFFSET_BY_TIMESTAMP (29). */
  searchOffset(mq: MessageQueue, timestampMs: number): Promise<number> {
    return this.offsetCall(RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, mq, { timestamp: String(timestampMs) });
  }

  /** GET_CONSUMER_LIST_BY_GROUP (38) from a broker serving `topic`; null when it knows none. */
  async consumerIdList(consumerGroup: string, topic: string): Promise<string[] | null> {
    const route = await this.route(topic);
    const broker = route.brokerDatas.find((data) => data.brokerAddrs["0"] !== undefined);
    if (!broker) return null;
    const response = await this.invoke(broker.brokerAddrs["0"]!, newRequest(RequestCode.GET_CONSUMER_LIST_BY_GROUP, { consumerGroup }), requestTimeoutMs);
    if (response.code !== ResponseCode.SUCCESS) return null;
    const body = decodeJsonBody(response.body) as { consumerIdList?: unknown } | null;
    return Array.isArray(body?.consumerIdList) ? body.consumerIdList.filter((id): id is string => typeof id === "string") : null;
  }

  /** PULL_MESSAGE (11) from the queue's master. */
  async pull(pull: PullRequest, timeoutMs: number): Promise<PullResponse> {
    const request = newRequest(RequestCode.PULL_MESSAGE, {
      consumerGroup: pull.consumerGroup,
      topic: pull.mq.topic,
      queueId: String(pull.mq.queueId),
      queueOffset: String(pull.queueOffset),
      maxMsgNums: String(pull.maxMsgNums),
      sysFlag: String(pull.sysFlag),
      commitOffset: String(pull.commitOffset),
      suspendTimeoutMillis: String(pull.suspendTimeoutMillis),
      subscription: pull.subscription,
      subVersion: String(pull.subVersion),
      expressionType: pull.expressionType ?? "TAG",
    });
    const response = await this.invokeBroker(pull.mq.brokerName, request, timeoutMs);
    const ext = response.extFields;
    switch (response.code) {
      case ResponseCode.SUCCESS:
      case ResponseCode.PULL_NOT_FOUND:
      case ResponseCode.PULL_RETRY_IMMEDIATELY:
      case ResponseCode.PULL_OFFSET_MOVED:
        return {
          code: response.code,
          nextBeginOffset: Number(ext["nextBeginOffset"] ?? pull.queueOffset),
          minOffset: Number(ext["minOffset"] ?? 0),
          maxOffset: Number(ext["maxOffset"] ?? 0),
          messages: response.code === ResponseCode.SUCCESS && response.body ? decodePulledMessages(response.body, pull.mq.brokerName) : [],
        };
      default:
        throw new MQBrokerError(response.code, response.remark ?? "", this.masterAddr(pull.mq.brokerName));
    }
  }

  /** HEART_BEAT (34) to every master this instance knows of; failures are logged. */
  async heartbeatAll(data: HeartbeatData): Promise<void> {
    const body = encodeJsonBody(data);
    await Promise.all(
      this.masterAddrs().map(async (addr) => {
        try {
          const response = await this.invoke(addr, newRequest(RequestCode.HEART_BEAT, {}, body), requestTimeoutMs);
          if (response.code !== ResponseCode.SUCCESS) log.warnEvery(30_000, "heartbeat.refused", { addr, code: response.code, remark: response.remark });
        } catch (error) {
          log.warnEvery(30_000, "heartbeat.failed", { addr, error: String(error) });
        }
      }),
    );
  }

  /** UNREGISTER_CLIENT (35) to every master known; best effort. */
  async unregisterAll(clientId: string, group: { producerGroup: string } | { consumerGroup: string }): Promise<void> {
    await Promise.all(
      this.masterAddrs().map((addr) =>
        this.invoke(addr, newRequest(RequestCode.UNREGISTER_CLIENT, { clientID: clientId, ...group }), requestTimeoutMs).catch(() => undefined),
      ),
    );
  }

  /** No request may start after this; requests in flight (held pulls) fail with the connection. */
  close(): void {
    this.closed = true;
    this.remoting.close();
  }
}
