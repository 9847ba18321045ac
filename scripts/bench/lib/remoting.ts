// Set-up requests the remoting-protocol bench tools share (Bolide and Apache RocketMQ take the same
// bytes): find the master through a name server, create the bench topic.
import { newRequest } from "../../../src/net/remoting_command.ts";
import { RequestCode } from "../../../src/net/request_code.ts";
import { ResponseCode } from "../../../src/net/response_code.ts";
import type { RemotingClient } from "../../../src/net/tcp_client.ts";
import { decodeJsonBody } from "../../../src/protocol/json_body.ts";

/** The address of the first broker group's master, as the name server at `namesrv` knows it. */
export async function masterAddress(client: RemotingClient, namesrv: string): Promise<string> {
  const cluster = await client.invoke(namesrv, newRequest(RequestCode.GET_BROKER_CLUSTER_INFO), 5000);
  if (cluster.code !== ResponseCode.SUCCESS) throw new Error(`cluster info: ${cluster.code} ${cluster.remark}`);
  const info = decodeJsonBody(cluster.body) as { brokerAddrTable: Record<string, { brokerAddrs: Record<string, string> }> };
  const master = Object.values(info.brokerAddrTable)[0]?.brokerAddrs["0"];
  if (!master) throw new Error("no master registered with the name server");
  return master;
}

/** UPDATE_AND_CREATE_TOPIC on `broker`: `queues` read and write queues, read-write, single tag. */
export async function createTopic(client: RemotingClient, broker: string, topic: string, queues: number): Promise<void> {
  const created = await client.invoke(
    broker,
    newRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, {
      topic, defaultTopic: "TBW102", readQueueNums: String(queues), writeQueueNums: String(queues), perm: "6",
      topicFilterType: "SINGLE_TAG", topicSysFlag: "0", order: "false",
    }),
    10_000,
  );
  if (created.code !== ResponseCode.SUCCESS) throw new Error(`create topic: ${created.code} ${created.remark}`);
}
