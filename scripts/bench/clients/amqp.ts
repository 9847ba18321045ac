// RabbitMQ through amqplib: `queues` quorum queues (x-queue-type=quorum) behind the default
// exchange, persistent messages on a confirm channel (publisher confirms = the acknowledgement).
import amqp from "amqplib";
import type { BenchClient } from "./types.ts";

const prefetch = 2000;
const ackEvery = 500;

export async function openAmqp(endpoint: string): Promise<BenchClient> {
  const connection = await amqp.connect(endpoint);
  const channel = await connection.createConfirmChannel();
  const queueName = (topic: string, queue: number): string => `${topic}.${queue}`;

  return {
    async prepare(topic, queues) {
      for (let q = 0; q < queues; q++) {
        await channel.assertQueue(queueName(topic, q), { durable: true, arguments: { "x-queue-type": "quorum" } });
      }
    },

    send(topic, queue, body, key) {
      return new Promise<void>((resolve, reject) => {
        const content = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
        channel.publish("", queueName(topic, queue), content, { persistent: true, messageId: key }, (error: unknown) =>
          error ? reject(error) : resolve(),
        );
      });
    },

    async read(topic, queues, expected, deadlineMs, _live, onMessage) {
      const reader = await connection.createChannel();
      await reader.prefetch(prefetch);
      let read = 0;
      let finish = (): void => {};
      const done = new Promise<void>((resolve) => (finish = resolve));
      for (let q = 0; q < queues; q++) {
        await reader.consume(queueName(topic, q), (message) => {
          if (!message) return;
          onMessage(message.content, 0, message.content.length);
          read++;
          if (read % ackEvery === 0) reader.ack(message, true);
          if (read >= expected) finish();
        });
      }
      const timer = setTimeout(finish, Math.max(0, deadlineMs - performance.now()));
      await done;
      clearTimeout(timer);
      reader.ackAll();
      await reader.close();
      return read;
    },

    async close() {
      await channel.close();
      await connection.close();
    },
  };
}
