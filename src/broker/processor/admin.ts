// Offsets and topics: QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15),
// UPDATE_AND_CREATE_TOPIC (17), GET_ALL_TOPIC_CONFIG (21), SEARCH_OFFSET_BY_TIMESTAMP (29),
// GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), GET_EARLIEST_MSG_STORETIME (32),
// VIEW_MESSAGE_BY_ID (33), GET_ALL_CONSUMER_OFFSET (43), GET_ALL_DELAY_OFFSET (45),
// GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201, empty), DELETE_TOPIC_IN_BROKER (215);
// UPDATE_BROKER_CONFIG (25) and GET_BROKER_CONFIG (26), see ../runtime_config.ts.
// Anything else: REQUEST_CODE_NOT_SUPPORTED (3) with a remark naming the code.
import type { Connection } from "../../net/connection.ts";
import { newResponse, type RemotingCommand } from "../../net/remoting_command.ts";
import { RequestCode } from "../../net/request_code.ts";
import { RemotingError, ResponseCode } from "../../net/response_code.ts";
import { encodeJsonBody } from "../../protocol/json_body.ts";
import { isSystemTopic, newTopicConfig, topicNameProblem } from "../../protocol/topic.ts";
import type { Broker } from "../broker.ts";
import { brokerConfigText, brokerConfigVersion, BrokerConfigUpdateError, updateBrokerConfig } from "../runtime_config.ts";

function required(ext: Record<string, string>, name: string): string {
  const value = ext[name];
  if (value === undefined) throw new RemotingError(ResponseCode.SYSTEM_ERROR, `the custom field <${name}> is null`);
  return value;
}
function requiredInt(ext: Record<string, string>, name: string): number {
  const value = Number(required(ext, name));
  if (!Number.isFinite(value)) throw new RemotingError(ResponseCode.SYSTEM_ERROR, `the custom field <${name}> is not a number`);
  return value;
}

export function processAdmin(broker: Broker, _connection: Connection, request: RemotingCommand): Promise<RemotingCommand | null> | RemotingCommand | null {
  const ext = request.extFields;
  const ok = (fields: Record<string, string> = {}, body: Uint8Array | null = null): RemotingCommand =>
    newResponse(request, ResponseCode.SUCCESS, null, fields, body);
  switch (request.code) {
    case RequestCode.QUERY_CONSUMER_OFFSET: {
      const group = required(ext, "consumerGroup");
      const topic = required(ext, "topic");
      const queueId = requiredInt(ext, "queueId");
      const offset = broker.offsets.query(group, topic, queueId);
      if (offset >= 0) return ok({ offset: String(offset) });
      // No committed offset: a young queue whose first message is still hot starts at 0.
      const minOffset = broker.store.minOffset(topic, queueId);
      if (minOffset <= 0 && !isColdAt(broker, topic, queueId, 0)) return ok({ offset: "0" });
      return newResponse(request, ResponseCode.QUERY_NOT_FOUND, "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first");
    }
    case RequestCode.UPDATE_CONSUMER_OFFSET: {
      broker.offsets.commit(required(ext, "consumerGroup"), required(ext, "topic"), requiredInt(ext, "queueId"), requiredInt(ext, "commitOffset"));
      return ok();
    }
    case RequestCode.UPDATE_AND_CREATE_TOPIC:
      return createTopic(broker, request);
    case RequestCode.GET_ALL_TOPIC_CONFIG:
      return ok({}, encodeJsonBody(broker.topics.wrapper()));
    case RequestCode.SEARCH_OFFSET_BY_TIMESTAMP:
      return ok({ offset: String(broker.store.offsetByTime(required(ext, "topic"), requiredInt(ext, "queueId"), requiredInt(ext, "timestamp"))) });
    case RequestCode.GET_MAX_OFFSET:
      return ok({ offset: String(broker.store.maxOffset(required(ext, "topic"), requiredInt(ext, "queueId"))) });
    case RequestCode.GET_MIN_OFFSET:
      return ok({ offset: String(broker.store.minOffset(required(ext, "topic"), requiredInt(ext, "queueId"))) });
    case RequestCode.GET_EARLIEST_MSG_STORETIME: {
      const topic = required(ext, "topic");
      const queueId = requiredInt(ext, "queueId");
      return ok({ timestamp: String(broker.store.storeTimestampAt(topic, queueId, broker.store.minOffset(topic, queueId))) });
    }
    case RequestCode.VIEW_MESSAGE_BY_ID: {
      const offset = requiredInt(ext, "offset");
      const record = broker.store.recordAtPhysical(offset);
      if (!record) {
        return newResponse(request, ResponseCode.SYSTEM_ERROR, `can not find message by the offset, ${offset}`);
      }
      return ok({}, record.slice());
    }
    case RequestCode.GET_BROKER_RUNTIME_INFO: {
      const nowMs = broker.io.clock.realtimeMs();
      const table = {
        brokerVersionDesc: `Bolide ${broker.version}`,
        bootTimestamp: String(broker.bootTimestampMs),
        runtime: `${Math.floor((nowMs - broker.bootTimestampMs) / 1000)} s`,
        commitLogMinOffset: String(broker.store.commitLog.minOffset),
        commitLogMaxOffset: String(broker.store.commitLog.maxOffset),
        commitLogFlushedOffset: String(broker.store.commitLog.flushedOffset),
        flushDiskType: broker.config.store.flush === "sync" ? "SYNC_FLUSH" : "ASYNC_FLUSH",
        brokerRole: broker.config.brokerRole,
        ...broker.repl.runtimeInfo(),
        topicCount: String(broker.topics.topics.size),
        consumerGroupCount: String(broker.clients.consumerGroups.size),
        pullRequestsHeld: String(broker.pullHold.heldCount),
      };
      return ok({}, encodeJsonBody({ table }));
    }
    case RequestCode.GET_BROKER_CONFIG: {
      return ok({ version: JSON.stringify(brokerConfigVersion(broker)) }, new TextEncoder().encode(brokerConfigText(broker)));
    }
    case RequestCode.UPDATE_BROKER_CONFIG: {
      try {
        const update = updateBrokerConfig(broker, new TextDecoder().decode(request.body ?? new Uint8Array(0)));
        // Java's admin ignores the remark of a success; ours prints it.
        const remark = update.savedTo !== null ? `applied and saved to ${update.savedTo}`
          : update.saveError !== null ? `applied, but not saved: ${update.saveError}`
          : "applied until the broker stops (it was started without -c broker.conf)";
        return newResponse(request, ResponseCode.SUCCESS, remark);
      } catch (error) {
        if (error instanceof BrokerConfigUpdateError) return newResponse(request, ResponseCode.SYSTEM_ERROR, error.message);
        throw error;
      }
    }
    case RequestCode.GET_ALL_CONSUMER_OFFSET:
      return ok({}, encodeJsonBody(broker.offsets.snapshot()));
    case RequestCode.GET_ALL_DELAY_OFFSET:
      return ok({}, new TextEncoder().encode(broker.schedule.snapshotText()));
    case RequestCode.GET_ALL_SUBSCRIPTIONGROUP_CONFIG:
      // Bolide keeps no subscription-group configs (groups are implicit); an Apache RocketMQ
      // slave syncing from us asks every 10 s: an empty table at a fixed data version.
      return ok({}, encodeJsonBody({ subscriptionGroupTable: {}, dataVersion: { counter: 0, timestamp: broker.bootTimestampMs } }));
    case RequestCode.DELETE_TOPIC_IN_BROKER: {
      const topic = required(ext, "topic");
      broker.topics.delete(topic);
      broker.offsets.deleteTopic(topic);
      return broker.registerAll().then(() => ok());
    }
    default:
      return newResponse(request, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, ` request type ${request.code} not supported`);
  }
}

