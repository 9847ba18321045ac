// End-to-end: Bolide's own client SDK (src/client) against the compiled broker binary.
//
//   npm run -s build && ./node_modules/.bin/bun test test/e2e/sdk.test.ts
// The same scenarios against real Apache RocketMQ 4.9.7 (checks the SDK itself, scripts/peer):
//   E2E_TARGET=rocketmq ./node_modules/.bin/bun test test/e2e/sdk.test.ts
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  MQClientError,
  Producer,
  PullConsumer,
  PushConsumer,
  type Message,
  type MessageQueue,
  type PushConsumerOptions,
  type ReceivedMessage,
  type SendResult,
} from "../../src/client/index.ts";
import { type Broker, cleanupAll, freePort, prepareTopic, sleep, startTarget, target, uniqueName, waitUntil } from "./helpers.ts";

const testTimeoutMs = 60_000;
const consumeWaitMs = 30_000;
const decoder = new TextDecoder();

afterAll(cleanupAll);

/** Every message a push consumer got, by body text (bodies are unique per test). */
class Collector {
  readonly byBody = new Map<string, ReceivedMessage>();
  deliveries = 0;

  constructor(readonly consumer: PushConsumer) {
    consumer.onMessage((message) => {
      this.deliveries++;
      this.byBody.set(decoder.decode(message.body), message);
    });
  }

  async waitFor(count: number, timeoutMs = consumeWaitMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.byBody.size < count) {
      if (Date.now() > deadline) {
        throw new Error(`${this.consumer.clientId}: got ${this.byBody.size} of ${count} messages within ${timeoutMs} ms`);
      }
      await sleep(20);
    }
  }
}


