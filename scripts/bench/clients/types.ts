// What every workload needs from a broker's client. One adapter per protocol (clients/*.ts); a
// workload never knows which broker it drives. A "topic" is RocketMQ's topic with `queues` queues,
// Kafka's topic with as many partitions, RabbitMQ's `queues` quorum queues, one JetStream stream
// with `queues` subjects, or `queues` Redis streams.

export type ClientKind = "remoting" | "kafka" | "amqp" | "nats" | "redis";

export interface BenchClient {
  /** Creates the topic (idempotent for a fresh name). */
  prepare(topic: string, queues: number): Promise<void>;
  /** Resolves when the broker acknowledged the message (its durable setting decides what that means). */
  send(topic: string, queue: number, body: Uint8Array, key?: string): Promise<void>;
  /**
   * Reads the topic from its start, calling onMessage for each message, until `expected` messages
   * were read or deadlineMs (performance.now()) passed. `live` (latency): the topic is still being
   * written, so an empty read waits for more (long polling) instead of ending the read. Returns
   * the count read. A message's body is bytes [at, at + length) of `bytes`: no view is made per
   * message for a reader that looks at a few bytes of it, or none.
   */
  read(topic: string, queues: number, expected: number, deadlineMs: number, live: boolean, onMessage: (bytes: Uint8Array, at: number, length: number) => void): Promise<number>;
  close(): Promise<void>;
}

export async function openClient(kind: ClientKind, endpoint: string): Promise<BenchClient> {
  switch (kind) {
    case "remoting":
      return (await import("./remoting.ts")).openRemoting(endpoint);
    case "kafka":
      return (await import("./kafka.ts")).openKafka(endpoint);
    case "amqp":
      return (await import("./amqp.ts")).openAmqp(endpoint);
    case "nats":
      return (await import("./nats.ts")).openNats(endpoint);
    case "redis":
      return (await import("./redis.ts")).openRedis(endpoint);
  }
}
