// Ordered and transactional throughput against plain sends, in one run on one broker
// (dist/bolide, 8 queues per topic, 1 KiB bodies), driven by Bolide's own SDK:
//   plain          Producer.send, `inflight` sends at a time
//   transactional  TransactionProducer.sendMessageInTransaction (half message + END_TRANSACTION
//                  commit), `inflight` at a time; "consumed" = the committed messages reached a consumer
//   ordered        Producer.send with a selector (key % 8 queues), then an orderly PushConsumer
//                  (onMessageOrderly: broker queue locks, one message of a queue at a time)
//
//   npm run -s build && bun scripts/bench/order_tx.ts [--messages 20000] [--inflight 32]
//
// Prints one JSON line per kind: send msgs/s and end-to-end consumed msgs/s.
import { parseArgs } from "node:util";
import { Producer, PushConsumer, TransactionProducer, type MessageQueue } from "../../src/client/index.ts";
import { setLogLevel } from "../../src/log.ts";
import { cleanupAll, startBinary, uniqueName } from "../../test/e2e/helpers.ts";

const { values } = parseArgs({ options: { messages: { type: "string", default: "20000" }, inflight: { type: "string", default: "32" } } });
const messages = Number(values.messages);
const inflight = Number(values.inflight);
const body = "x".repeat(1024);
setLogLevel("error");

const broker = await startBinary({ extraArgs: ["--default-topic-queue-nums", "8"] });
const namesrvAddr = broker.namesrvAddr;

async function inParallel(count: number, send: (index: number) => Promise<unknown>): Promise<number> {
  const startedMs = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next < count) await send(next++);
    }),
  );
  return performance.now() - startedMs;
}

async function consumeAll(topic: string, orderly: boolean, count: number, sentAtMs: number): Promise<number> {
  const consumer = new PushConsumer({ namesrvAddr, consumerGroup: uniqueName("CG_bench"), consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET", pullBatchSize: 32 });
  consumer.subscribe(topic);
  let got = 0;
  const done = new Promise<void>((resolve) => {
    const handler = (): void => {
      if (++got === count) resolve();
    };
    if (orderly) consumer.onMessageOrderly(handler);
    else consumer.onMessage(handler);
  });
  await consumer.start();
  await done;
  const elapsedMs = performance.now() - sentAtMs;
  await consumer.shutdown();
  return elapsedMs;
}

function report(kind: string, sendMs: number, consumeMs: number): void {
  const perSecond = (ms: number): number => Math.round((messages / ms) * 1000);
  console.log(JSON.stringify({ kind, messages, bodyBytes: body.length, inflight, sendMsgsPerS: perSecond(sendMs), sendToConsumedMsgsPerS: perSecond(consumeMs) }));
}

try {
  const producer = new Producer({ namesrvAddr, producerGroup: uniqueName("PG_bench") });
  await producer.start();
  {
    const topic = uniqueName("bench_warmup"); // JIT and connections warm before anything is timed
    await producer.send({ topic, body });
    await inParallel(Math.min(messages, 5000), () => producer.send({ topic, body }));
  }
  {
    const topic = uniqueName("bench_plain");
    await producer.send({ topic, body }); // creates the topic; not counted
    const startMs = performance.now();
    const sendMs = await inParallel(messages, () => producer.send({ topic, body }));
    report("plain", sendMs, await consumeAll(topic, false, messages + 1, startMs));
  }
  {
    const topic = uniqueName("bench_tx");
    await producer.send({ topic, body });
    const tx = new TransactionProducer({ namesrvAddr, producerGroup: uniqueName("PG_tx") }, {
      executeLocalTransaction: () => "COMMIT_MESSAGE",
      checkLocalTransaction: () => "COMMIT_MESSAGE",
    });
    await tx.start();
    const startMs = performance.now();
    const sendMs = await inParallel(messages, () => tx.sendMessageInTransaction({ topic, body }));
    report("transactional", sendMs, await consumeAll(topic, false, messages + 1, startMs));
    await tx.shutdown();
  }
  {
    const topic = uniqueName("bench_order");
    await producer.send({ topic, body });
    const byKey = (key: number) => ({ selector: (queues: readonly MessageQueue[]) => queues[key % queues.length]! });
    const startMs = performance.now();
    const sendMs = await inParallel(messages, (index) => producer.send({ topic, body }, byKey(index % 64)));
    report("ordered", sendMs, await consumeAll(topic, true, messages + 1, startMs));
  }
  await producer.shutdown();
} finally {
  await broker.stop();
  cleanupAll();
}
