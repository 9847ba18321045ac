// Apache Kafka through kafkajs (pure JavaScript, driven by Bun). Sends are coalesced per event-loop
// turn into one produce request (what Kafka's own client does with linger.ms/batch.size), acks=all.
import { Kafka, logLevel, type Producer } from "kafkajs";
import { connect } from "node:net";
import type { BenchClient } from "./types.ts";

const batchMessagesMax = 2000;

interface Pending {
  partition: number;
  key: string | null;
  value: Buffer;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export async function openKafka(endpoint: string): Promise<BenchClient> {
  const kafka = new Kafka({
    clientId: `bench-${process.pid}`, brokers: [endpoint], logLevel: logLevel.NOTHING, retry: { retries: 3 },
    // kafkajs's default socket leaves Nagle on: under Bun a lone request then waits ~20 ms for the delayed ACK.
    socketFactory: ({ host, port, onConnect }) => {
      const socket = connect({ host, port }, onConnect);
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 60_000);
      return socket;
    },
  });
  let producer: Producer | null = null;
  let connecting: Promise<void> | null = null;
  const pending = new Map<string, Pending[]>();
  let flushScheduled = false;

  const flush = (): void => {
    flushScheduled = false;
    for (const [topic, list] of pending) {
      pending.delete(topic);
      for (let at = 0; at < list.length; at += batchMessagesMax) {
        const batch = list.slice(at, at + batchMessagesMax);
        producer!
          .send({ topic, acks: -1, messages: batch.map((p) => ({ partition: p.partition, key: p.key, value: p.value })) })
          .then(() => batch.forEach((p) => p.resolve()), (error) => batch.forEach((p) => p.reject(error)));
      }
    }
  };

  return {
    async prepare(topic, queues) {
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: queues, replicationFactor: 1 }], waitForLeaders: true });
      await admin.disconnect();
    },

    async send(topic, queue, body, key) {
      if (!connecting) {
        producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false, maxInFlightRequests: 16 });
        connecting = producer.connect();
      }
      await connecting;
      return new Promise<void>((resolve, reject) => {
        const value = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
        const list = pending.get(topic) ?? [];
        list.push({ partition: queue, key: key ?? null, value, resolve, reject });
        pending.set(topic, list);
        if (!flushScheduled) {
          flushScheduled = true;
          setImmediate(flush);
        }
      });
    },

    async read(topic, _queues, expected, deadlineMs, _live, onMessage) {
      const consumer = kafka.consumer({ groupId: `bench-${topic}-${process.pid}`, maxBytesPerPartition: 8 << 20, maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      let read = 0;
      let finish = (): void => {};
      const done = new Promise<void>((resolve) => (finish = resolve));
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            if (message.value) onMessage(message.value, 0, message.value.length);
            read++;
          }
          if (read >= expected) finish();
        },
      });
      const timer = setTimeout(finish, Math.max(0, deadlineMs - performance.now()));
      await done;
      clearTimeout(timer);
      await consumer.disconnect();
      return read;
    },

    async close() {
      if (producer) await producer.disconnect();
    },
  };
}
