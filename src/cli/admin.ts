/**
 * bolide admin (src/cli/admin.ts): the everyday commands of RocketMQ's mqadmin, in the same
 * binary, speaking the remoting protocol to name servers and brokers. Options as mqadmin's:
 * -n name server address, -t topic, -g group, -b broker address, -c cluster, -k key, -i id,
 * -o offset, -s timestamp, -r/-w queue numbers, -p perm or body, -v value. Tables for people; `--json`
 * prints the same data as JSON with RocketMQ's field names. Exit codes: 0 done, 1 the server
 * answered an error or could not be reached, 2 bad usage.
 *
 * ACL: with --access-key and --secret-key (or BOLIDE_ACCESS_KEY / BOLIDE_SECRET_KEY, which keep
 * the secret out of the process list) every request is signed as RocketMQ's AclClientRPCHook
 * signs it; mqadmin reads the same pair from conf/tools.yml.
 */
import { parseArgs } from "node:util";
import { MQAdmin } from "../client/admin.ts";
import { decodePulledMessages, type ReceivedMessage } from "../client/message.ts";
import { newRequest, type RemotingCommand } from "../net/remoting_command.ts";
import { RequestCode } from "../net/request_code.ts";
import { ResponseCode } from "../net/response_code.ts";
import { RemotingClient } from "../net/tcp_client.ts";
import { decodeJsonBody } from "../protocol/json_body.ts";
import type { BrokerData, TopicRoute } from "../protocol/route_data.ts";
import { encodeProperties } from "../protocol/message_properties.ts";
import { parseBrokerConf } from "../config.ts";
import type { Credentials } from "../security/sign.ts";

export const adminUsage = `Usage: bolide admin <command> [options]   (-n defaults to 127.0.0.1:9876; --json for scripts)
  clusterList                       brokers by cluster, with their addresses and store offsets
  brokerStatus -b ADDR              a broker's runtime figures
  getBrokerConfig -b ADDR | -c CLUSTER               a broker's settings (broker.conf keys)
  updateBrokerConfig -b ADDR | -c CLUSTER -k KEY -v VALUE   change a setting of running brokers
                                    (maxMessageSize, fileReservedTime, deleteWhen, diskMaxUsedSpaceRatio,
                                    transactionTimeOut, transactionCheckInterval, transactionCheckMax)
  topicList                         every topic the name server routes
  topicRoute -t TOPIC               the route: brokers and queue counts
  topicStatus -t TOPIC              per queue: minOffset, maxOffset, lastUpdateTimestamp
  updateTopic -t TOPIC [-r N] [-w N] [-p PERM] [-b ADDR | -c CLUSTER]   create or change a topic
  deleteTopic -t TOPIC [-c CLUSTER] remove a topic from its brokers and the name servers
  consumerProgress -g GROUP [-t TOPIC]   per queue: brokerOffset, consumerOffset, diff (lag)
  consumerConnection -g GROUP       the group's live client ids
  queryMsgById -i OFFSET_MSG_ID     one message by its offset message id
  queryMsgByKey -t TOPIC -k KEY     messages by key (KEYS or UNIQ_KEY)
  queryMsgByOffset -t TOPIC -b BROKER_NAME -i QUEUE_ID -o OFFSET   one message by queue offset
  resetOffsetByTime -g GROUP -t TOPIC -s TIMESTAMP_MS|now   move a stopped group's offsets
  sendMessage -t TOPIC -p BODY [-k KEYS] [-c TAGS]   send one message
  consumeMessage -t TOPIC [-c COUNT] [-g GROUP]      print messages from the start of each queue
  deadLetters -g GROUP              the messages in %DLQ%<group> (given up after maxReconsumeTimes)
  resendDeadLetters -g GROUP [-i OFFSET_MSG_ID]      send them (or one) back to their original topic
ACL: --access-key AK --secret-key SK [--security-token T] sign every request (a broker with aclEnable);
  or set BOLIDE_ACCESS_KEY and BOLIDE_SECRET_KEY (flags win)`;

export class AdminError extends Error {}

const requestTimeoutMs = 5000;

class Admin {
  readonly remoting: RemotingClient;
  constructor(
    readonly namesrvAddr: string,
    readonly credentials: Credentials | undefined,
  ) {
    this.remoting = new RemotingClient({ connectTimeoutMs: 3000, ...(credentials ? { credentials } : {}) });
  }

