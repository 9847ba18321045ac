/**
 * NameServer (src/namesrv/namesrv.ts): serves routes to clients and takes registrations from
 * brokers, over the remoting protocol (REGISTER_BROKER 103, UNREGISTER_BROKER 104,
 * GET_ROUTEINFO_BY_TOPIC 105, GET_BROKER_CLUSTER_INFO 106, GET_ALL_TOPIC_LIST_FROM_NAMESERVER 206, …).
 *
 * Unknown topics: Java clients fall back to TBW102 when a route is missing, ali-ons does not.
 * So a lookup of an unknown, valid, non-system topic asks every live master that allows
 * auto-creation (TBW102 registered with the inherit bit) to create it (UPDATE_AND_CREATE_TOPIC,
 * min(4, TBW102 queues), perm RW); those brokers re-register before answering, so the route then
 * exists with the broker's real queue counts. Otherwise TOPIC_NOT_EXIST (17).
 */
import type { Io } from "../io/io.ts";
import { logScoped } from "../log.ts";
import type { Connection } from "../net/connection.ts";
import { newRequest, newResponse, type RemotingCommand } from "../net/remoting_command.ts";
import { RequestCode } from "../net/request_code.ts";
import { RemotingError, ResponseCode } from "../net/response_code.ts";
import { RemotingClient } from "../net/tcp_client.ts";
import { RemotingServer, type ServerLimits } from "../net/tcp_server.ts";
import type { TlsServerOptions } from "../net/tls.ts";
import { decodeJsonBody, encodeJsonBody } from "../protocol/json_body.ts";
import {
  defaultTopic,
  dlqTopicPrefix,
  isSystemTopic,
  permReadWrite,
  retryTopicPrefix,
  topicNameProblem,
  type TopicConfig,
} from "../protocol/topic.ts";
import { RouteTable } from "./route_table.ts";
import type { Credentials } from "../security/sign.ts";
import { parseRegisterBrokerBody } from "./register_body.ts";

const log = logScoped("namesrv");

export interface NameServerConfig {
  hostname: string;
  port: number;
  frameBytesMax: number;
  connectionSendBytesMax: number;
  /** Connection limits of the name server port (absent: serverLimitsDefault). */
  serverLimits?: Partial<ServerLimits>;
  /** TLS on the name server port; absent or mode "off": plaintext. */
  tls?: TlsServerOptions | null;
  /** Connect to brokers (topic creation on lookup) with TLS. */
  tlsClient?: boolean;
  brokerExpiryMs: number;
  expiryScanIntervalMs: number;
  /** Queues of a topic created on lookup, before the TBW102 cap. */
  defaultTopicQueueNums: number;
  /** Signs create-on-lookup requests: a broker in the same process with ACL on trusts these. */
  brokerCredentials?: Credentials;
}

export class NameServer {
  readonly routes = new RouteTable();
  private readonly server: RemotingServer;
  private readonly brokers: RemotingClient;
  private readonly creating = new Map<string, Promise<void>>();
  private scanTimer: ReturnType<typeof setInterval> | null = null;
  port = 0;

  constructor(
    private readonly config: NameServerConfig,
    private readonly io: Io,
  ) {
    this.brokers = new RemotingClient({ ...(config.brokerCredentials ? { credentials: config.brokerCredentials } : {}), ...(config.tlsClient ? { tls: true } : {}) });
    this.server = new RemotingServer({
      name: "namesrv",
      limits: config.serverLimits ?? {},
      tls: config.tls ?? null,
      hostname: config.hostname,
      port: config.port,
      frameBytesMax: config.frameBytesMax,
      sendBytesMax: config.connectionSendBytesMax,
      onRequest: (connection, request) => this.process(connection, request),
      onClose: (connection) => this.onConnectionClosed(connection),
    });
  }

  start(): number {
    this.port = this.server.start();
    this.scanTimer = setInterval(() => {
      const dropped = this.routes.expire(this.io.clock.realtimeMs(), this.config.brokerExpiryMs);
      if (dropped.length > 0) log.warn("broker.expired", { brokers: dropped });
    }, this.config.expiryScanIntervalMs);
    return this.port;
  }

  stopAccepting(): void {
    this.server.stopAccepting();
  }

  get connectionCount(): number {
    return this.server.connections.size;
  }

  stop(): void {
    if (this.scanTimer) clearInterval(this.scanTimer);
    this.server.closeConnections();
    this.brokers.close();
  }

  private onConnectionClosed(connection: Connection): void {
    const dropped = this.routes.expire(this.io.clock.realtimeMs(), this.config.brokerExpiryMs, connection);
    if (dropped.length > 0) log.info("broker.disconnected", { brokers: dropped });
  }

