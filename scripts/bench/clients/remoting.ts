// Bolide and Apache RocketMQ (and the null broker): the raw RocketMQ remoting protocol through
// Bolide's RemotingClient, one TCP connection per BenchClient. The same bytes go to both brokers.
//
// Endpoint: "ns:host:port" (ask that name server for the master) or "broker:host:port".
import { newRequest } from "../../../src/net/remoting_command.ts";
import { RequestCode } from "../../../src/net/request_code.ts";
import { ResponseCode } from "../../../src/net/response_code.ts";
import { RemotingClient } from "../../../src/net/tcp_client.ts";
import { createTopic, masterAddress } from "../lib/remoting.ts";
import type { BenchClient } from "./types.ts";

const pullBatch = 32; // DefaultMQPushConsumer.pullBatchSize
const pullSuspendMs = 1000;
const flagSuspend = 0x2; // PullSysFlag.FLAG_SUSPEND: long polling
const flagSubscription = 0x4; // PullSysFlag.FLAG_SUBSCRIPTION
// MessageDecoder: the body length field follows 84 bytes of fixed fields for IPv4 hosts.
const bodyLengthAt = 84;

export async function openRemoting(endpoint: string): Promise<BenchClient> {
  const client = new RemotingClient();
  const [kind, ...rest] = endpoint.split(":");
  const address = rest.join(":");
  let broker = address;
  if (kind === "ns") {
    broker = await masterAddress(client, address);
  } else if (kind !== "broker") throw new Error(`remoting endpoint must start with ns: or broker:, got ${endpoint}`);

  return {
    async prepare(topic, queues) {
      await createTopic(client, broker, topic, queues);
    },

    async send(topic, queue, body, key) {
      const properties = key === undefined ? "WAIT\u0001true\u0002" : `KEYS\u0001${key}\u0002WAIT\u0001true\u0002`;
      const response = await client.invoke(
        broker,
        newRequest(
          RequestCode.SEND_MESSAGE_V2,
          { a: "BenchPG", b: topic, c: "TBW102", d: "8", e: String(queue), f: "0", g: String(Date.now()), h: "0", i: properties, j: "0", k: "false", m: "false" },
          body,
        ),
        30_000,
      );
      if (response.code !== ResponseCode.SUCCESS) throw new Error(`send: ${response.code} ${response.remark}`);
    },

    async read(topic, queues, expected, deadlineMs, live, onMessage) {
      let read = 0;
      await Promise.all(
        Array.from({ length: queues }, async (_, queueId) => {
          let offset = 0;
          while (read < expected && performance.now() < deadlineMs) {
            const response = await client.invoke(
              broker,
              newRequest(RequestCode.PULL_MESSAGE, {
                consumerGroup: "BenchCG", topic, queueId: String(queueId), queueOffset: String(offset), maxMsgNums: String(pullBatch),
                sysFlag: String(flagSubscription | (live ? flagSuspend : 0)), commitOffset: "0",
                suspendTimeoutMillis: String(pullSuspendMs), subscription: "*", subVersion: "0", expressionType: "TAG",
              }),
              pullSuspendMs + 10_000,
            );
            if (response.code === ResponseCode.SUCCESS) {
              const body = response.body ?? new Uint8Array(0);
              const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
              for (let at = 0; at + 4 <= body.length; ) {
                const total = view.getInt32(at);
                const length = view.getInt32(at + bodyLengthAt);
                onMessage(body, at + bodyLengthAt + 4, length);
                read++;
                at += total;
              }
            } else if (!live) break; // backlog read: nothing more in this queue
            const next = response.extFields["nextBeginOffset"];
            if (next !== undefined) offset = Number(next);
          }
        }),
      );
      return read;
    },

    async close() {
      client.close();
    },
  };
}
