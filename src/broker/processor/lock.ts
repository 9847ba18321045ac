// LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42): the broker side of ordered consumption (§8, §3.5).
//   request body (both)  {"consumerGroup":"CG","clientId":"10.0.0.9@123","mqSet":[{"brokerName":"b","queueId":0,"topic":"T"}]}
//   LOCK response body   {"lockOKMQSet":[...]}   the queues the requester holds after the call
//   UNLOCK response      SUCCESS, no body (Java clients may send it oneway)
// A lock request from a client that is not a live member of the group (never heartbeated, or
// gone) is refused with SYSTEM_ERROR. A holder that vanished without unlocking keeps its queues
// until its lease ends (60 s; 35 s after its last renewal once its connection closed, see
// QueueLockTable): it may still be consuming buffered messages.
import type { Connection } from "../../net/connection.ts";
import { newResponse, type RemotingCommand } from "../../net/remoting_command.ts";
import { RequestCode } from "../../net/request_code.ts";
import { RemotingError, ResponseCode } from "../../net/response_code.ts";
import { decodeJsonBody, encodeJsonBody } from "../../protocol/json_body.ts";
import type { LockedQueue } from "../../order/queue_lock.ts";
import type { Broker } from "../broker.ts";

/** A request may name at most this many queues (a group's queues on one broker). */
const lockBatchQueuesMax = 16 * 1024;

interface LockBatchBody {
  consumerGroup: string;
  clientId: string;
  mqSet: LockedQueue[];
}

function malformed(why: string): never {
  throw new RemotingError(ResponseCode.SYSTEM_ERROR, `malformed lock body: ${why}`);
}

export function parseLockBatchBody(body: Uint8Array | null): LockBatchBody {
  let value: unknown;
  try {
    value = decodeJsonBody(body);
  } catch {
    malformed("not JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) malformed("not an object");
  const record = value as Record<string, unknown>;
  const consumerGroup = record["consumerGroup"];
  const clientId = record["clientId"];
  const mqSet = record["mqSet"] ?? [];
  if (typeof consumerGroup !== "string" || consumerGroup.length === 0) malformed("no consumerGroup");
  if (typeof clientId !== "string" || clientId.length === 0) malformed("no clientId");
  if (!Array.isArray(mqSet)) malformed("mqSet is not an array");
  if (mqSet.length > lockBatchQueuesMax) malformed(`more than ${lockBatchQueuesMax} queues`);
  const queues: LockedQueue[] = [];
  for (const item of mqSet as unknown[]) {
    if (item === null || typeof item !== "object") malformed("an mqSet item is not an object");
    const mq = item as Record<string, unknown>;
    const topic = mq["topic"];
    const brokerName = mq["brokerName"];
    const queueId = mq["queueId"];
    if (typeof topic !== "string" || typeof brokerName !== "string") malformed("an mqSet item lacks topic or brokerName");
    if (typeof queueId !== "number" || !Number.isInteger(queueId) || queueId < 0) malformed("an mqSet item has a bad queueId");
    queues.push({ topic, brokerName, queueId });
  }
  return { consumerGroup, clientId, mqSet: queues };
}

export function processLock(broker: Broker, _connection: Connection, request: RemotingCommand): RemotingCommand {
  const body = parseLockBatchBody(request.body);
  switch (request.code) {
    case RequestCode.LOCK_BATCH_MQ: {
      if (!broker.clients.consumerIds(body.consumerGroup).includes(body.clientId)) {
        return newResponse(request, ResponseCode.SYSTEM_ERROR, `${body.clientId} is not a live consumer of the group[${body.consumerGroup}], heartbeat first`);
      }
      const held = broker.queueLocks.lockBatch(body.consumerGroup, body.clientId, body.mqSet);
      return newResponse(request, ResponseCode.SUCCESS, null, {}, encodeJsonBody({ lockOKMQSet: held }));
    }
    case RequestCode.UNLOCK_BATCH_MQ:
      broker.queueLocks.unlockBatch(body.consumerGroup, body.clientId, body.mqSet);
      return newResponse(request, ResponseCode.SUCCESS);
    default:
      return newResponse(request, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, ` request type ${request.code} not supported`);
  }
}
