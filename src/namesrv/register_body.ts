/**
 * The REGISTER_BROKER (103) body, checked field by field (src/namesrv/register_body.ts):
 * {"topicConfigSerializeWrapper":{"dataVersion":…,"topicConfigTable":{"T":{TopicConfig},…}},…}.
 * Whatever the bytes: a value with well-typed topics, or RemotingError(SYSTEM_ERROR). A topic entry
 * without a name is skipped; queue counts and flags that are not whole numbers in range become 0.
 */
import { RemotingError, ResponseCode } from "../net/response_code.ts";
import { decodeJsonBody, JsonBodyError } from "../protocol/json_body.ts";
import type { TopicConfig } from "../protocol/topic.ts";

export interface RegisterBrokerBody {
  dataVersion: unknown;
  topics: TopicConfig[];
}

const queueNumsMax = 1 << 16;

function malformed(why: string): never {
  throw new RemotingError(ResponseCode.SYSTEM_ERROR, `malformed register body: ${why}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function wholeIn(value: unknown, min: number, max: number): number {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max ? value : 0;
}

export function parseRegisterBrokerBody(body: Uint8Array | null): RegisterBrokerBody {
  let value: unknown;
  try {
    value = decodeJsonBody(body);
  } catch (error) {
    if (error instanceof JsonBodyError) malformed("not JSON");
    throw error;
  }
  if (value === null) return { dataVersion: null, topics: [] };
  if (!isObject(value)) malformed("not an object");
  const wrapper = value["topicConfigSerializeWrapper"];
  if (wrapper === undefined || wrapper === null) return { dataVersion: null, topics: [] };
  if (!isObject(wrapper)) malformed("topicConfigSerializeWrapper is not an object");
  const table = wrapper["topicConfigTable"] ?? {};
  if (!isObject(table)) malformed("topicConfigTable is not an object");
  const topics: TopicConfig[] = [];
  for (const entry of Object.values(table)) {
    if (!isObject(entry) || typeof entry["topicName"] !== "string" || entry["topicName"].length === 0) continue;
    topics.push({
      topicName: entry["topicName"],
      readQueueNums: wholeIn(entry["readQueueNums"], 0, queueNumsMax),
      writeQueueNums: wholeIn(entry["writeQueueNums"], 0, queueNumsMax),
      perm: wholeIn(entry["perm"], 0, 0xff),
      topicFilterType: entry["topicFilterType"] === "MULTI_TAG" ? "MULTI_TAG" : "SINGLE_TAG",
      topicSysFlag: wholeIn(entry["topicSysFlag"], 0, 0x7fffffff),
      order: entry["order"] === true,
    });
  }
  return { dataVersion: wrapper["dataVersion"] ?? null, topics };
}
