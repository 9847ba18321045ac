// NATS JetStream through the `nats` package: one stream per topic with file storage and subjects
// <topic>.0 .. <topic>.<queues-1>; js.publish waits for the stream's acknowledgement.
import { connect, headers, StorageType } from "nats";
import type { BenchClient } from "./types.ts";

export async function openNats(endpoint: string): Promise<BenchClient> {
  const connection = await connect({ servers: endpoint, maxReconnectAttempts: 0 });
  const js = connection.jetstream();

  return {
    async prepare(topic, queues) {
      const manager = await connection.jetstreamManager();
      await manager.streams.add({ name: topic, subjects: [`${topic}.*`], storage: StorageType.File, num_replicas: 1 });
      void queues;
    },

    async send(topic, queue, body, key) {
      if (key === undefined) {
        await js.publish(`${topic}.${queue}`, body);
      } else {
        const h = headers();
        h.set("key", key);
        await js.publish(`${topic}.${queue}`, body, { headers: h });
      }
    },

    async read(topic, _queues, expected, deadlineMs, _live, onMessage) {
      const consumer = await js.consumers.get(topic); // an ordered consumer from the stream's start
      const messages = await consumer.consume({ max_messages: 2000 });
      const timer = setTimeout(() => void messages.stop(), Math.max(0, deadlineMs - performance.now()));
      let read = 0;
      for await (const message of messages) {
        onMessage(message.data, 0, message.data.length);
        read++;
        if (read >= expected) break;
      }
      clearTimeout(timer);
      await messages.close();
      return read;
    },

    async close() {
      await connection.close();
    },
  };
}
