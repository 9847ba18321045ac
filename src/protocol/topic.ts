// Topic names, permissions and the topic config record shared by broker, name server and client.

export const topicNameMaxChars = 127;
const topicPattern = /^[%|a-zA-Z0-9_-]+$/;

export const defaultTopic = "TBW102";
export const retryTopicPrefix = "%RETRY%";
export const dlqTopicPrefix = "%DLQ%";
/** Topics clients may not send to (AbstractSendMessageProcessor's not-allowed set). */
export const notAllowedSendTopics = new Set([
  "SCHEDULE_TOPIC_XXXX",
  "RMQ_SYS_TRANS_HALF_TOPIC",
  "RMQ_SYS_TRANS_OP_HALF_TOPIC",
  "TRANS_CHECK_MAX_TIME_TOPIC",
  "SELF_TEST_TOPIC",
  "OFFSET_MOVED_EVENT",
]);

export const Perm = { INHERIT: 1, WRITE: 2, READ: 4 } as const;
export const permReadWrite = Perm.READ | Perm.WRITE;

/** Why a topic name is unacceptable, or null when it is fine (TopicValidator's checks and words). */
export function topicNameProblem(topic: string): string | null {
  if (topic.trim().length === 0) return "The specified topic is blank.";
  if (!topicPattern.test(topic)) return `The specified topic[${topic}] contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$`;
  if (topic.length > topicNameMaxChars) return `The specified topic is longer than topic max length ${topicNameMaxChars}.`;
  return null;
}

export function isSystemTopic(topic: string): boolean {
  return notAllowedSendTopics.has(topic) || topic === defaultTopic || topic.startsWith("rmq_sys_");
}

export interface TopicConfig {
  topicName: string;
  readQueueNums: number;
  writeQueueNums: number;
  perm: number;
  topicFilterType: "SINGLE_TAG" | "MULTI_TAG";
  topicSysFlag: number;
  order: boolean;
}

export function newTopicConfig(topicName: string, queueNums: number, perm: number = permReadWrite): TopicConfig {
  return { topicName, readQueueNums: queueNums, writeQueueNums: queueNums, perm, topicFilterType: "SINGLE_TAG", topicSysFlag: 0, order: false };
}

