// Retries, dead letters and delay levels against the compiled binary, with ali-ons and our SDK.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { MQAdmin, Producer, PullConsumer, PushConsumer, type ReceivedMessage } from "../../src/client/index.ts";
import { newRequest } from "../../src/net/remoting_command.ts";
import { RequestCode } from "../../src/net/request_code.ts";
import { ResponseCode } from "../../src/net/response_code.ts";
import { RemotingClient } from "../../src/net/tcp_client.ts";
import { spawnSync } from "node:child_process";
import { aliOnsScript, binaryPath, cleanupAll, lastJson, runNode, sleep, startBinary, uniqueName, type Broker, waitUntil } from "./helpers.ts";

const decoder = new TextDecoder();

function adminCli(...args: string[]): string {
  const result = spawnSync(binaryPath, ["admin", ...args], { encoding: "utf8", timeout: 20_000 });
  if (result.status !== 0) throw new Error(`bolide admin ${args.join(" ")} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}
const raw = new RemotingClient();
afterAll(() => {
  raw.close();
  cleanupAll();
});


describe("retries and dead letters (delay levels of 1 s)", () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBinary({ extraArgs: ["--message-delay-level", Array(18).fill("1s").join(" ")] });
  });
  afterAll(async () => {
    expect(await broker.stop()).toBe(0);
  });

  test("SDK: a refused message comes back with reconsumeTimes 1, 2, … then lands in %DLQ%<group>; others are not held up", async () => {
    const topic = uniqueName("RetryT");
    const group = uniqueName("RetryG");
    const producer = new Producer({ namesrvAddr: broker.namesrvAddr, producerGroup: uniqueName("PG") });
    await producer.start();
    const consumer = new PushConsumer({ namesrvAddr: broker.namesrvAddr, consumerGroup: group, consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET", maxReconsumeTimes: 2 });
    const poisoned: Array<{ topic: string; reconsumeTimes: number }> = [];
    let accept = false;
    const fine = new Set<string>();
    consumer.subscribe(topic);
    consumer.onMessage((message: ReceivedMessage) => {
      const body = decoder.decode(message.body);
      if (body !== "poison") {
        fine.add(body);
        return;
      }
      poisoned.push({ topic: message.topic, reconsumeTimes: message.reconsumeTimes });
      if (!accept) throw new Error("refused");
    });
    await consumer.start();
    await producer.send({ topic, body: "poison", keys: "poison-key" });
    for (let i = 0; i < 50; i++) await producer.send({ topic, body: `fine-${i}` });
    await waitUntil("the 50 other messages", () => fine.size === 50, 10_000);
    expect(poisoned.length).toBeLessThanOrEqual(1); // the others did not wait for the retries
    await waitUntil("3 deliveries of the refused message", () => poisoned.length === 3, 20_000);
    expect(poisoned).toEqual([0, 1, 2].map((reconsumeTimes) => ({ topic, reconsumeTimes })));

    // After maxReconsumeTimes it sits in the DLQ, readable with a pull consumer, with its history.
    const pull = new PullConsumer({ namesrvAddr: broker.namesrvAddr, consumerGroup: uniqueName("DlqReader") });
    await pull.start();
    const dlq = `%DLQ%${group}`;
    let dead: ReceivedMessage | undefined;
    const deadline = Date.now() + 10_000;
    while (!dead && Date.now() < deadline) {
      const queues = await pull.fetchMessageQueues(dlq).catch(() => []);
      for (const mq of queues) {
        const result = await pull.pull(mq, "*", 0, 32);
        dead ??= result.messages[0];
      }
      if (!dead) await sleep(200);
    }
    expect(dead).toBeDefined();
    expect(decoder.decode(dead!.body)).toBe("poison");
    expect(dead!.reconsumeTimes).toBe(3);
    expect(dead!.propertyMap["RETRY_TOPIC"]).toBe(topic);
    expect(dead!.propertyMap["ORIGIN_MESSAGE_ID"]).toBeDefined();
    await sleep(2500);
    expect(poisoned.length).toBe(3); // nothing is consumed from the DLQ automatically

    // An operator looks at the DLQ and sends the letter back to its topic; this time it is taken.
    const listed = JSON.parse(adminCli("deadLetters", "-g", group, "-n", broker.namesrvAddr, "--json")) as Array<{ body: string; originalTopic: string }>;
    expect(listed.map((row) => [row.body, row.originalTopic])).toEqual([["poison", topic]]);
    accept = true;
    const resent = JSON.parse(adminCli("resendDeadLetters", "-g", group, "-n", broker.namesrvAddr, "--json")) as Array<{ newOffsetMsgId: string }>;
    expect(resent.length).toBe(1);
    await waitUntil("the resent message", () => poisoned.length === 4, 10_000);
    expect(poisoned[3]).toEqual({ topic, reconsumeTimes: 0 });
    await consumer.shutdown();
    await pull.shutdown();
    await producer.shutdown();
  }, 60_000);

  test("ali-ons: a refused message comes back through the retry topic with reconsumeTimes 1 and its own topic", async () => {
    const result = await runNode(aliOnsScript, ["retry", broker.namesrvAddr, uniqueName("OnsRetry"), uniqueName("OnsRetryG"), "20", "--fail-times", "2"], 60_000);
    const summary = lastJson(result.stdout);
    if (summary?.["ok"] !== true) throw new Error(`ali-ons retry failed: ${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
    expect(result.code).toBe(0);
  }, 70_000);

  test("ali-ons: with maxReconsumeTimes 1, refused messages are delivered twice, then sit in %DLQ%<group>", async () => {
    const topic = uniqueName("OnsDlq");
    const group = uniqueName("OnsDlqG");
    const result = await runNode(aliOnsScript, ["retry", broker.namesrvAddr, topic, group, "10", "--fail-times", "99", "--max-reconsume", "1"], 60_000);
    const summary = lastJson(result.stdout);
    if (summary?.["ok"] !== true) throw new Error(`ali-ons DLQ run failed: ${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
    const admin = new MQAdmin({ namesrvAddr: broker.namesrvAddr });
    const dead = await admin.deadLetters(group);
    await admin.shutdown();
    expect(dead.length).toBe(10);
    expect(dead.every((message) => message.reconsumeTimes === 2 && message.propertyMap["RETRY_TOPIC"] === topic)).toBe(true);
  }, 70_000);

  test("a delay level above the highest is clamped to it (RocketMQ's rule)", async () => {
    const topic = uniqueName("Clamp");
    const consumer = new PushConsumer({ namesrvAddr: broker.namesrvAddr, consumerGroup: uniqueName("ClampG"), consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET" });
    let arrivedAt = 0;
    consumer.subscribe(topic);
    consumer.onMessage(() => void (arrivedAt = Date.now()));
    await consumer.start();
    const producer = new Producer({ namesrvAddr: broker.namesrvAddr, producerGroup: uniqueName("PG") });
    await producer.start();
    const sentAt = Date.now();
    await producer.send({ topic, body: "level 99", delayTimeLevel: 99 }); // level 18 here: 1 s
    await waitUntil("the clamped message", () => arrivedAt > 0, 10_000);
    expect(arrivedAt - sentAt).toBeGreaterThanOrEqual(950);
    await consumer.shutdown();
    await producer.shutdown();
  }, 30_000);

  test("bad send-backs: unknown offset, unknown group → clear errors, nothing stored", async () => {
    const topic = uniqueName("BadBack");
    const producer = new Producer({ namesrvAddr: broker.namesrvAddr, producerGroup: uniqueName("PG") });
    await producer.start();
    await producer.send({ topic, body: "x" });
    await producer.shutdown();
    const unknownOffset = await raw.invoke(
      broker.brokerAddr,
      newRequest(RequestCode.CONSUMER_SEND_MSG_BACK, { offset: String(2 ** 40), group: "SomeGroup", delayLevel: "0", maxReconsumeTimes: "16" }),
      5000,
    );
    expect([ResponseCode.SYSTEM_ERROR, ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST] as number[]).toContain(unknownOffset.code);
    const unknownGroup = await raw.invoke(
      broker.brokerAddr,
      newRequest(RequestCode.CONSUMER_SEND_MSG_BACK, { offset: "0", group: uniqueName("NoSuchGroup"), delayLevel: "0", maxReconsumeTimes: "16" }),
      5000,
    );
    expect(unknownGroup.code).toBe(ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST);
    expect(unknownGroup.remark).toContain("subscription group not exist");
  });
});

describe("delay levels (RocketMQ's defaults: 1s 5s 10s …)", () => {
  let broker: Broker;
  beforeAll(async () => {
    broker = await startBinary();
  });
  afterAll(async () => {
    expect(await broker.stop()).toBe(0);
  });

  test("SDK: levels 1, 2 and 3 arrive no earlier than 1 s, 5 s, 10 s and within about 1 s after; level 0 at once", async () => {
    const topic = uniqueName("DelayT");
    const consumer = new PushConsumer({ namesrvAddr: broker.namesrvAddr, consumerGroup: uniqueName("DelayG"), consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET" });
    const arrivedAt = new Map<string, number>();
    consumer.subscribe(topic);
    consumer.onMessage((message) => void arrivedAt.set(decoder.decode(message.body), Date.now()));
    await consumer.start();
    const producer = new Producer({ namesrvAddr: broker.namesrvAddr, producerGroup: uniqueName("PG") });
    await producer.start();
    const sentAt = new Map<string, number>();
    for (const level of [0, 1, 2, 3]) {
      sentAt.set(`level-${level}`, Date.now());
      await producer.send({ topic, body: `level-${level}`, delayTimeLevel: level });
    }
    await waitUntil("all four messages", () => arrivedAt.size === 4, 15_000);
    const tookMs = (level: number): number => arrivedAt.get(`level-${level}`)! - sentAt.get(`level-${level}`)!;
    expect(tookMs(0)).toBeLessThan(1000);
    for (const [level, delayMs] of [[1, 1000], [2, 5000], [3, 10_000]] as const) {
      expect(tookMs(level)).toBeGreaterThanOrEqual(delayMs - 50);
      expect(tookMs(level)).toBeLessThan(delayMs + 2000); // ~1 s in practice; slack for a loaded CI machine
    }
    await consumer.shutdown();
    await producer.shutdown();
  }, 40_000);

  test("ali-ons: delayTimeLevel 2 arrives after 5 s", async () => {
    const result = await runNode(aliOnsScript, ["delay", broker.namesrvAddr, uniqueName("OnsDelay"), uniqueName("OnsDelayG"), "2"], 40_000);
    const summary = lastJson<{ ok: boolean; delayMs: number }>(result.stdout);
    if (summary?.ok !== true) throw new Error(`ali-ons delay failed: ${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
    expect(summary!.delayMs).toBeGreaterThanOrEqual(4950);
    expect(summary!.delayMs).toBeLessThan(7000);
  }, 50_000);

  test("SDK: arbitrary delays to the millisecond (delayTimeMs, deliverTimeMs), in due order", async () => {
    const topic = uniqueName("TimerT");
    const consumer = new PushConsumer({ namesrvAddr: broker.namesrvAddr, consumerGroup: uniqueName("TimerG"), consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET", consumeConcurrency: 1 });
    const arrivals: Array<{ body: string; at: number }> = [];
    consumer.subscribe(topic);
    consumer.onMessage((message) => void arrivals.push({ body: decoder.decode(message.body), at: Date.now() }));
    await consumer.start();
    const producer = new Producer({ namesrvAddr: broker.namesrvAddr, producerGroup: uniqueName("PG") });
    await producer.start();
    const dueAt = new Map<string, number>();
    const start = Date.now();
    // 60 messages due at random moments within 3 s, sent in a shuffled order, to one queue.
    const delays = Array.from({ length: 60 }, (_, i) => 300 + ((i * 7919) % 2700));
    for (const [i, delayMs] of delays.entries()) {
      const body = `timer-${i}`;
      if (i % 2 === 0) {
        dueAt.set(body, Date.now() + delayMs);
        await producer.send({ topic, body, delayTimeMs: delayMs }, { queueId: 0 });
      } else {
        const due = start + delayMs + 200;
        dueAt.set(body, due);
        await producer.send({ topic, body, deliverTimeMs: due }, { queueId: 0 });
      }
    }
    await waitUntil("all 60 timed messages", () => arrivals.length === 60, 10_000);
    for (const { body, at } of arrivals) {
      expect(at).toBeGreaterThanOrEqual(dueAt.get(body)! - 5);
      expect(at).toBeLessThan(dueAt.get(body)! + 500);
    }
    const lateMs = arrivals.map(({ body, at }) => at - dueAt.get(body)!).sort((a, b) => a - b);
    console.log(`timer lateness over 60 messages: median ${lateMs[30]} ms, max ${lateMs[59]} ms`);
    const tooFar = await producer.send({ topic, body: "too far", delayTimeMs: 4 * 24 * 3600 * 1000 }).then(() => null, (error: unknown) => error);
    expect(String(tooFar)).toContain("more than 72 hours away");
    await consumer.shutdown();
    await producer.shutdown();
  }, 30_000);

  test("ali-ons: setStartDeliverTime(now + 2 s) arrives after 2 s", async () => {
    const result = await runNode(aliOnsScript, ["delay", broker.namesrvAddr, uniqueName("OnsTimer"), uniqueName("OnsTimerG"), "+2000"], 40_000);
    const summary = lastJson<{ ok: boolean; delayMs: number }>(result.stdout);
    if (summary?.ok !== true) throw new Error(`ali-ons timer failed: ${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
    expect(summary.delayMs).toBeGreaterThanOrEqual(1990);
    expect(summary.delayMs).toBeLessThan(3500);
  }, 50_000);

  test("delayed and timed messages survive SIGKILL of the broker before they are due", async () => {
    const topic = uniqueName("DelayKill");
    const producer = new Producer({ namesrvAddr: broker.namesrvAddr, producerGroup: uniqueName("PG") });
    await producer.start();
    const sentAt = Date.now();
    await producer.send({ topic, body: "survivor", delayTimeLevel: 2 });
    await producer.send({ topic, body: "timed survivor", delayTimeMs: 4000 });
    await producer.shutdown();
    await broker.kill();
    await broker.start();
    const consumer = new PushConsumer({ namesrvAddr: broker.namesrvAddr, consumerGroup: uniqueName("DelayKillG"), consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET" });
    const arrived = new Map<string, number>();
    consumer.subscribe(topic);
    consumer.onMessage((message) => void arrived.set(decoder.decode(message.body), Date.now()));
    await consumer.start();
    await waitUntil("both delayed messages after the restart", () => arrived.size === 2, 15_000);
    expect(arrived.get("survivor")! - sentAt).toBeGreaterThanOrEqual(4950);
    expect(arrived.get("timed survivor")! - sentAt).toBeGreaterThanOrEqual(3950);
    await consumer.shutdown();
  }, 40_000);
});