  process(connection: Connection, request: RemotingCommand): Promise<RemotingCommand> | RemotingCommand {
    const ext = request.extFields;
    switch (request.code) {
      case RequestCode.REGISTER_BROKER:
        return this.register(connection, request);
      case RequestCode.UNREGISTER_BROKER:
        this.routes.unregister(ext["clusterName"] ?? "", ext["brokerName"] ?? "", ext["brokerAddr"] ?? "", Number(ext["brokerId"] ?? 0));
        log.info("broker.unregistered", { brokerAddr: ext["brokerAddr"] });
        return newResponse(request, ResponseCode.SUCCESS);
      case RequestCode.GET_ROUTEINFO_BY_TOPIC:
        return this.routeInfo(request);
      case RequestCode.GET_BROKER_CLUSTER_INFO: {
        const info = this.routes.clusterInfo();
        return newResponse(request, ResponseCode.SUCCESS, null, {}, encodeJsonBody(info));
      }
      case RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER:
        return newResponse(request, ResponseCode.SUCCESS, null, {}, encodeJsonBody({ topicList: this.routes.topicList() }));
      case RequestCode.GET_TOPICS_BY_CLUSTER:
        return newResponse(request, ResponseCode.SUCCESS, null, {}, encodeJsonBody({ topicList: this.routes.topicsOfCluster(ext["cluster"] ?? "") }));
      case RequestCode.DELETE_TOPIC_IN_NAMESRV:
        this.routes.deleteTopic(ext["topic"] ?? "");
        return newResponse(request, ResponseCode.SUCCESS);
      case RequestCode.QUERY_DATA_VERSION:
        return newResponse(request, ResponseCode.SUCCESS, null, { changed: "true" });
      case RequestCode.GET_KV_CONFIG:
        return newResponse(request, ResponseCode.QUERY_NOT_FOUND, `No config item, Namespace: ${ext["namespace"]} Key: ${ext["key"]}`);
      case RequestCode.GET_KVLIST_BY_NAMESPACE:
        return newResponse(request, ResponseCode.QUERY_NOT_FOUND, `No config item, Namespace: ${ext["namespace"]}`);
      case RequestCode.PUT_KV_CONFIG:
      case RequestCode.DELETE_KV_CONFIG:
        return newResponse(request, ResponseCode.SUCCESS);
      default:
        return newResponse(request, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, ` request type ${request.code} not supported`);
    }
  }

  private register(connection: Connection, request: RemotingCommand): RemotingCommand {
    const ext = request.extFields;
    for (const field of ["brokerName", "brokerAddr", "clusterName", "brokerId"]) {
      if (ext[field] === undefined) throw new RemotingError(ResponseCode.SYSTEM_ERROR, `the custom field <${field}> is null`);
    }
    if (ext["compressed"] === "true") throw new RemotingError(ResponseCode.SYSTEM_ERROR, "compressed registration bodies are not supported; set compressedRegister=false");
    const body = parseRegisterBrokerBody(request.body);
    const result = this.routes.register(
      {
        clusterName: ext["clusterName"]!,
        brokerName: ext["brokerName"]!,
        brokerAddr: ext["brokerAddr"]!,
        brokerId: Number(ext["brokerId"]),
        haServerAddr: ext["haServerAddr"] ?? "",
        dataVersion: JSON.stringify(body.dataVersion),
        topics: body.topics,
        connectionId: connection,
      },
      this.io.clock.realtimeMs(),
    );
    return newResponse(request, ResponseCode.SUCCESS, null, { masterAddr: result.masterAddr, haServerAddr: result.haServerAddr });
  }

  private async routeInfo(request: RemotingCommand): Promise<RemotingCommand> {
    const topic = request.extFields["topic"] ?? "";
    let route = this.routes.route(topic);
    if (!route && topicNameProblem(topic) === null && !isSystemTopic(topic)) {
      await this.createOnLookup(topic);
      route = this.routes.route(topic);
    }
    if (!route) return newResponse(request, ResponseCode.TOPIC_NOT_EXIST, `No topic route info in name server for the topic: ${topic}`);
    const body = { brokerDatas: route.brokerDatas, filterServerTable: {}, queueDatas: route.queueDatas };
    return newResponse(request, ResponseCode.SUCCESS, null, {}, encodeJsonBody(body));
  }

  /** Asks auto-creating masters to create `topic`; concurrent lookups share one attempt. */
  private createOnLookup(topic: string): Promise<void> {
    const pending = this.creating.get(topic);
    if (pending) return pending;
    const masters = this.routes.autoCreateMasters(defaultTopic);
    if (masters.length === 0) return Promise.resolve();
    const single = topic.startsWith(retryTopicPrefix) || topic.startsWith(dlqTopicPrefix);
    const queueNums = single ? 1 : Math.min(this.config.defaultTopicQueueNums, this.routes.topicQueueNumsOf(defaultTopic) || this.config.defaultTopicQueueNums);
    const attempt = Promise.allSettled(
      masters.map((addr) =>
        this.brokers.invoke(
          addr,
          newRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, {
            topic,
            defaultTopic,
            readQueueNums: String(queueNums),
            writeQueueNums: String(queueNums),
            perm: String(permReadWrite),
            topicFilterType: "SINGLE_TAG",
            topicSysFlag: "0",
            order: "false",
            createIfAbsent: "true",
          }),
          5000,
        ),
      ),
    ).then((results) => {
      this.creating.delete(topic);
      const failed = results.filter((result) => result.status === "rejected" || result.value.code !== ResponseCode.SUCCESS);
      if (failed.length > 0) log.warn("topic.create_on_lookup_failed", { topic, failed: failed.length });
      else log.info("topic.created_on_lookup", { topic, queueNums, brokers: masters.length });
    });
    this.creating.set(topic, attempt);
    return attempt;
  }
}
