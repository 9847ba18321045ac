// END_TRANSACTION (37): producerGroup*, tranStateTableOffset* (the half's queue offset),
// commitLogOffset* (the half's log offset), commitOrRollback* (0 unknown, 4 prepared, 8 commit,
// 12 rollback), fromTransactionCheck, msgId, transactionId. Java sends it oneway, so the answer is
// usually unread; 0 and 4 get no answer at all (as RocketMQ). A slave refuses it.
import type { Connection } from "../../net/connection.ts";
import { newResponse, type RemotingCommand } from "../../net/remoting_command.ts";
import { RemotingError, ResponseCode } from "../../net/response_code.ts";
import type { Broker } from "../broker.ts";

function requiredInt(ext: Record<string, string>, name: string): number {
  const text = ext[name];
  if (text === undefined || text === "") throw new RemotingError(ResponseCode.SYSTEM_ERROR, `the custom field <${name}> is null`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RemotingError(ResponseCode.SYSTEM_ERROR, `the custom field <${name}> is not a number: ${text}`);
  return value;
}

export async function processEndTransaction(broker: Broker, _connection: Connection, request: RemotingCommand): Promise<RemotingCommand | null> {
  if (broker.config.brokerId !== 0) {
    return newResponse(request, ResponseCode.SLAVE_NOT_AVAILABLE, "Only master broker can handle end transaction");
  }
  const ext = request.extFields;
  const producerGroup = ext["producerGroup"];
  if (producerGroup === undefined) throw new RemotingError(ResponseCode.SYSTEM_ERROR, "the custom field <producerGroup> is null");
  const result = await broker.transactions.end({
    producerGroup,
    tranStateTableOffset: requiredInt(ext, "tranStateTableOffset"),
    commitLogOffset: requiredInt(ext, "commitLogOffset"),
    commitOrRollback: requiredInt(ext, "commitOrRollback"),
    fromTransactionCheck: ext["fromTransactionCheck"] === "true",
  });
  if (result === null) return null;
  return newResponse(request, result.code, result.remark);
}
