/**
 * Request bodies the broker reads as JSON, checked field by field (src/broker/processor/bodies.ts).
 * Whatever the bytes, a parser returns a well-typed value or throws RemotingError(SYSTEM_ERROR,
 * "malformed … body: why") — never a TypeError from a field of the wrong type further on.
 * Unknown fields are ignored; an optional field of the wrong type is dropped, as a lenient Java
 * reader would; a missing or mistyped required field (clientID, groupName, topic) is an error.
 */
import { RemotingError, ResponseCode } from "../../net/response_code.ts";
import { decodeJsonBody, JsonBodyError } from "../../protocol/json_body.ts";
import type { ConsumerData, HeartbeatData, SubscriptionData } from "../client_manager.ts";

/** More entries than any real client sends in one body: refused, not iterated. */
export const bodyItemsMax = 100_000;

function malformed(kind: string, why: string): never {
  throw new RemotingError(ResponseCode.SYSTEM_ERROR, `malformed ${kind} body: ${why}`);
}

/** The JSON value of `body` (null when empty); RemotingError when it is not JSON. */
export function jsonOf(body: Uint8Array | null, kind: string): unknown {
  try {
    return decodeJsonBody(body);
  } catch (error) {
    if (error instanceof JsonBodyError) malformed(kind, "not JSON");
    throw error;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function optionalString(record: Record<string, unknown>, name: string): string | undefined {
  const value = record[name];
  return typeof value === "string" ? value : undefined;
}

function arrayOf(value: unknown, kind: string, name: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) malformed(kind, `${name} is not an array`);
  if (value.length > bodyItemsMax) malformed(kind, `${name} has more than ${bodyItemsMax} entries`);
  return value;
}

function parseSubscription(value: unknown): SubscriptionData {
  if (!isObject(value)) malformed("heartbeat", "a subscription is not an object");
  const topic = value["topic"];
  if (typeof topic !== "string") malformed("heartbeat", "a subscription has no topic");
  const out: SubscriptionData = { topic, subString: optionalString(value, "subString") ?? "*" };
  const tagsSet = value["tagsSet"];
  if (Array.isArray(tagsSet)) out.tagsSet = tagsSet.filter((tag): tag is string => typeof tag === "string");
  const codeSet = value["codeSet"];
  if (Array.isArray(codeSet)) out.codeSet = codeSet.filter((code): code is number => typeof code === "number" && Number.isInteger(code));
  const subVersion = value["subVersion"];
  if (typeof subVersion === "number" && Number.isFinite(subVersion)) out.subVersion = subVersion;
  const expressionType = optionalString(value, "expressionType");
  if (expressionType !== undefined) out.expressionType = expressionType;
  return out;
}

function parseConsumer(value: unknown): ConsumerData {
  if (!isObject(value)) malformed("heartbeat", "a consumer is not an object");
  const groupName = value["groupName"];
  if (typeof groupName !== "string" || groupName.length === 0) malformed("heartbeat", "a consumer has no groupName");
  const out: ConsumerData = { groupName, subscriptionDataSet: arrayOf(value["subscriptionDataSet"], "heartbeat", "subscriptionDataSet").map(parseSubscription) };
  for (const name of ["consumeType", "messageModel", "consumeFromWhere"] as const) {
    const text = optionalString(value, name);
    if (text !== undefined) out[name] = text;
  }
  return out;
}

/** HEART_BEAT (34): HeartbeatData. */
export function parseHeartbeatBody(body: Uint8Array | null): HeartbeatData {
  const value = jsonOf(body, "heartbeat");
  if (!isObject(value)) malformed("heartbeat", "not an object");
  const clientID = value["clientID"];
  if (typeof clientID !== "string") malformed("heartbeat", "no clientID");
  const producerDataSet = arrayOf(value["producerDataSet"], "heartbeat", "producerDataSet").map((item) => {
    if (!isObject(item) || typeof item["groupName"] !== "string") malformed("heartbeat", "a producer has no groupName");
    return { groupName: item["groupName"] };
  });
  return { clientID, consumerDataSet: arrayOf(value["consumerDataSet"], "heartbeat", "consumerDataSet").map(parseConsumer), producerDataSet };
}

/** CHECK_CLIENT_CONFIG (46): the subscription to check, when there is one. */
export function parseCheckClientConfigBody(body: Uint8Array | null): { expressionType: string; subString: string } | null {
  const value = jsonOf(body, "client config");
  if (value === null) return null;
  if (!isObject(value)) malformed("client config", "not an object");
  const subscription = value["subscriptionData"];
  if (subscription === undefined || subscription === null) return null;
  if (!isObject(subscription)) malformed("client config", "subscriptionData is not an object");
  return { expressionType: optionalString(subscription, "expressionType") ?? "TAG", subString: optionalString(subscription, "subString") ?? "" };
}
