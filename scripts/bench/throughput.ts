// Produce/consume throughput: 1 KiB messages, every send acknowledged, many in flight.
// Drives a broker with the raw remoting protocol (the same bytes for Bolide and Apache RocketMQ),
// so both are measured by one client in one run.
//
//   bun scripts/bench/throughput.ts [--namesrv 127.0.0.1:9876] [--messages 200000] [--inflight 256]
//                                   [--bytes 1024] [--queues 8] [--label bolide]
//
// Prints one JSON line: produce and consume rates (messages/s, MiB/s) and send latency percentiles.
import { parseArgs } from "node:util";
import { newRequest } from "../../src/net/remoting_command.ts";
import { RequestCode } from "../../src/net/request_code.ts";
import { ResponseCode } from "../../src/net/response_code.ts";
import { RemotingClient } from "../../src/net/tcp_client.ts";
import { createTopic, masterAddress } from "./lib/remoting.ts";

const { values } = parseArgs({
  options: {
    namesrv: { type: "string", default: "127.0.0.1:9876" },
    messages: { type: "string", default: "200000" },
    inflight: { type: "string", default: "256" },
    bytes: { type: "string", default: "1024" },
    queues: { type: "string", default: "8" },
    label: { type: "string", default: "broker" },
  },
});
const messageCount = Number(values.messages);
const inflightMax = Number(values.inflight);
const bodyBytes = Number(values.bytes);
const queueCount = Number(values.queues);
const topic = `Bench${Date.now()}`;
const client = new RemotingClient();

const brokerAddr = await masterAddress(client, values.namesrv);
await createTopic(client, brokerAddr, topic, queueCount);

const body = new Uint8Array(bodyBytes).fill(0x61);
const latenciesMs = new Float64Array(messageCount);
let sent = 0;
let acked = 0;
let failures = 0;
const produceStart = performance.now();
await new Promise<void>((resolve) => {
  const sendOne = (): void => {
    if (sent >= messageCount) return;
    const index = sent++;
    const started = performance.now();
    const request = newRequest(
      RequestCode.SEND_MESSAGE_V2,
      { a: "BenchPG", b: topic, c: "TBW102", d: "4", e: String(index % queueCount), f: "0", g: String(Date.now()), h: "0", i: "WAIT\u0001true\u0002", j: "0", k: "false", m: "false" },
      body,
    );
    client.invoke(brokerAddr, request, 30_000).then(
      (response) => {
        if (response.code !== ResponseCode.SUCCESS) failures++;
        latenciesMs[index] = performance.now() - started;
        acked++;
        if (acked === messageCount) resolve();
        else sendOne();
      },
      () => {
        failures++;
        acked++;
        if (acked === messageCount) resolve();
        else sendOne();
      },
    );
  };
  for (let i = 0; i < inflightMax; i++) sendOne();
});
const produceMs = performance.now() - produceStart;

// Consume: pull every queue from 0 until all messages are back.
let consumed = 0;
const consumeStart = performance.now();
await Promise.all(
  Array.from({ length: queueCount }, async (_, queueId) => {
    let offset = 0;
    for (;;) {
      const response = await client.invoke(
        brokerAddr,
        newRequest(RequestCode.PULL_MESSAGE, {
          consumerGroup: "BenchCG", topic, queueId: String(queueId), queueOffset: String(offset), maxMsgNums: "32", sysFlag: "4",
          commitOffset: "0", suspendTimeoutMillis: "0", subscription: "*", subVersion: "0", expressionType: "TAG",
        }),
        30_000,
      );
      if (response.code !== ResponseCode.SUCCESS) break;
      const body = response.body ?? new Uint8Array(0);
      const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
      for (let at = 0; at + 4 <= body.length; at += view.getInt32(at)) consumed++;
      offset = Number(response.extFields["nextBeginOffset"]);
    }
  }),
);
const consumeMs = performance.now() - consumeStart;
client.close();

const sorted = Array.from(latenciesMs).sort((a, b) => a - b);
const percentile = (p: number): number => Number((sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0).toFixed(2));
const mib = (count: number, ms: number): number => Number(((count * bodyBytes) / 1024 / 1024 / (ms / 1000)).toFixed(1));
console.log(
  JSON.stringify({
    label: values.label, messages: messageCount, bodyBytes, inflight: inflightMax, queues: queueCount, failures,
    produceMsgPerSec: Math.round(messageCount / (produceMs / 1000)), produceMiBPerSec: mib(messageCount, produceMs),
    sendLatencyMs: { p50: percentile(50), p99: percentile(99), max: percentile(100) },
    consumed, consumeMsgPerSec: Math.round(consumed / (consumeMs / 1000)), consumeMiBPerSec: mib(consumed, consumeMs),
  }),
);
process.exit(failures > 0 || consumed !== messageCount ? 1 : 0);