  mqAdmin(): MQAdmin {
    return new MQAdmin({ namesrvAddr: this.namesrvAddr, ...(this.credentials ? { credentials: this.credentials } : {}) });
  }

  async call(address: string, code: number, fields: Record<string, string> = {}, body: Uint8Array | null = null): Promise<RemotingCommand> {
    let response: RemotingCommand;
    try {
      response = await this.remoting.invoke(address, newRequest(code, fields, body), requestTimeoutMs);
    } catch (error) {
      throw new AdminError(`cannot reach ${address}: ${error instanceof Error ? error.message : String(error)}`);
    }
    return response;
  }

  async ok(address: string, code: number, fields: Record<string, string> = {}, body: Uint8Array | null = null): Promise<RemotingCommand> {
    const response = await this.call(address, code, fields, body);
    if (response.code !== ResponseCode.SUCCESS) throw new AdminError(`${address} answered code ${response.code}: ${response.remark ?? ""}`);
    return response;
  }

  async clusterInfo(): Promise<{ brokerAddrTable: Record<string, BrokerData>; clusterAddrTable: Record<string, string[]> }> {
    const response = await this.ok(this.namesrvAddr, RequestCode.GET_BROKER_CLUSTER_INFO);
    return decodeJsonBody(response.body) as { brokerAddrTable: Record<string, BrokerData>; clusterAddrTable: Record<string, string[]> };
  }

  async route(topic: string): Promise<TopicRoute> {
    const response = await this.ok(this.namesrvAddr, RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic });
    return decodeJsonBody(response.body) as TopicRoute;
  }

  async offset(address: string, code: number, topic: string, queueId: number): Promise<number> {
    const response = await this.ok(address, code, { topic, queueId: String(queueId) });
    return Number(response.extFields["offset"] ?? response.extFields["timestamp"] ?? -1);
  }

  /** Every (broker name, master address, queue id) of a topic's readable queues. */
  async queues(topic: string): Promise<Array<{ brokerName: string; address: string; queueId: number }>> {
    const route = await this.route(topic);
    const out: Array<{ brokerName: string; address: string; queueId: number }> = [];
    for (const queueData of [...route.queueDatas].sort((a, b) => a.brokerName.localeCompare(b.brokerName))) {
      const address = route.brokerDatas.find((data) => data.brokerName === queueData.brokerName)?.brokerAddrs["0"];
      if (!address) continue;
      for (let queueId = 0; queueId < queueData.readQueueNums; queueId++) out.push({ brokerName: queueData.brokerName, address, queueId });
    }
    return out;
  }

  close(): void {
    this.remoting.close();
  }
}

function table(rows: Array<Record<string, unknown>>): string {
  if (rows.length === 0) return "(none)";
  const columns = Object.keys(rows[0]!);
  const cells = rows.map((row) => columns.map((column) => String(row[column] ?? "")));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]): string => values.map((value, i) => value.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(columns), ...cells.map(line)].join("\n");
}

function messageRow(message: ReceivedMessage): Record<string, unknown> {
  return {
    topic: message.topic,
    queueId: message.queueId,
    queueOffset: message.queueOffset,
    msgId: message.msgId,
    offsetMsgId: message.offsetMsgId,
    tags: message.tags ?? "",
    keys: message.keys.join(" "),
    storeTimestamp: message.storeTimestamp,
    reconsumeTimes: message.reconsumeTimes,
    body: new TextDecoder().decode(message.body).slice(0, 200),
  };
}

