import { expect, test } from "bun:test";
import { RemotingError } from "../../net/response_code.ts";
import { parseLockBatchBody } from "./lock.ts";

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

test("LockBatchRequestBody as Java sends it", () => {
  const body = parseLockBatchBody(encode('{"clientId":"10.0.0.9@123","consumerGroup":"CG","mqSet":[{"brokerName":"broker-a","queueId":3,"topic":"T"}]}'));
  expect(body).toEqual({ consumerGroup: "CG", clientId: "10.0.0.9@123", mqSet: [{ topic: "T", brokerName: "broker-a", queueId: 3 }] });
  expect(parseLockBatchBody(encode('{"clientId":"c","consumerGroup":"CG"}')).mqSet).toEqual([]);
});

test("malformed lock bodies are refused with a RemotingError, never an assertion", () => {
  const bad = [
    "",
    "{not json",
    "[]",
    '{"clientId":"c","mqSet":[]}',
    '{"consumerGroup":"CG","mqSet":[]}',
    '{"clientId":"c","consumerGroup":"CG","mqSet":{}}',
    '{"clientId":"c","consumerGroup":"CG","mqSet":[null]}',
    '{"clientId":"c","consumerGroup":"CG","mqSet":[{"topic":"T","queueId":0}]}',
    '{"clientId":"c","consumerGroup":"CG","mqSet":[{"topic":"T","brokerName":"b","queueId":-1}]}',
    '{"clientId":"c","consumerGroup":"CG","mqSet":[{"topic":"T","brokerName":"b","queueId":"0"}]}',
  ];
  for (const text of bad) expect(() => parseLockBatchBody(text === "" ? null : encode(text))).toThrow(RemotingError);
});
