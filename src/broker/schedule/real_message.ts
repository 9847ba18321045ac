// The message a delayed or timed record becomes when it is due: its real topic and queue from
// REAL_TOPIC / REAL_QID, everything else kept (body, flag, born time and host, reconsumeTimes),
// stored by this broker without waiting for a flush.
import { encodeProperties, Property, tagsCodeOf } from "../../protocol/message_properties.ts";
import type { HostBytes, MessageExt, MessageToStore } from "../../protocol/message_record.ts";

/** `properties` are the record's, with the scheduling properties already removed. */
export function realMessageOf(message: MessageExt, properties: Map<string, string>, storeHost: HostBytes): MessageToStore {
  const topic = properties.get(Property.REAL_TOPIC) ?? message.topic;
  const queueId = Number(properties.get(Property.REAL_QID) ?? 0);
  properties.set(Property.WAIT, "false");
  return {
    topic,
    queueId,
    flag: message.flag,
    body: message.body,
    properties: encodeProperties(properties),
    sysFlag: message.sysFlag,
    bornTimestamp: message.bornTimestamp,
    bornHost: message.bornHostBytes,
    storeHost,
    reconsumeTimes: message.reconsumeTimes,
    preparedTransactionOffset: 0,
    tagsCode: tagsCodeOf(properties.get(Property.TAGS)),
  };
}