/** Runs `bolide admin …`; returns the exit code. Writes results to `out`, errors to `err`. */
export async function runAdmin(
  argv: string[],
  out: (text: string) => void,
  err: (text: string) => void,
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  const command = argv[0];
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    out(adminUsage);
    return command === undefined ? 2 : 0;
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv.slice(1),
      strict: true,
      options: {
        n: { type: "string", default: "127.0.0.1:9876" },
        t: { type: "string" }, g: { type: "string" }, b: { type: "string" }, c: { type: "string" }, k: { type: "string" },
        i: { type: "string" }, o: { type: "string" }, s: { type: "string" }, r: { type: "string" }, w: { type: "string" },
        p: { type: "string" }, v: { type: "string" }, json: { type: "boolean", default: false },
        "access-key": { type: "string" }, "secret-key": { type: "string" }, "security-token": { type: "string" },
      },
    }));
  } catch (error) {
    err(`bolide admin: ${error instanceof Error ? error.message : String(error)}\n${adminUsage}`);
    return 2;
  }
  const need = (name: string, what: string): string => {
    const value = values[name];
    if (typeof value !== "string" || value.length === 0) throw new UsageProblem(`${command} needs -${name} ${what}`);
    return value;
  };
  const json = values["json"] === true;
  const accessKey = (values["access-key"] as string | undefined) ?? env["BOLIDE_ACCESS_KEY"];
  const secretKey = (values["secret-key"] as string | undefined) ?? env["BOLIDE_SECRET_KEY"];
  const securityToken = (values["security-token"] as string | undefined) ?? env["BOLIDE_SECURITY_TOKEN"];
  if ((accessKey === undefined) !== (secretKey === undefined)) {
    err(`bolide admin: --access-key and --secret-key go together\n${adminUsage}`);
    return 2;
  }
  const credentials: Credentials | undefined =
    accessKey !== undefined && secretKey !== undefined ? { accessKey, secretKey, ...(securityToken !== undefined ? { securityToken } : {}) } : undefined;
  const admin = new Admin(String(values["n"]).split(";")[0]!, credentials);
  const print = (data: unknown, rows?: Array<Record<string, unknown>>): void => out(json ? JSON.stringify(data, null, 2) : table(rows ?? (Array.isArray(data) ? data : [data as Record<string, unknown>])));
  try {
    switch (command) {
      case "clusterList": {
        const info = await admin.clusterInfo();
        const rows: Array<Record<string, unknown>> = [];
        for (const [cluster, names] of Object.entries(info.clusterAddrTable)) {
          for (const name of names) {
            for (const [brokerId, address] of Object.entries(info.brokerAddrTable[name]?.brokerAddrs ?? {})) {
              rows.push({ cluster, brokerName: name, brokerId, address });
            }
          }
        }
        print(json ? info : rows, rows);
        return 0;
      }
      case "brokerStatus": {
        const address = need("b", "ADDR");
        const response = await admin.ok(address, RequestCode.GET_BROKER_RUNTIME_INFO);
        const body = decodeJsonBody(response.body) as { table?: Record<string, string> } | null;
        const tableData = body?.table ?? {};
        print(json ? tableData : tableData, Object.entries(tableData).sort().map(([key, value]) => ({ key, value })));
        return 0;
      }
      case "getBrokerConfig": {
        const addresses = await brokerAddresses(admin, values);
        const byBroker: Record<string, Record<string, string>> = {};
        for (const address of addresses) {
          const response = await admin.ok(address, RequestCode.GET_BROKER_CONFIG);
          byBroker[address] = Object.fromEntries(parseBrokerConf(new TextDecoder().decode(response.body ?? new Uint8Array(0))));
        }
        if (json) out(JSON.stringify(addresses.length === 1 ? byBroker[addresses[0]!] : byBroker, null, 2));
        else {
          out(addresses.map((address) => `============${address}============\n${table(Object.entries(byBroker[address]!).map(([key, value]) => ({ key, value })))}`).join("\n\n"));
        }
        return 0;
      }
      case "updateBrokerConfig": {
        const key = need("k", "KEY");
        const value = values["v"];
        if (typeof value !== "string") throw new UsageProblem(`${command} needs -v VALUE`);
        if (/[\r\n=]/.test(key) || /[\r\n]/.test(value)) throw new UsageProblem("-k and -v must be one line each, and -k without '='");
        const addresses = await brokerAddresses(admin, values);
        const rows = [];
        for (const address of addresses) {
          // What Java's MixAll.properties2String makes of one key: "key=value\n", UTF-8, no header.
          const response = await admin.ok(address, RequestCode.UPDATE_BROKER_CONFIG, {}, new TextEncoder().encode(`${key}=${value}\n`));
          rows.push({ broker: address, key, value, note: response.remark ?? "" });
        }
        if (json) print(rows);
        else out(rows.map((row) => `update broker config success, ${row.broker}: ${key}=${value}${row.note ? ` (${row.note})` : ""}`).join("\n"));
        return 0;
      }
      case "topicList": {
        const response = await admin.ok(admin.namesrvAddr, RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER);
        const topics = ((decodeJsonBody(response.body) as { topicList?: string[] } | null)?.topicList ?? []).sort();
        out(json ? JSON.stringify({ topicList: topics }, null, 2) : topics.join("\n"));
        return 0;
      }
      case "topicRoute": {
        const route = await admin.route(need("t", "TOPIC"));
        print(route, route.queueDatas.map((queueData) => ({
          brokerName: queueData.brokerName,
          readQueueNums: queueData.readQueueNums,
          writeQueueNums: queueData.writeQueueNums,
          perm: queueData.perm,
          addresses: Object.entries(route.brokerDatas.find((data) => data.brokerName === queueData.brokerName)?.brokerAddrs ?? {}).map(([id, address]) => `${id}=${address}`).join(" "),
        })));
        return 0;
      }
      case "topicStatus": {
        const topic = need("t", "TOPIC");
        const rows = [];
        for (const queue of await admin.queues(topic)) {
          const minOffset = await admin.offset(queue.address, RequestCode.GET_MIN_OFFSET, topic, queue.queueId);
          const maxOffset = await admin.offset(queue.address, RequestCode.GET_MAX_OFFSET, topic, queue.queueId);
          const lastUpdateTimestamp = maxOffset > 0 ? await lastStoreTime(admin, queue.address, topic, queue.queueId, maxOffset - 1) : 0;
          rows.push({ brokerName: queue.brokerName, queueId: queue.queueId, minOffset, maxOffset, lastUpdateTimestamp });
        }
        print(rows);
        return 0;
      }
      case "updateTopic": {
        const topic = need("t", "TOPIC");
        const read = values["r"] ?? "8";
        const write = values["w"] ?? "8";
        const perm = values["p"] ?? "6";
        const fields = { topic, defaultTopic: "TBW102", readQueueNums: String(read), writeQueueNums: String(write), perm: String(perm), topicFilterType: "SINGLE_TAG", topicSysFlag: "0", order: "false" };
        const addresses = typeof values["b"] === "string" ? [values["b"]] : await masterAddresses(admin, typeof values["c"] === "string" ? values["c"] : undefined);
        for (const address of addresses) await admin.ok(address, RequestCode.UPDATE_AND_CREATE_TOPIC, fields);
        out(json ? JSON.stringify({ topic, brokers: addresses }, null, 2) : `create or update topic ${topic} on ${addresses.join(", ")}: success`);
        return 0;
      }
      case "deleteTopic": {
        const topic = need("t", "TOPIC");
        const addresses = await masterAddresses(admin, typeof values["c"] === "string" ? values["c"] : undefined);
        for (const address of addresses) await admin.ok(address, RequestCode.DELETE_TOPIC_IN_BROKER, { topic });
        await admin.ok(admin.namesrvAddr, RequestCode.DELETE_TOPIC_IN_NAMESRV, { topic });
        out(json ? JSON.stringify({ topic, brokers: addresses }, null, 2) : `delete topic ${topic} from ${addresses.join(", ")} and the name server: success`);
        return 0;
      }
      case "consumerProgress": {
        const group = need("g", "GROUP");
        const topics = typeof values["t"] === "string" ? [values["t"]] : await topicsOfGroup(admin, group);
        const rows = [];
        let diffTotal = 0;
        for (const topic of topics) {
          for (const queue of await admin.queues(topic)) {
            const brokerOffset = await admin.offset(queue.address, RequestCode.GET_MAX_OFFSET, topic, queue.queueId);
            const answer = await admin.call(queue.address, RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: group, topic, queueId: String(queue.queueId) });
            const consumerOffset = answer.code === ResponseCode.SUCCESS ? Number(answer.extFields["offset"]) : -1;
            const diff = consumerOffset < 0 ? brokerOffset : Math.max(0, brokerOffset - consumerOffset);
            diffTotal += diff;
            rows.push({ topic, brokerName: queue.brokerName, queueId: queue.queueId, brokerOffset, consumerOffset, diff });
          }
        }
        if (json) out(JSON.stringify({ group, diffTotal, offsetTable: rows }, null, 2));
        else out(`${table(rows)}\n\nConsume TPS: -   Diff Total: ${diffTotal}`);
        return 0;
      }
      case "consumerConnection": {
        const group = need("g", "GROUP");
        const info = await admin.clusterInfo();
        const ids = new Set<string>();
        for (const brokerData of Object.values(info.brokerAddrTable)) {
          const address = brokerData.brokerAddrs["0"];
          if (!address) continue;
          const response = await admin.call(address, RequestCode.GET_CONSUMER_LIST_BY_GROUP, { consumerGroup: group });
          if (response.code !== ResponseCode.SUCCESS) continue;
          for (const id of (decodeJsonBody(response.body) as { consumerIdList?: string[] }).consumerIdList ?? []) ids.add(id);
        }
        if (ids.size === 0) throw new AdminError(`no consumer for this group, ${group}`);
        print({ consumerIdList: [...ids].sort() }, [...ids].sort().map((clientId) => ({ clientId })));
        return 0;
      }
      case "queryMsgById": {
        const mqAdmin = admin.mqAdmin();
        try {
          const message = await mqAdmin.viewMessage(need("i", "OFFSET_MSG_ID"));
          print(json ? { ...messageRow(message), propertyMap: message.propertyMap, bornHost: message.bornHost, storeHost: message.storeHost } : messageRow(message));
        } finally {
          await mqAdmin.shutdown();
        }
        return 0;
      }
      case "queryMsgByKey": {
        const mqAdmin = admin.mqAdmin();
        try {
          const found = await mqAdmin.queryMessage(need("t", "TOPIC"), need("k", "KEY"), 64, 0, Number.MAX_SAFE_INTEGER);
          if (found.length === 0) throw new AdminError("no message with that key");
          print(found.map(messageRow));
        } finally {
          await mqAdmin.shutdown();
        }
        return 0;
      }
      case "queryMsgByOffset": {
        const topic = need("t", "TOPIC");
        const brokerName = need("b", "BROKER_NAME");
        const queueId = Number(need("i", "QUEUE_ID"));
        const offset = Number(need("o", "OFFSET"));
        const queue = (await admin.queues(topic)).find((candidate) => candidate.brokerName === brokerName && candidate.queueId === queueId);
        if (!queue) throw new AdminError(`topic ${topic} has no queue ${queueId} on ${brokerName}`);
        const messages = await pullAt(admin, queue.address, brokerName, topic, queueId, offset, 1);
        if (messages.length === 0) throw new AdminError(`no message at offset ${offset}`);
        print(messageRow(messages[0]!));
        return 0;
      }
      case "resetOffsetByTime": {
        const group = need("g", "GROUP");
        const topic = need("t", "TOPIC");
        const when = need("s", "TIMESTAMP_MS|now");
        const timestamp = when === "now" ? Date.now() : Number(when);
        if (!Number.isFinite(timestamp)) throw new UsageProblem(`-s must be milliseconds since the epoch or "now": ${when}`);
        const rows = [];
        for (const queue of await admin.queues(topic)) {
          const response = await admin.ok(queue.address, RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, { topic, queueId: String(queue.queueId), timestamp: String(timestamp) });
          const offset = Number(response.extFields["offset"]);
          await admin.ok(queue.address, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: group, topic, queueId: String(queue.queueId), commitOffset: String(offset) });
          rows.push({ brokerName: queue.brokerName, queueId: queue.queueId, offset });
        }
        print(rows);
        if (!json) out("Stop the group's consumers before a reset: a running consumer commits its own offsets over it.");
        return 0;
      }
      case "sendMessage": {
        const topic = need("t", "TOPIC");
        const body = need("p", "BODY");
        const properties: Record<string, string> = { WAIT: "true" };
        if (typeof values["c"] === "string") properties["TAGS"] = values["c"];
        if (typeof values["k"] === "string") properties["KEYS"] = values["k"];
        const route = await admin.route(topic);
        const queueData = route.queueDatas.find((data) => (data.perm & 2) !== 0);
        const address = queueData && route.brokerDatas.find((data) => data.brokerName === queueData.brokerName)?.brokerAddrs["0"];
        if (!queueData || !address) throw new AdminError(`topic ${topic} has no writable queue`);
        const response = await admin.ok(address, RequestCode.SEND_MESSAGE_V2, {
          a: "BOLIDE_ADMIN", b: topic, c: "TBW102", d: "4", e: "-1", f: "0", g: String(Date.now()), h: "0",
          i: encodeProperties(properties), j: "0", k: "false",
        }, new TextEncoder().encode(body));
        const result = { brokerName: queueData.brokerName, queueId: Number(response.extFields["queueId"]), queueOffset: Number(response.extFields["queueOffset"]), offsetMsgId: response.extFields["msgId"] };
        print(result);
        return 0;
      }
      case "consumeMessage": {
        const topic = need("t", "TOPIC");
        const count = Number(values["c"] ?? "32");
        const rows: Array<Record<string, unknown>> = [];
        for (const queue of await admin.queues(topic)) {
          if (rows.length >= count) break;
          const minOffset = await admin.offset(queue.address, RequestCode.GET_MIN_OFFSET, topic, queue.queueId);
          for (const message of await pullAt(admin, queue.address, queue.brokerName, topic, queue.queueId, minOffset, count - rows.length)) rows.push(messageRow(message));
        }
        print(rows);
        return 0;
      }
      case "deadLetters":
      case "resendDeadLetters": {
        const group = need("g", "GROUP");
        const mqAdmin = admin.mqAdmin();
        try {
          let letters = await mqAdmin.deadLetters(group);
          const only = values["i"];
          if (typeof only === "string") letters = letters.filter((message) => message.offsetMsgId === only || message.msgId === only);
          if (command === "deadLetters") {
            print(letters.map((message) => ({ ...messageRow(message), originalTopic: message.propertyMap["RETRY_TOPIC"] ?? "" })));
            return 0;
          }
          if (letters.length === 0) throw new AdminError(typeof only === "string" ? `no dead letter ${only} in %DLQ%${group}` : `%DLQ%${group} is empty`);
          const rows = [];
          for (const message of letters) {
            rows.push({ msgId: message.msgId, originalTopic: message.propertyMap["RETRY_TOPIC"] ?? "", newOffsetMsgId: await mqAdmin.resendDeadLetter(message) });
          }
          print(rows);
        } finally {
          await mqAdmin.shutdown();
        }
        return 0;
      }
      default:
        err(`bolide admin: unknown command ${command}\n${adminUsage}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof UsageProblem) {
      err(`bolide admin: ${error.message}\n${adminUsage}`);
      return 2;
    }
    err(`bolide admin: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    admin.close();
  }
}

