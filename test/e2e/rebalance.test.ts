// Group membership changing while messages flow, allocation strategies, and broadcasting offsets
// that survive a consumer restart — our SDK against the compiled binary.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { allocateAveragelyByCircle, allocateConsistentHash, Producer, PushConsumer, type AllocateStrategy } from "../../src/client/index.ts";
import { cleanupAll, sleep, startBinary, tempDir, uniqueName, type Broker, waitUntil } from "./helpers.ts";

const decoder = new TextDecoder();
let broker: Broker;
beforeAll(async () => {
  broker = await startBinary();
});
afterAll(async () => {
  await broker.stop();
  cleanupAll();
});


for (const [name, strategy] of [
  ["averagely", undefined],
  ["consistent hash", allocateConsistentHash()],
  ["by circle", allocateAveragelyByCircle],
] as Array<[string, AllocateStrategy | undefined]>) {
  test(`three consumers join and leave while 3,000 messages flow (${name}): every message consumed`, async () => {
    const topic = uniqueName("Churn");
    const group = uniqueName("ChurnG");
    const total = 3000;
    const deliveries = new Map<string, number>();
    const make = async (instanceName: string): Promise<PushConsumer> => {
      const consumer = new PushConsumer({
        namesrvAddr: broker.namesrvAddr, consumerGroup: group, instanceName, consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
        rebalanceIntervalMs: 2000, ...(strategy ? { allocateStrategy: strategy } : {}),
      });
      consumer.subscribe(topic);
      consumer.onMessage((message) => {
        const body = decoder.decode(message.body);
        deliveries.set(body, (deliveries.get(body) ?? 0) + 1);
      });
      await consumer.start();
      return consumer;
    };
    const producer = new Producer({ namesrvAddr: broker.namesrvAddr, producerGroup: uniqueName("PG") });
    await producer.start();
    const a = await make("churn-a");
    const sending = (async () => {
      for (let i = 0; i < total; i++) {
        await producer.send({ topic, body: `m-${i}` });
        if (i % 100 === 0) await sleep(40);
      }
    })();
    await sleep(300);
    const b = await make("churn-b");
    await sleep(300);
    const c = await make("churn-c");
    await sleep(300);
    await a.shutdown();
    await sleep(300);
    await b.shutdown();
    await sending;
    await waitUntil(`all ${total} messages`, () => deliveries.size === total, 30_000);
    await sleep(500);
    const duplicates = [...deliveries.values()].reduce((sum, count) => sum + count - 1, 0);
    console.log(`churn (${name}): ${total} messages, ${duplicates} duplicate deliveries around rebalances`);
    expect(duplicates).toBeLessThan(total / 2);
    await c.shutdown();
    await producer.shutdown();
  }, 60_000);
}

test("a broadcasting consumer resumes from its local offset file after a restart", async () => {
  const topic = uniqueName("BcastResume");
  const group = uniqueName("BcastG");
  const offsetStoreDir = tempDir("bolide-offsets-");
  const producer = new Producer({ namesrvAddr: broker.namesrvAddr, producerGroup: uniqueName("PG") });
  await producer.start();
  const run = async (expected: number): Promise<Set<string>> => {
    const seen = new Set<string>();
    const consumer = new PushConsumer({
      namesrvAddr: broker.namesrvAddr, consumerGroup: group, instanceName: "bcast-1", messageModel: "BROADCASTING",
      consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET", offsetStoreDir,
    });
    consumer.subscribe(topic);
    consumer.onMessage((message) => void seen.add(decoder.decode(message.body)));
    await consumer.start();
    await waitUntil(`${expected} messages`, () => seen.size >= expected, 15_000);
    await sleep(300);
    await consumer.shutdown();
    return seen;
  };
  for (let i = 0; i < 100; i++) await producer.send({ topic, body: `first-${i}` });
  expect((await run(100)).size).toBe(100);
  for (let i = 0; i < 100; i++) await producer.send({ topic, body: `second-${i}` });
  const second = await run(100);
  expect(second.size).toBe(100);
  for (const body of second) expect(body.startsWith("second-")).toBe(true);
  await producer.shutdown();
}, 40_000);

test("SDK: an SQL92 subscription gets exactly the messages whose properties match", async () => {
  const topic = uniqueName("Sql");
  const producer = new Producer({ namesrvAddr: broker.namesrvAddr, producerGroup: uniqueName("PG") });
  await producer.start();
  for (let i = 0; i < 100; i++) await producer.send({ topic, body: `m-${i}`, tags: i % 2 === 0 ? "even" : "odd", properties: { n: String(i) } });
  const consumer = new PushConsumer({ namesrvAddr: broker.namesrvAddr, consumerGroup: uniqueName("SqlG"), consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET" });
  const seen = new Set<string>();
  consumer.subscribe(topic, "n BETWEEN 20 AND 39 AND TAGS = 'even'", "SQL92");
  consumer.onMessage((message) => void seen.add(decoder.decode(message.body)));
  await consumer.start();
  await waitUntil("10 matching messages", () => seen.size >= 10, 15_000);
  await sleep(1000);
  expect([...seen].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `m-${20 + i * 2}`).sort());
  await consumer.shutdown();
  await producer.shutdown();
}, 30_000);
