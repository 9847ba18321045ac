// CONSUMER_SEND_MSG_BACK (36): a consumer failed a message; store a new copy for redelivery.
//
// As RocketMQ 4.9's asyncConsumerSendMsgBack: load the original by its commit-log offset; copy it
// to %RETRY%<group> (1 queue, created on demand) with delay level = the header's, or
// 3 + reconsumeTimes when that is 0 (10 s, 30 s, 1 m … for the 1st, 2nd, 3rd retry); once
// reconsumeTimes reaches maxReconsumeTimes (the header's when the client is ≥ V3_4_9, else the
// broker default, 16), or the level is negative, to %DLQ%<group> instead, undelayed. The copy
// keeps body, flag, born time and host; gets reconsumeTimes + 1, RETRY_TOPIC (the original
// topic, set once), ORIGIN_MESSAGE_ID (set once) and WAIT=false.
import type { Connection } from "../../net/connection.ts";
import { newResponse, type RemotingCommand } from "../../net/remoting_command.ts";
import { ResponseCode } from "../../net/response_code.ts";
import { decodeProperties, encodeProperties, Property, tagsCodeOf } from "../../protocol/message_properties.ts";
import { decodeRecord, offsetMessageId, type MessageToStore } from "../../protocol/message_record.ts";
import { retryTopicPrefix } from "../../protocol/topic.ts";
import { PutStatus } from "../../store/put_status.ts";
import type { Broker } from "../broker.ts";

/** MQVersion V3_4_9: from this version on, the client's maxReconsumeTimes is honoured. */
const versionHonouringMaxReconsumeTimes = 121;

export async function processSendBack(broker: Broker, _connection: Connection, request: RemotingCommand): Promise<RemotingCommand> {
  if (broker.repl.isSlave) return newResponse(request, ResponseCode.SERVICE_NOT_AVAILABLE, "the broker role is SLAVE: send messages back to the master");
  const ext = request.extFields;
  const group = ext["group"] ?? "";
  const offset = Number(ext["offset"]);
  const delayLevelRequested = Number(ext["delayLevel"] ?? 0);
  if (group.length === 0 || !Number.isFinite(offset) || !Number.isFinite(delayLevelRequested)) {
    return newResponse(request, ResponseCode.SYSTEM_ERROR, "the custom fields <group>, <offset> and <delayLevel> are required numbers");
  }
  if (!broker.clients.consumerGroups.has(group) && broker.offsets.topicsOf(group).length === 0) {
    return newResponse(request, ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST, `subscription group not exist, ${group}`);
  }
  const record = broker.store.recordAtPhysical(offset);
  if (!record) {
    return newResponse(request, ResponseCode.SYSTEM_ERROR, `look message by offset failed, ${offset}`);
  }
  const original = decodeRecord(record);
  const properties = decodeProperties(original.properties);
  if (!properties.has(Property.RETRY_TOPIC)) properties.set(Property.RETRY_TOPIC, original.topic);
  if (!properties.has(Property.ORIGIN_MESSAGE_ID)) {
    properties.set(Property.ORIGIN_MESSAGE_ID, ext["originMsgId"] || offsetMessageId(original.storeHostBytes, original.commitLogOffset));
  }
  properties.set(Property.WAIT, "false");
  properties.delete(Property.DELAY);

  const clientMax = Number(ext["maxReconsumeTimes"]);
  const maxReconsumeTimes =
    request.version >= versionHonouringMaxReconsumeTimes && ext["maxReconsumeTimes"] !== undefined && Number.isFinite(clientMax)
      ? clientMax
      : broker.config.maxReconsumeTimesDefault;
  let message: MessageToStore = {
    topic: retryTopicPrefix + group,
    queueId: 0,
    flag: original.flag,
    body: original.body,
    properties: "",
    sysFlag: original.sysFlag & ~0xc,
    bornTimestamp: original.bornTimestamp,
    bornHost: original.bornHostBytes,
    storeHost: broker.storeHost,
    reconsumeTimes: original.reconsumeTimes + 1,
    preparedTransactionOffset: 0,
    tagsCode: tagsCodeOf(properties.get(Property.TAGS)),
  };
  if (original.reconsumeTimes >= maxReconsumeTimes || delayLevelRequested < 0) {
    message.properties = encodeProperties(properties);
    message = await broker.toDeadLetter(message, group);
  } else {
    const retryTopic = await broker.ensureTopic(retryTopicPrefix + group, 1);
    message.queueId = broker.io.random.below(Math.max(1, retryTopic.writeQueueNums));
    properties.set(Property.DELAY, String(delayLevelRequested === 0 ? 3 + original.reconsumeTimes : delayLevelRequested));
    message.properties = encodeProperties(properties);
    message = broker.applyDelay(message);
  }
  const result = await broker.store.put(message, false);
  if (result.status !== PutStatus.OK) return newResponse(request, ResponseCode.SYSTEM_ERROR, result.status);
  return newResponse(request, ResponseCode.SUCCESS);
}