class UsageProblem extends Error {}

async function lastStoreTime(admin: Admin, address: string, topic: string, queueId: number, offset: number): Promise<number> {
  const messages = await pullAt(admin, address, "", topic, queueId, offset, 1);
  return messages[0]?.storeTimestamp ?? 0;
}

async function pullAt(admin: Admin, address: string, brokerName: string, topic: string, queueId: number, offset: number, count: number): Promise<ReceivedMessage[]> {
  const response = await admin.call(address, RequestCode.PULL_MESSAGE, {
    consumerGroup: "BOLIDE_ADMIN", topic, queueId: String(queueId), queueOffset: String(offset), maxMsgNums: String(Math.max(1, Math.min(count, 1024))),
    sysFlag: "4", commitOffset: "0", suspendTimeoutMillis: "0", subscription: "*", subVersion: "0", expressionType: "TAG",
  });
  if (response.code !== ResponseCode.SUCCESS || !response.body) return [];
  return decodePulledMessages(response.body, brokerName).slice(0, count);
}

/** -b ADDR, else every master of -c CLUSTER; one of them is required (mqadmin's rule). */
async function brokerAddresses(admin: Admin, values: Record<string, string | boolean | undefined>): Promise<string[]> {
  if (typeof values["b"] === "string") return [values["b"]];
  if (typeof values["c"] === "string") return masterAddresses(admin, values["c"]);
  throw new UsageProblem("needs -b BROKER_ADDR or -c CLUSTER");
}

