// Fuzz: JSON request bodies. decodeJsonBody throws only JsonBodyError; the broker's and the name
// server's body parsers (heartbeat, client config, lock batch, register broker) return well-typed
// values or throw RemotingError, whatever the bytes.
import { test } from "bun:test";
import { parseCheckClientConfigBody, parseHeartbeatBody } from "../broker/processor/bodies.ts";
import { parseLockBatchBody } from "../broker/processor/lock.ts";
import { RemotingError } from "../net/response_code.ts";
import { parseRegisterBrokerBody } from "../namesrv/register_body.ts";
import { check, expectOnly, fuzz } from "../testing/fuzz.ts";
import { decodeJsonBody, encodeJsonBody, JsonBodyError } from "./json_body.ts";

const heartbeat = encodeJsonBody({
  clientID: "127.0.0.1@1#1",
  consumerDataSet: [
    {
      groupName: "CG",
      consumeType: "CONSUME_PASSIVELY",
      messageModel: "CLUSTERING",
      consumeFromWhere: "CONSUME_FROM_LAST_OFFSET",
      subscriptionDataSet: [{ topic: "T", subString: "a || b", tagsSet: ["a", "b"], codeSet: [97, 98], subVersion: 1, expressionType: "TAG" }],
      unitMode: false,
    },
  ],
  producerDataSet: [{ groupName: "PG" }],
});
const clientConfig = encodeJsonBody({ consumerGroup: "CG", clientId: "c", subscriptionData: { topic: "T", subString: "a > 1", expressionType: "SQL92" } });
const lock = encodeJsonBody({ consumerGroup: "CG", clientId: "c", mqSet: [{ topic: "T", brokerName: "b", queueId: 1 }, { topic: "T", brokerName: "b", queueId: 2 }] });
const register = new TextEncoder().encode(
  '{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":3,"timestamp":17},"topicConfigTable":{"T":{"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":4},1:{"topicName":"N"}}}}',
);
const parsers = [
  { seed: heartbeat, parse: parseHeartbeatBody },
  { seed: clientConfig, parse: parseCheckClientConfigBody },
  { seed: lock, parse: parseLockBatchBody },
  { seed: register, parse: parseRegisterBrokerBody },
];

test("fuzz: JSON bodies and the body parsers", () => {
  const count = fuzz("json_body", 60_000, (random) => {
    const { seed, parse } = random.pick(parsers);
    const input = random.oneIn(500) ? new TextEncoder().encode("[".repeat(1 + random.below(20_000))) : random.mutate(seed, 1 + random.below(3));
    if (random.oneIn(4)) expectOnly([JsonBodyError], () => decodeJsonBody(input)); // the parsers call it too
    expectOnly([RemotingError], () => {
      const value = parse(input);
      if (parse === parseHeartbeatBody) {
        const data = value as ReturnType<typeof parseHeartbeatBody>;
        check(typeof data.clientID === "string", "clientID");
        for (const consumer of data.consumerDataSet ?? []) for (const sub of consumer.subscriptionDataSet ?? []) check(typeof sub.topic === "string", "topic");
      }
    });
  });
  console.log(`fuzz json_body: ${count} inputs`);
}, 60_000);
