/**
 * ClientInstance (src/client/client_instance.ts): what one producer or consumer talks through —
 * one RemotingClient (a TCP connection per address, opened on first use), the name server list,
 * the topic route cache, and typed wrappers of the requests the SDK sends.
 *
 * Guarantees:
 * - route(topic) answers from the cache once a route was fetched; refreshRoutes() (the owner calls
 *   it every routeRefreshIntervalMs) refetches every cached topic and keeps the old route when a
 *   lookup fails. Name servers are tried in turn, starting with the last one that answered.
 * - Sends and most broker requests go to the master (brokerId 0) of the named broker. Pulls go to
 *   the brokerId the last pull of that queue was told (suggestWhichBrokerId), else the master,
 *   else any slave of the name; consumer offsets to the master, else a slave (as the Java
 *   client's findBrokerAddressInSubscribe / findBrokerAddressInAdmin), so consumers go on
 *   reading a dead master's queues from its slave. A pull that fails in transport refetches the
 *   topic's route (at most once a second), so a master the name server dropped is noticed at once.
 * - An unknown broker name or
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
import type { Credentials } from "../security/sign.ts";

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
  return routeQueues(topic, route, Perm.WRITE, (queueData) => queueData.writeQueueNums, true);
}

/** Queues to consume: readable queues of brokers with any live address (a slave serves reads), sorted as rebalancing needs. */
export function subscribeQueues(topic: string, route: TopicRoute): MessageQueue[] {
  return routeQueues(topic, route, Perm.READ, (queueData) => queueData.readQueueNums, false);
}