async function masterAddresses(admin: Admin, cluster: string | undefined): Promise<string[]> {
  const info = await admin.clusterInfo();
  const names = cluster === undefined ? Object.keys(info.brokerAddrTable) : (info.clusterAddrTable[cluster] ?? []);
  if (cluster !== undefined && names.length === 0) throw new AdminError(`no cluster named ${cluster}`);
  return names.map((name) => info.brokerAddrTable[name]?.brokerAddrs["0"]).filter((address): address is string => address !== undefined);
}

/** Topics a group has committed offsets for, from every master's offset table (GET_ALL_CONSUMER_OFFSET). */
async function topicsOfGroup(admin: Admin, group: string): Promise<string[]> {
  const topics = new Set<string>();
  for (const address of await masterAddresses(admin, undefined)) {
    const response = await admin.ok(address, RequestCode.GET_ALL_CONSUMER_OFFSET);
    const body = decodeJsonBody(response.body) as { offsetTable?: Record<string, unknown> } | null;
    for (const key of Object.keys(body?.offsetTable ?? {})) {
      const at = key.lastIndexOf("@");
      if (key.slice(at + 1) === group && !key.startsWith("%RETRY%")) topics.add(key.slice(0, at));
    }
  }
  if (topics.size === 0) throw new AdminError(`group ${group} has no committed offsets`);
  return [...topics].sort();
}