describe(`client SDK against ${target}`, () => {
  let broker: Broker;
  const started: Array<{ shutdown(): Promise<void> }> = [];

  beforeAll(async () => {
    // Short delay levels, so that redelivery through %RETRY%<group> (level 3 + n) takes 1 s, not 10 s.
    broker = await startTarget({ extraArgs: ["--message-delay-level", Array(18).fill("1s").join(" ")] });
  }, 120_000);

  afterAll(async () => {
    for (const client of started.splice(0)) await client.shutdown().catch(() => undefined);
    if (broker) await broker.stop();
  }, 60_000);

  async function producer(options: Partial<ConstructorParameters<typeof Producer>[0]> = {}): Promise<Producer> {
    const created = new Producer({ namesrvAddr: broker.namesrvAddr, producerGroup: uniqueName("PG"), ...options });
    await created.start();
    started.push(created);
    return created;
  }

  /** A started push consumer of `topic`, with a Collector. */
  async function consumer(topic: string, options: Partial<PushConsumerOptions> = {}, expression = "*"): Promise<Collector> {
    const created = new PushConsumer({
      namesrvAddr: broker.namesrvAddr,
      consumerGroup: uniqueName("CG"),
      consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
      ...options,
    });
    created.subscribe(topic, expression);
    const collector = new Collector(created);
    await created.start();
    started.push(created);
    return collector;
  }

  async function newTopic(prefix: string): Promise<string> {
    const topic = uniqueName(prefix);
    await prepareTopic(broker, topic);
    return topic;
  }

  test("2,000 sync sends, then a push consumer gets every one", async () => {
    const topic = await newTopic("sdk_sync");
    const p = await producer();
    const results: SendResult[] = [];
    const sendStarted = Date.now();
    for (let i = 0; i < 2000; i++) {
      results.push(await p.send({ topic, body: `sync-${i}`, tags: "TagA", keys: [`key-${i}`, "common"], properties: { index: String(i) } }));
    }
    console.log(`2,000 sync sends in ${Date.now() - sendStarted} ms`);
    expect(results.every((r) => r.sendStatus === "SEND_OK")).toBe(true);
    expect(new Set(results.map((r) => r.msgId)).size).toBe(2000);
    for (const r of results) {
      expect(r.msgId).toMatch(/^[0-9A-F]{32}$/);
      expect(r.offsetMsgId).toMatch(/^[0-9A-F]{32}$/);
      expect(r.messageQueue.topic).toBe(topic);
    }
    expect(new Set(results.map((r) => r.messageQueue.queueId)).size).toBeGreaterThan(1); // round-robin

    const c = await consumer(topic);
    await c.waitFor(2000);
    expect(c.byBody.size).toBe(2000);
    const sentIds = new Set(results.map((r) => r.msgId));
    for (const [body, m] of c.byBody) {
      expect(sentIds.has(m.msgId)).toBe(true);
      expect(m.topic).toBe(topic);
      expect(m.tags).toBe("TagA");
      const index = body.slice("sync-".length);
      expect(m.keys).toEqual([`key-${index}`, "common"]);
      expect(m.propertyMap["index"]).toBe(index);
    }
  }, testTimeoutMs);

  test("async sends (promise and callback) and oneway sends are all consumed", async () => {
    const topic = await newTopic("sdk_async");
    const p = await producer();
    const count = 300;
    const viaPromise = Promise.all(Array.from({ length: count }, (_, i) => p.sendAsync({ topic, body: `promise-${i}` })));
    const viaCallback = Promise.all(
      Array.from(
        { length: count },
        (_, i) =>
          new Promise<SendResult>((resolve, reject) => {
            void p.sendAsync({ topic, body: `callback-${i}` }, (error, result) => (error ? reject(error) : resolve(result!)));
          }),
      ),
    );
    const viaOneway = Promise.all(Array.from({ length: count }, (_, i) => p.sendOneway({ topic, body: `oneway-${i}` })));
    const [promised, calledBack] = await Promise.all([viaPromise, viaCallback, viaOneway]);
    expect(promised.every((r) => r.sendStatus === "SEND_OK")).toBe(true);
    expect(calledBack.every((r) => r.sendStatus === "SEND_OK")).toBe(true);

    const c = await consumer(topic);
    await c.waitFor(3 * count);
    for (const kind of ["promise", "callback", "oneway"]) {
      for (let i = 0; i < count; i++) expect(c.byBody.has(`${kind}-${i}`)).toBe(true);
    }
  }, testTimeoutMs);

  test("batch sends land in one queue with consecutive offsets", async () => {
    const topic = await newTopic("sdk_batch");
    const p = await producer();
    const batches = 4;
    const size = 50;
    const results: SendResult[] = [];
    for (let b = 0; b < batches; b++) {
      const messages: Message[] = Array.from({ length: size }, (_, i) => ({ topic, body: `batch-${b}-${i}`, tags: "B", keys: `bk-${b}-${i}` }));
      const result = await p.sendBatch(messages);
      expect(result.sendStatus).toBe("SEND_OK");
      expect(result.msgId.split(",")).toHaveLength(size);
      expect(result.offsetMsgId.split(",")).toHaveLength(size);
      results.push(result);
    }

    const c = await consumer(topic);
    await c.waitFor(batches * size);
    for (let b = 0; b < batches; b++) {
      const result = results[b]!;
      const ids = result.msgId.split(",");
      for (let i = 0; i < size; i++) {
        const m = c.byBody.get(`batch-${b}-${i}`)!;
        expect(m.queueId).toBe(result.messageQueue.queueId);
        expect(m.queueOffset).toBe(result.queueOffset + i);
        expect(m.msgId).toBe(ids[i]!);
        expect(m.tags).toBe("B");
        expect(m.keys).toEqual([`bk-${b}-${i}`]);
      }
    }
  }, testTimeoutMs);

  test("pub/sub: two consumer groups each get every message", async () => {
    const topic = await newTopic("sdk_pubsub");
    const [c1, c2] = await Promise.all([consumer(topic), consumer(topic)]);
    const p = await producer();
    for (let i = 0; i < 500; i++) await p.send({ topic, body: `pubsub-${i}` });
    await Promise.all([c1.waitFor(500), c2.waitFor(500)]);
  }, testTimeoutMs);

  test("clustering: two consumers of one group split the queues and together get everything", async () => {
    const topic = await newTopic("sdk_cluster");
    const group = uniqueName("CG_cluster");
    const c1 = await consumer(topic, { consumerGroup: group, instanceName: "cluster-1" });
    const c2 = await consumer(topic, { consumerGroup: group, instanceName: "cluster-2" });
    // NOTIFY_CONSUMER_IDS_CHANGED makes both rebalance at once: 4 queues → 2 + 2, disjoint.
    // (Each also holds or not the one queue of %RETRY%<group>, which they split too.)
    const ofTopic = (c: Collector) => c.consumer.assignedQueues().filter((mq) => mq.topic === topic);
    await waitUntil("both members to hold 2 queues", () => ofTopic(c1).length === 2 && ofTopic(c2).length === 2, 10_000);
    const held = [...ofTopic(c1), ...ofTopic(c2)].map((mq) => mq.queueId);
    expect(new Set(held).size).toBe(4);

    const p = await producer();
    for (let i = 0; i < 1000; i++) await p.send({ topic, body: `cluster-${i}` });
    await waitUntil("the union to reach 1,000", () => new Set([...c1.byBody.keys(), ...c2.byBody.keys()]).size === 1000);
    expect(c1.byBody.size).toBeGreaterThan(0);
    expect(c2.byBody.size).toBeGreaterThan(0);
    console.log(`clustering split: ${c1.byBody.size} + ${c2.byBody.size}`);
    expect(c1.byBody.size + c2.byBody.size).toBe(1000); // queues were settled before sending: no overlap
  }, testTimeoutMs);

  test("broadcasting: two consumers of one group each get every message", async () => {
    const topic = await newTopic("sdk_broadcast");
    const group = uniqueName("CG_broadcast");
    const options: Partial<PushConsumerOptions> = { consumerGroup: group, messageModel: "BROADCASTING" };
    const c1 = await consumer(topic, { ...options, instanceName: "broadcast-1" });
    const c2 = await consumer(topic, { ...options, instanceName: "broadcast-2" });
    const p = await producer();
    for (let i = 0; i < 500; i++) await p.send({ topic, body: `broadcast-${i}` });
    await Promise.all([c1.waitFor(500), c2.waitFor(500)]);
    expect(c1.consumer.assignedQueues()).toHaveLength(4);
    expect(c2.consumer.assignedQueues()).toHaveLength(4);
  }, testTimeoutMs);

  test("tag filter: 'TagA || TagC' gets exactly those tags", async () => {
    const topic = await newTopic("sdk_tags");
    const p = await producer();
    const tags = ["TagA", "TagB", "TagC"];
    for (let i = 0; i < 300; i++) await p.send({ topic, body: `tag-${i}`, tags: tags[i % 3]! });
    await p.send({ topic, body: "untagged" });
    const c = await consumer(topic, {}, "TagA || TagC");
    await c.waitFor(200);
    await sleep(500); // nothing else may arrive
    expect(c.byBody.size).toBe(200);
    for (const m of c.byBody.values()) expect(["TagA", "TagC"]).toContain(m.tags!);
  }, testTimeoutMs);

  test("pull consumer reads everything and commits an offset the broker returns", async () => {
    const topic = await newTopic("sdk_pull");
    const p = await producer();
    for (let i = 0; i < 200; i++) await p.send({ topic, body: `pull-${i}`, tags: i % 2 === 0 ? "Even" : "Odd" });

    const group = uniqueName("CG_pull");
    const pc = new PullConsumer({ namesrvAddr: broker.namesrvAddr, consumerGroup: group });
    await pc.start();
    started.push(pc);
    const queues = await pc.fetchMessageQueues(topic);
    expect(queues.length).toBe(4);
    const bodies = new Set<string>();
    for (const mq of queues) {
      let offset = await pc.minOffset(mq);
      expect(offset).toBe(0);
      expect(await pc.searchOffset(mq, 0)).toBe(0); // SEARCH_OFFSET_BY_TIMESTAMP: before everything
      const max = await pc.maxOffset(mq);
      for (;;) {
        const result = await pc.pull(mq, "*", offset, 32);
        if (result.status === "NO_NEW_MSG") break;
        expect(result.status).toBe("FOUND");
        for (const m of result.messages) bodies.add(decoder.decode(m.body));
        offset = result.nextBeginOffset;
      }
      expect(offset).toBe(max);
      const beyond = await pc.pull(mq, "*", max + 5, 32);
      expect(beyond.status).toBe("OFFSET_ILLEGAL");
      expect(beyond.nextBeginOffset).toBe(max);
    }
    expect(bodies.size).toBe(200);

    // Filtered pulls: "Even" gets the 100 even bodies; a queue holding only odd ones answers
    // NO_MATCHED_MSG (round-robin over 4 queues puts one parity in each queue).
    const evens = new Set<string>();
    const statuses = new Set<string>();
    for (const mq of queues) {
      let offset = 0;
      for (;;) {
        const result = await pc.pull(mq, "Even", offset, 32);
        statuses.add(result.status);
        if (result.status === "NO_NEW_MSG") break;
        for (const m of result.messages) {
          expect(m.tags).toBe("Even");
          evens.add(decoder.decode(m.body));
        }
        offset = result.nextBeginOffset;
      }
    }
    expect(evens.size).toBe(100);
    expect(statuses.has("FOUND")).toBe(true);

    const mq: MessageQueue = queues[1]!;
    pc.updateConsumeOffset(mq, 7);
    expect(await pc.fetchConsumeOffset(mq, false)).toBe(7);
    pc.commit();
    await waitUntil("QUERY_CONSUMER_OFFSET to return 7", async () => (await pc.fetchConsumeOffset(mq)) === 7, 5000);
    // A fresh client of the same group sees it too.
    const other = new PullConsumer({ namesrvAddr: broker.namesrvAddr, consumerGroup: group });
    await other.start();
    started.push(other);
    expect(await other.fetchConsumeOffset(mq)).toBe(7);
  }, testTimeoutMs);

  test("pullBlockIfNotFound is held by the broker and answers when a message arrives", async () => {
    const topic = await newTopic("sdk_longpoll");
    const p = await producer();
    await p.send({ topic, body: "first" }, { queueId: 0 });
    const pc = new PullConsumer({ namesrvAddr: broker.namesrvAddr, consumerGroup: uniqueName("CG_longpoll") });
    await pc.start();
    started.push(pc);
    const mq = (await pc.fetchMessageQueues(topic)).find((queue) => queue.queueId === 0)!;
    const max = await pc.maxOffset(mq);
    const pullStarted = Date.now();
    const held = pc.pullBlockIfNotFound(mq, "*", max, 32);
    await sleep(300);
    await p.send({ topic, body: "second" }, { queueId: 0 });
    const result = await held;
    const waitedMs = Date.now() - pullStarted;
    expect(result.status).toBe("FOUND");
    expect(result.messages.map((m) => decoder.decode(m.body))).toEqual(["second"]);
    expect(waitedMs).toBeGreaterThanOrEqual(250); // it was held, not answered NO_NEW_MSG at once
    expect(waitedMs).toBeLessThan(5000); // woken by the arrival, not by the 15 s hold expiring
  }, testTimeoutMs);

  test("bodies over 4 KiB round-trip through zlib and through lz4", async () => {
    const topic = await newTopic("sdk_compress");
    const zlibProducer = await producer();
    const lz4Producer = await producer({ compression: "lz4" });
    const big = (name: string): string => Array.from({ length: 400 }, (_, i) => `${name} line ${i} of a compressible body\n`).join("");
    const zlibBody = big("zlib");
    const lz4Body = big("lz4");
    expect(zlibBody.length).toBeGreaterThan(4096);
    await zlibProducer.send({ topic, body: zlibBody });
    await lz4Producer.send({ topic, body: lz4Body });
    await zlibProducer.send({ topic, body: "small" });

    const c = await consumer(topic);
    await c.waitFor(3);
    const viaZlib = c.byBody.get(zlibBody)!;
    const viaLz4 = c.byBody.get(lz4Body)!;
    expect(viaZlib.sysFlag & 0x701).toBe(0x1); // COMPRESSED, no type bits: what 4.x consumers read
    expect(viaLz4.sysFlag & 0x701).toBe(0x101); // COMPRESSED | COMPRESSION_LZ4 (RocketMQ 5)
    expect(viaZlib.storeSize).toBeLessThan(zlibBody.length); // stored compressed
    expect(viaLz4.storeSize).toBeLessThan(lz4Body.length);
    expect(c.byBody.get("small")!.sysFlag & 0x1).toBe(0);
  }, testTimeoutMs);

  test("ordered sends: { queueId } and a selector pin the queue", async () => {
    const topic = await newTopic("sdk_ordered");
    const p = await producer();
    for (let i = 0; i < 20; i++) {
      const pinned = await p.send({ topic, body: `pinned-${i}` }, { queueId: 2 });
      expect(pinned.messageQueue.queueId).toBe(2);
      const selected = await p.send({ topic, body: `selected-${i}` }, { selector: (queues) => queues[i % 2]! });
      expect(selected.messageQueue.queueId).toBe(i % 2);
    }
    const c = await consumer(topic);
    await c.waitFor(40);
    const pinnedOffsets = Array.from({ length: 20 }, (_, i) => c.byBody.get(`pinned-${i}`)!.queueOffset);
    expect(pinnedOffsets).toEqual([...pinnedOffsets].sort((a, b) => a - b)); // one queue keeps send order
  }, testTimeoutMs);

  test("a handler that throws gets the message again through the retry topic, under its own topic", async () => {
    const topic = await newTopic("sdk_retry");
    const p = await producer();
    await p.send({ topic, body: "flaky" });
    await p.send({ topic, body: "fine" });
    const created = new PushConsumer({ namesrvAddr: broker.namesrvAddr, consumerGroup: uniqueName("CG_retry"), consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET" });
    const attempts = new Map<string, number>();
    const seen: Array<{ topic: string; reconsumeTimes: number }> = [];
    created.subscribe(topic);
    created.onMessage((message) => {
      const body = decoder.decode(message.body);
      if (body === "flaky") seen.push({ topic: message.topic, reconsumeTimes: message.reconsumeTimes });
      const attempt = (attempts.get(body) ?? 0) + 1;
      attempts.set(body, attempt);
      if (body === "flaky" && attempt === 1) throw new Error("first attempt fails");
    });
    await created.start();
    started.push(created);
    await waitUntil("the flaky message to be delivered twice", () => attempts.get("flaky") === 2, target === "bolide" ? 10_000 : 20_000);
    expect(attempts.get("fine")).toBe(1);
    expect(seen).toEqual([
      { topic, reconsumeTimes: 0 },
      { topic, reconsumeTimes: 1 },
    ]);
  }, testTimeoutMs);

  test("a member that shuts down commits its offsets; the group resumes after them", async () => {
    const topic = await newTopic("sdk_resume");
    const group = uniqueName("CG_resume");
    const p = await producer();
    for (let i = 0; i < 100; i++) await p.send({ topic, body: `before-${i}` });
    const first = await consumer(topic, { consumerGroup: group, instanceName: "resume-1" });
    await first.waitFor(100);
    await first.consumer.shutdown(); // UPDATE_CONSUMER_OFFSET for every queue, then UNREGISTER_CLIENT

    for (let i = 0; i < 100; i++) await p.send({ topic, body: `after-${i}` });
    const second = await consumer(topic, { consumerGroup: group, instanceName: "resume-2" });
    await second.waitFor(100);
    await sleep(300);
    expect(second.byBody.size).toBe(100);
    for (const body of second.byBody.keys()) expect(body.startsWith("after-")).toBe(true);
  }, testTimeoutMs);

  test("a running consumer and producer carry on across a broker restart (SIGTERM)", async () => {
    if (target !== "bolide") return; // restarting the peer takes ~20 s; the point is Bolide's restart
    const topic = await newTopic("sdk_restart");
    const p = await producer();
    const c = await consumer(topic, { consumerGroup: uniqueName("CG_restart"), instanceName: "restart-1" });
    for (let i = 0; i < 50; i++) await p.send({ topic, body: `before-${i}` });
    await c.waitFor(50);
    expect(await broker.restart()).toBe(0);
    // Sends may fail while the broker is down or the connection is being re-made: retry each.
    for (let i = 0; i < 50; i++) {
      await waitUntil(`send after-${i}`, () => p.send({ topic, body: `after-${i}` }).then(() => true, () => false), 20_000);
    }
    await c.waitFor(100, 40_000);
    for (let i = 0; i < 50; i++) expect(c.byBody.has(`after-${i}`)).toBe(true);
  }, 90_000);

  test("an unreachable name server makes send reject with MQClientError", async () => {
    const port = await freePort(); // nothing listens there
    const p = new Producer({ namesrvAddr: `127.0.0.1:${port}`, producerGroup: uniqueName("PG"), sendMsgTimeoutMs: 1000 });
    await p.start();
    started.push(p);
    const sendStarted = Date.now();
    const error = await p.send({ topic: "sdk_nowhere", body: "x" }).then(() => null, (thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(MQClientError);
    expect(Date.now() - sendStarted).toBeLessThan(5000);
  }, testTimeoutMs);
});
