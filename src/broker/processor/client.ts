// HEART_BEAT (34), UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38), CHECK_CLIENT_CONFIG (46).
import type { Connection } from "../../net/connection.ts";
import { newResponse, type RemotingCommand } from "../../net/remoting_command.ts";
import { RequestCode } from "../../net/request_code.ts";
import { RemotingError, ResponseCode } from "../../net/response_code.ts";
import { encodeJsonBody } from "../../protocol/json_body.ts";
import { retryTopicPrefix } from "../../protocol/topic.ts";
import type { Broker } from "../broker.ts";
import { parseCheckClientConfigBody, parseHeartbeatBody } from "./bodies.ts";
import { sqlFilterFor } from "./pull.ts";

export async function processClient(broker: Broker, connection: Connection, request: RemotingCommand): Promise<RemotingCommand> {
  switch (request.code) {
    case RequestCode.HEART_BEAT: {
      const data = parseHeartbeatBody(request.body);
      // Every clustering consumer group gets its retry topic (1 queue, RW), routable at once.
      for (const consumer of data.consumerDataSet ?? []) {
        if ((consumer.messageModel ?? "CLUSTERING") === "CLUSTERING") await broker.ensureTopic(retryTopicPrefix + consumer.groupName, 1);
      }
      broker.clients.heartbeat(connection, data, broker.io.clock.realtimeMs());
      return newResponse(request, ResponseCode.SUCCESS);
    }
    case RequestCode.UNREGISTER_CLIENT:
      broker.clients.unregister(connection, request.extFields["consumerGroup"], request.extFields["producerGroup"]);
      return newResponse(request, ResponseCode.SUCCESS);
    case RequestCode.GET_CONSUMER_LIST_BY_GROUP: {
      const group = request.extFields["consumerGroup"] ?? "";
      const ids = broker.clients.consumerIds(group);
      if (ids.length === 0) return newResponse(request, ResponseCode.SYSTEM_ERROR, `no consumer for this group, ${group}`);
      return newResponse(request, ResponseCode.SUCCESS, null, {}, encodeJsonBody({ consumerIdList: ids }));
    }
    case RequestCode.CHECK_CLIENT_CONFIG: {
      // The Java client asks before it uses an SQL92 subscription.
      const subscription = parseCheckClientConfigBody(request.body);
      if (subscription?.expressionType.toUpperCase() === "SQL92") {
        try {
          sqlFilterFor(subscription.subString);
        } catch (error) {
          return newResponse(request, ResponseCode.SUBSCRIPTION_PARSE_FAILED, `parse SQL92 filter failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      return newResponse(request, ResponseCode.SUCCESS);
    }
    default:
      return newResponse(request, ResponseCode.SUCCESS);
  }
}
