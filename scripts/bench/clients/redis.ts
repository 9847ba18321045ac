// Redis Streams through ioredis: `queues` streams <topic>:0 .. <topic>:<queues-1>, XADD with
// auto-pipelining (the reply comes after the append; with appendfsync always, after the fsync
// of that event-loop turn).
import Redis from "ioredis";
import type { BenchClient } from "./types.ts";

const readCount = 1000;

export async function openRedis(endpoint: string): Promise<BenchClient> {
  const url = new URL(endpoint);
  const options = { host: url.hostname, port: Number(url.port), enableAutoPipelining: true, maxRetriesPerRequest: 1 };
  const writer = new Redis(options);
  const streamName = (topic: string, queue: number): string => `${topic}:${queue}`;

  return {
    async prepare() {},

    async send(topic, queue, body, key) {
      const value = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      if (key === undefined) await writer.xadd(streamName(topic, queue), "*", "d", value);
      else await writer.xadd(streamName(topic, queue), "*", "k", key, "d", value);
    },

    async read(topic, queues, expected, deadlineMs, live, onMessage) {
      const reader = new Redis(options);
      const keys = Array.from({ length: queues }, (_, q) => streamName(topic, q));
      const ids = keys.map(() => "0");
      let read = 0;
      while (read < expected && performance.now() < deadlineMs) {
        const blockMs = Math.max(1, Math.min(200, Math.floor(deadlineMs - performance.now())));
        const reply = (live
          ? await reader.xreadBuffer("COUNT", readCount, "BLOCK", blockMs, "STREAMS", ...keys, ...ids)
          : await reader.xreadBuffer("COUNT", readCount, "STREAMS", ...keys, ...ids)) as [Buffer, [Buffer, Buffer[]][]][] | null;
        if (!reply) {
          if (live) continue;
          break;
        }
        for (const [key, entries] of reply) {
          const index = keys.indexOf(key.toString());
          for (const [id, fields] of entries) {
            for (let f = 0; f + 1 < fields.length; f += 2) if (fields[f]!.toString() === "d") onMessage(fields[f + 1]!, 0, fields[f + 1]!.length);
            read++;
            ids[index] = id.toString();
          }
        }
      }
      reader.disconnect();
      return read;
    },

    async close() {
      writer.disconnect();
    },
  };
}