/** RocketMQ's checkInDiskByConsumeOffset: the message lies more than 40 % of RAM behind the log's end. */
function isColdAt(broker: Broker, topic: string, queueId: number, offset: number): boolean {
  const queue = broker.store.findQueue(topic, queueId);
  if (!queue) return false;
  const entry = { commitLogOffset: 0, size: 0, tagsCode: 0 };
  if (!queue.get(offset, entry)) return false;
  return broker.store.commitLog.maxOffset - entry.commitLogOffset > broker.hotBytesMax;
}

async function createTopic(broker: Broker, request: RemotingCommand): Promise<RemotingCommand> {
  const ext = request.extFields;
  const topic = required(ext, "topic");
  const problem = topicNameProblem(topic);
  if (problem) return newResponse(request, ResponseCode.SYSTEM_ERROR, problem);
  if (isSystemTopic(topic)) return newResponse(request, ResponseCode.SYSTEM_ERROR, `The topic[${topic}] is conflict with system topic.`);
  const readQueueNums = requiredInt(ext, "readQueueNums");
  const writeQueueNums = requiredInt(ext, "writeQueueNums");
  if (readQueueNums <= 0 || writeQueueNums <= 0 || readQueueNums > 1024 || writeQueueNums > 1024) {
    return newResponse(request, ResponseCode.SYSTEM_ERROR, "queue numbers must be between 1 and 1024");
  }
  const config = newTopicConfig(topic, 0, Number(ext["perm"] ?? 6));
  config.readQueueNums = readQueueNums;
  config.writeQueueNums = writeQueueNums;
  config.topicFilterType = ext["topicFilterType"] === "MULTI_TAG" ? "MULTI_TAG" : "SINGLE_TAG";
  config.topicSysFlag = Number(ext["topicSysFlag"] ?? 0);
  config.order = ext["order"] === "true";
  const existing = broker.topics.get(topic);
  // A name server creating a topic on lookup never changes one that already exists.
  if (existing && ext["createIfAbsent"] === "true") {
    await broker.registerAll();
    return newResponse(request, ResponseCode.SUCCESS);
  }
  if (existing && JSON.stringify(existing) === JSON.stringify(config)) return newResponse(request, ResponseCode.SUCCESS);
  await broker.createTopic(config);
  return newResponse(request, ResponseCode.SUCCESS);
}