function routeQueues(
  topic: string, route: TopicRoute, perm: number, count: (queueData: QueueData) => number, masterOnly: boolean,
): MessageQueue[] {
  const queues: MessageQueue[] = [];
  for (const queueData of route.queueDatas) {
    if ((queueData.perm & perm) === 0) continue;
    const broker = route.brokerDatas.find((data) => data.brokerName === queueData.brokerName);
    if (!broker) continue;
    if (masterOnly ? broker.brokerAddrs["0"] === undefined : Object.keys(broker.brokerAddrs).length === 0) continue;
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
  /** brokerName → brokerId → address, as the newest route naming the broker listed them. */
  private readonly brokerAddrs = new Map<string, Record<string, string>>();
  /** "topic@brokerName@queueId" → the brokerId the last pull was told to use next. */
  private readonly pullFrom = new Map<string, number>();
  /** topic → when a failed pull last refetched its route (monotonic ms). */
  private readonly routeRefetchedMs = new Map<string, number>();
  private closed = false;
  /** Grows whenever a broker's master (or a new slave) address is learned or changes: time to heartbeat it. */
  mastersVersion = 0;

  /** `credentials`: every request is signed with them (RocketMQ's ACL, src/security/sign.ts); `tls`: connect with TLS. */
  constructor(namesrvAddr: string, random: Random, onRequest?: RequestHandler, credentials?: Credentials, tls?: TlsClientOption) {
    this.namesrvAddrs = parseNamesrvAddrs(namesrvAddr);
    this.namesrvIndex = random.below(this.namesrvAddrs.length);
    this.remoting = new RemotingClient({ ...(onRequest ? { onRequest } : {}), ...(credentials ? { credentials } : {}), ...(tls ? { tls } : {}) });
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
      const known = this.brokerAddrs.get(broker.brokerName);
      if (known === undefined || JSON.stringify(known) !== JSON.stringify(broker.brokerAddrs)) {
        this.brokerAddrs.set(broker.brokerName, { ...broker.brokerAddrs });
        if (Object.keys(broker.brokerAddrs).some((id) => id !== "0" && known?.[id] !== broker.brokerAddrs[id])) this.mastersVersion++; // a new slave: heartbeat it
      }
      const master = broker.brokerAddrs["0"];
      if (master === undefined) {
        // The name server dropped this master (its slaves still serve reads).
        this.masters.delete(broker.brokerName);
        continue;
      }
      if (this.masters.get(broker.brokerName) === master) continue;
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
   * The address to read `brokerName` from: brokerId `preferredId`, else the master, else the
   * lowest-numbered slave (Java's findBrokerAddressInSubscribe with onlyThisBroker false).
   */
  readAddr(brokerName: string, preferredId = 0): { addr: string; brokerId: number } {
    const addrs = this.brokerAddrs.get(brokerName);
    if (addrs) {
      for (const id of [preferredId, 0]) {
        const addr = addrs[String(id)];
        if (addr !== undefined) return { addr, brokerId: id };
      }
      const ids = Object.keys(addrs).map(Number).sort((a, b) => a - b);
      if (ids.length > 0) return { addr: addrs[String(ids[0])]!, brokerId: ids[0]! };
    }
    const master = this.masters.get(brokerName);
    if (master !== undefined) return { addr: master, brokerId: 0 };
    throw new MQClientError(`no address for broker ${brokerName}`);
  }

  /** Consumer offsets: the master, else a slave (Java's findBrokerAddressInAdmin). */
  private async invokeOffsets(brokerName: string, request: RemotingCommand): Promise<{ response: RemotingCommand; addr: string }> {
    const { addr } = this.readAddr(brokerName, 0);
    return { response: await this.invoke(addr, request, requestTimeoutMs), addr };
  }

  /** After a transport failure sending to or reading `topic`: refetch its route, at most once a second. */
  refetchRouteSoon(topic: string): void {
    const now = performance.now();
    if (now - (this.routeRefetchedMs.get(topic) ?? Number.NEGATIVE_INFINITY) < 1000) return;
    this.routeRefetchedMs.set(topic, now);
    this.fetchRoute(topic).catch((error: unknown) => log.warnEvery(30_000, "route.refresh_failed", { topic, error: String(error) }));
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
    const { response, addr } = await this.invokeOffsets(mq.brokerName, request);
    if (response.code === ResponseCode.QUERY_NOT_FOUND) return null;
    if (response.code !== ResponseCode.SUCCESS) throw new MQBrokerError(response.code, response.remark ?? "", addr);
    const offset = Number(response.extFields["offset"] ?? -1);
    return offset >= 0 ? offset : null;
  }

  /** UPDATE_CONSUMER_OFFSET (15), oneway. */
  updateConsumerOffset(consumerGroup: string, mq: MessageQueue, offset: number): void {
    let addr: string;
    try {
      addr = this.readAddr(mq.brokerName, 0).addr;
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
    // A master if any is up, else a slave (consumers heartbeat slaves too, as Java's do).
    const broker = route.brokerDatas.find((data) => data.brokerAddrs["0"] !== undefined) ?? route.brokerDatas.find((data) => Object.keys(data.brokerAddrs).length > 0);
    if (!broker) return null;
    const addr = broker.brokerAddrs["0"] ?? Object.values(broker.brokerAddrs)[0]!;
    const response = await this.invoke(addr, newRequest(RequestCode.GET_CONSUMER_LIST_BY_GROUP, { consumerGroup }), requestTimeoutMs);
    if (response.code !== ResponseCode.SUCCESS) return null;
    const body = decodeJsonBody(response.body) as { consumerIdList?: unknown } | null;
    return Array.isArray(body?.consumerIdList) ? body.consumerIdList.filter((id): id is string => typeof id === "string") : null;
  }

  /** PULL_MESSAGE (11) from the broker the last pull of this queue suggested (see readAddr). */
  async pull(pull: PullRequest, timeoutMs: number): Promise<PullResponse> {
    const queueKey = `${pull.mq.topic}@${pull.mq.brokerName}@${pull.mq.queueId}`;
    const { addr, brokerId } = this.readAddr(pull.mq.brokerName, this.pullFrom.get(queueKey) ?? 0);
    // A slave does not take commit offsets from pulls (Java clears the flag too).
    const sysFlag = brokerId === 0 ? pull.sysFlag : pull.sysFlag & ~PullSysFlag.COMMIT_OFFSET;
    const request = newRequest(RequestCode.PULL_MESSAGE, {
      consumerGroup: pull.consumerGroup,
      topic: pull.mq.topic,
      queueId: String(pull.mq.queueId),
      queueOffset: String(pull.queueOffset),
      maxMsgNums: String(pull.maxMsgNums),
      sysFlag: String(sysFlag),
      commitOffset: String(pull.commitOffset),
      suspendTimeoutMillis: String(pull.suspendTimeoutMillis),
      subscription: pull.subscription,
      subVersion: String(pull.subVersion),
      expressionType: pull.expressionType ?? "TAG",
    });
    let response: RemotingCommand;
    try {
      response = await this.invoke(addr, request, timeoutMs);
    } catch (error) {
      this.pullFrom.delete(queueKey);
      this.refetchRouteSoon(pull.mq.topic);
      throw error;
    }
    const ext = response.extFields;
    const suggested = Number(ext["suggestWhichBrokerId"] ?? 0);
    if (Number.isSafeInteger(suggested) && suggested > 0) this.pullFrom.set(queueKey, suggested);
    else this.pullFrom.delete(queueKey);
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
        throw new MQBrokerError(response.code, response.remark ?? "", addr);
    }
  }

  /** HEART_BEAT (34) to every master this instance knows of, and to slaves when it has consumers (they may read from them); failures are logged. */
  async heartbeatAll(data: HeartbeatData): Promise<void> {
    const body = encodeJsonBody(data);
    const addrs = new Set(this.masterAddrs());
    if (data.consumerDataSet.length > 0) for (const byId of this.brokerAddrs.values()) for (const addr of Object.values(byId)) addrs.add(addr);
    await Promise.all(
      [...addrs].map(async (addr) => {
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
