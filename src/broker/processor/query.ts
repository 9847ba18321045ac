// QUERY_MESSAGE (12): messages of a topic by key (KEYS tokens and UNIQ_KEY), via the index files.
//   request  topic*, key*, maxNum* (I), beginTimestamp* (L), endTimestamp* (L); extField
//            `_UNIQUE_KEY_QUERY`="true" means key is a UNIQ_KEY and maxNum becomes 32.
//   response indexLastUpdateTimestamp*, indexLastUpdatePhyoffset*; body = the records back to back,
//            newest first; QUERY_NOT_FOUND (22) when none matched.
// As RocketMQ's QueryMessageProcessor.queryMessage; maxNum is capped at 64 (maxMsgsNumBatch).
import type { Connection } from "../../net/connection.ts";
import { newResponse, type RemotingCommand } from "../../net/remoting_command.ts";
import { RemotingError, ResponseCode } from "../../net/response_code.ts";
import type { Broker } from "../broker.ts";

/** RocketMQ's defaultQueryMaxNum: the answer size of a UNIQ_KEY query. */
export const uniqueKeyQueryMaxNum = 32;
/** RocketMQ's maxMsgsNumBatch: the most records one QUERY_MESSAGE returns. */
export const queryMaxNumMax = 64;

function field(ext: Record<string, string>, name: string): string {
  const value = ext[name];
  if (value === undefined) throw new RemotingError(ResponseCode.SYSTEM_ERROR, `the custom field <${name}> is null`);
  return value;
}
/** A long header field; Java sends Long.MAX_VALUE as an open end, which becomes MAX_SAFE_INTEGER here. */
function integerField(ext: Record<string, string>, name: string): number {
  const value = Number(field(ext, name));
  if (!Number.isFinite(value)) throw new RemotingError(ResponseCode.SYSTEM_ERROR, `the custom field <${name}> is not a number`);
  return Math.max(Number.MIN_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, Math.trunc(value)));
}

export function processQuery(broker: Broker, _connection: Connection, request: RemotingCommand): RemotingCommand {
  const ext = request.extFields;
  const topic = field(ext, "topic");
  const key = field(ext, "key");
  let maxNum = integerField(ext, "maxNum");
  const beginMs = integerField(ext, "beginTimestamp");
  const endMs = integerField(ext, "endTimestamp");
  if (ext["_UNIQUE_KEY_QUERY"] === "true") maxNum = uniqueKeyQueryMaxNum;
  maxNum = Math.max(0, Math.min(maxNum, queryMaxNumMax));
  const result = broker.store.queryMessage(topic, key, maxNum, beginMs, endMs);
  const header = {
    indexLastUpdateTimestamp: String(result.indexLastUpdateTimestamp),
    indexLastUpdatePhyoffset: String(result.indexLastUpdatePhyOffset),
  };
  if (result.records.length === 0) {
    return newResponse(request, ResponseCode.QUERY_NOT_FOUND, "can not find message, maybe time range not correct", header);
  }
  const body = new Uint8Array(result.records.reduce((bytes, record) => bytes + record.length, 0));
  let at = 0;
  for (const record of result.records) {
    body.set(record, at);
    at += record.length;
  }
  return newResponse(request, ResponseCode.SUCCESS, null, header, body);
}
