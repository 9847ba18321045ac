// Bolide's TypeScript client for RocketMQ 4.x brokers (Bolide or Apache RocketMQ): a producer,
// a push consumer and a pull consumer, named after the Java client's DefaultMQProducer,
// DefaultMQPushConsumer and DefaultMQPullConsumer.
export { Producer, type ProducerOptions, type SendOptions, type SendCallback } from "./producer.ts";
export {
  PushConsumer,
  type PushConsumerOptions,
  type MessageHandler,
  type MessageModel,
  type ConsumeFromWhere,
} from "./push_consumer.ts";
export {
  TransactionProducer,
  type TransactionListener,
  type TransactionSendResult,
  type LocalTransactionState,
} from "./transaction_producer.ts";
export { PullConsumer, type PullConsumerOptions, type PullResult, type PullStatus } from "./pull_consumer.ts";
export type { Message, MessageQueue, ReceivedMessage, SendResult, SendStatus } from "./message.ts";
export type { Compression } from "./compression.ts";
export { MQClientError, MQBrokerError } from "./errors.ts";
export { allocateAveragely, allocateAveragelyByCircle, allocateByConfig, allocateConsistentHash, type AllocateStrategy } from "./rebalance.ts";
export { MQAdmin, type MQAdminOptions } from "./admin.ts";
export type { Credentials } from "../security/sign.ts";
