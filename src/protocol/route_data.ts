// TopicRouteData as it travels (GET_ROUTEINFO_BY_TOPIC, GET_BROKER_CLUSTER_INFO bodies), with
// fastjson's field names. Broker ids are object keys ("0" = master) once encoded as JSON.

/** One broker name's queues of a topic. */
export interface QueueData {
  brokerName: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
  topicSysFlag: number;
}

/** A broker name and its addresses, as decoded from JSON. */
export interface BrokerData {
  brokerName: string;
  cluster: string;
  /** brokerId ("0" = master) → "ip:port". */
  brokerAddrs: Record<string, string>;
}

/** TopicRouteData (GET_ROUTEINFO_BY_TOPIC body). */
export interface TopicRoute {
  brokerDatas: BrokerData[];
  queueDatas: QueueData[];
}
