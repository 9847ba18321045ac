// End-to-end: ordered consumption (queue locks) and transactional messages with Bolide's own SDK
// against the compiled broker binary.
//
//   npm run -s build && ./node_modules/.bin/bun test test/e2e/order_tx.test.ts
//
// The broker runs with short transaction timings (broker.conf: transactionTimeOut 500 ms,
// transactionCheckInterval 500 ms, transactionCheckMax 3), so a check-back comes within ~1 s.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { newRequest } from "../../src/net/remoting_command.ts";
import { RequestCode } from "../../src/net/request_code.ts";
import { ResponseCode } from "../../src/net/response_code.ts";
import { Prng } from "../../src/io/io.ts";
import { RemotingClient } from "../../src/net/tcp_client.ts";
import { encodeJsonBody } from "../../src/protocol/json_body.ts";
import {
  Producer,
  PushConsumer,
  TransactionProducer,
  type LocalTransactionState,
  type MessageQueue,
  type ReceivedMessage,
  type TransactionListener,
} from "../../src/client/index.ts";
import { type Broker, cleanupAll, sleep, startBinary, tempDir, uniqueName } from "./helpers.ts";

const testTimeoutMs = 90_000;
const decoder = new TextDecoder();

afterAll(cleanupAll);

async function waitUntil(what: string, condition: () => boolean, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

describe("ordered and transactional messages (SDK against the binary)", () => {
  let broker: Broker;
  const started: Array<{ shutdown(): Promise<void> }> = [];

  beforeAll(async () => {
    const conf = join(tempDir("bolide-conf-"), "broker.conf");
    writeFileSync(conf, "transactionTimeOut=500\ntransactionCheckInterval=500\ntransactionCheckMax=3\n");
    broker = await startBinary({ extraArgs: ["-c", conf] });
  }, 60_000);

  afterAll(async () => {
    for (const client of started.splice(0)) await client.shutdown().catch(() => undefined);
    if (broker) await broker.stop();
  }, 60_000);

  test("orderly: 8 keys over 4 queues, a second consumer joins and the first leaves mid-stream; per-key order holds, one holder per queue", async () => {
    const topic = uniqueName("order");
    const group = uniqueName("CG_order");
    const keys = 8;
    const perKey = 150;
    const producer = new Producer({ namesrvAddr: broker.namesrvAddr, producerGroup: uniqueName("PG") });
    await producer.start();
    started.push(producer);
    const byKey = (queues: readonly MessageQueue[], message: { body: Uint8Array | string }): MessageQueue => {
      const key = Number(String(message.body).split(":")[0]);
      return queues[key % queues.length]!;
    };
    let nextSeq = 0;
    const sendRound = async (rounds: number): Promise<void> => {
      for (let r = 0; r < rounds; r++, nextSeq++) {
        for (let key = 0; key < keys; key++) await producer.send({ topic, body: `${key}:${nextSeq}` }, { selector: byKey });
      }
    };
    await sendRound(perKey / 2);

    interface Visit { consumer: string; queue: string; key: number; seq: number; startMs: number; endMs: number }
    const visits: Visit[] = [];
    const lastSeen = new Array<number>(keys).fill(-1);
    const seen = new Set<string>();
    const orderErrors: string[] = [];
    const inHandler = new Map<string, string>(); // queue → consumer now in the handler
    const overlapErrors: string[] = [];
    const makeConsumer = async (name: string): Promise<PushConsumer> => {
      const consumer = new PushConsumer({
        namesrvAddr: broker.namesrvAddr,
        consumerGroup: group,
        consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
        instanceName: name,
        rebalanceIntervalMs: 500,
      });
      consumer.subscribe(topic);
      consumer.onMessageOrderly(async (message: ReceivedMessage) => {
        const queue = `${message.queueId}`;
        const other = inHandler.get(queue);
        if (other !== undefined) overlapErrors.push(`queue ${queue}: ${name} entered while ${other} was in the handler`);
        inHandler.set(queue, name);
        const startMs = performance.now();
        const [keyText, seqText] = decoder.decode(message.body).split(":");
        const key = Number(keyText);
        const seq = Number(seqText);
        if (seq <= lastSeen[key]! && !seen.has(`${key}:${seq}`)) orderErrors.push(`key ${key}: ${seq} after ${lastSeen[key]}`);
        lastSeen[key] = Math.max(lastSeen[key]!, seq);
        seen.add(`${key}:${seq}`);
        await sleep(2);
        inHandler.delete(queue);
        visits.push({ consumer: name, queue, key, seq, startMs, endMs: performance.now() });
      });
      await consumer.start();
      started.push(consumer);
      return consumer;
    };
    // The broker's lock table (GET /api/locks on its HTTP port), sampled all through the run:
    // whenever a consumer is in the handler for a queue, the broker names that consumer as the holder.
    const clientIds = new Map<string, string>(); // consumer name → client id
    const lockErrors: string[] = [];
    let lockSamples = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const inside = new Map(inHandler);
        const answer = (await (await fetch(`http://127.0.0.1:${broker.httpPort}/api/locks?group=${group}`)).json()) as {
          groups: Array<{ locks: Array<{ topic: string; queueId: number; clientId: string }> }>;
        };
        const holders = new Map<string, Set<string>>();
        for (const lock of answer.groups[0]?.locks ?? []) {
          if (lock.topic !== topic) continue;
          const set = holders.get(String(lock.queueId)) ?? new Set<string>();
          set.add(lock.clientId);
          holders.set(String(lock.queueId), set);
        }
        for (const [queue, set] of holders) if (set.size > 1) lockErrors.push(`queue ${queue} held by ${[...set].join(", ")}`);
        for (const [queue, name] of inside) {
          // Still in the handler after the answer came back: the broker's holder must be that consumer.
          if (inHandler.get(queue) !== name || !clientIds.has(name)) continue;
          const holder = [...(holders.get(queue) ?? [])][0];
          if (holder !== clientIds.get(name)) lockErrors.push(`queue ${queue}: ${name} in the handler, broker holder ${holder ?? "none"}`);
        }
        lockSamples++;
        await sleep(25);
      }
    })();
    const first = await makeConsumer("orderA");
    clientIds.set("orderA", first.clientId);
    await waitUntil("the first consumer to start", () => visits.length >= 40);
    const second = await makeConsumer("orderB");
    clientIds.set("orderB", second.clientId);
    const held = (consumer: PushConsumer): number => consumer.assignedQueues().filter((mq) => mq.topic === topic).length; // not %RETRY%
    await waitUntil("the second consumer to take queues", () => held(second) > 0 && held(first) < 4);
    await sendRound(perKey / 2);
    await waitUntil("more progress", () => seen.size >= (keys * perKey * 3) / 4);
    await first.shutdown(); // leaves: its queues are unlocked after its last message, then taken over
    started.splice(started.indexOf(first), 1);
    await waitUntil(`all ${keys * perKey} messages`, () => seen.size >= keys * perKey);
    await waitUntil("the second consumer to hold every queue", () => held(second) === 4);

    sampling = false;
    await sampler;
    expect(orderErrors).toEqual([]);
    expect(overlapErrors).toEqual([]);
    expect(lockErrors).toEqual([]);
    expect(lockSamples).toBeGreaterThan(20);
    // Per queue, in-handler intervals of different consumers never overlap.
    const byQueue = new Map<string, Visit[]>();
    for (const visit of visits) byQueue.set(visit.queue, [...(byQueue.get(visit.queue) ?? []), visit]);
    for (const list of byQueue.values()) {
      list.sort((a, b) => a.startMs - b.startMs);
      for (let i = 1; i < list.length; i++) expect(list[i]!.startMs).toBeGreaterThanOrEqual(list[i - 1]!.endMs);
    }
    expect(new Set(visits.map((visit) => visit.consumer)).size).toBe(2);
    await second.shutdown();
    started.splice(started.indexOf(second), 1);
  }, testTimeoutMs);

  test("orderly: a consumer whose lock lapses (its clock jumps 31 s, as after a long pause) stops, then takes the queues on afresh", async () => {
    const topic = uniqueName("order_lapse");
    const producer = new Producer({ namesrvAddr: broker.namesrvAddr, producerGroup: uniqueName("PG") });
    await producer.start();
    started.push(producer);
    const clock = { skewMs: 0 };
    const consumer = new PushConsumer({
      namesrvAddr: broker.namesrvAddr,
      consumerGroup: uniqueName("CG_lapse"),
      consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
      rebalanceIntervalMs: 500,
      io: { clock: { monotonicMs: () => performance.now() + clock.skewMs, realtimeMs: () => Date.now() }, random: new Prng(5) },
    });
    consumer.subscribe(topic);
    const firstSeen: number[] = [];
    const seen = new Set<number>();
    let deliveries = 0;
    consumer.onMessageOrderly((message) => {
      deliveries++;
      const seq = Number(decoder.decode(message.body));
      if (!seen.has(seq)) firstSeen.push(seq);
      seen.add(seq);
    });
    await consumer.start();
    started.push(consumer);
    const toQueue0 = { selector: (queues: readonly MessageQueue[]) => queues[0]! };
    for (let seq = 0; seq < 50; seq++) await producer.send({ topic, body: String(seq) }, toQueue0);
    await waitUntil("the first 50", () => seen.size >= 50);
    clock.skewMs += 31_000; // every lock of this consumer is now older than 30 s
    for (let seq = 50; seq < 100; seq++) await producer.send({ topic, body: String(seq) }, toQueue0);
    await waitUntil("all 100 after the lapse", () => seen.size >= 100);
    expect(firstSeen).toEqual([...Array(100).keys()]);
    expect(deliveries).toBeGreaterThanOrEqual(100);
  }, testTimeoutMs);

  test("orderly, broadcasting: every member gets every queue in order, without broker locks", async () => {
    const topic = uniqueName("order_bc");
    const producer = new Producer({ namesrvAddr: broker.namesrvAddr, producerGroup: uniqueName("PG") });
    await producer.start();
    started.push(producer);
    const group = uniqueName("CG_bc");
    const got = [new Map<number, number[]>(), new Map<number, number[]>()];
    for (const [index, seen] of got.entries()) {
      const consumer = new PushConsumer({
        namesrvAddr: broker.namesrvAddr, consumerGroup: group, messageModel: "BROADCASTING", consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET", instanceName: `bc${index}`,
      });
      consumer.subscribe(topic);
      consumer.onMessageOrderly((message) => {
        const [queue, seq] = decoder.decode(message.body).split(":").map(Number) as [number, number];
        seen.set(queue, [...(seen.get(queue) ?? []), seq]);
      });
      await consumer.start();
      started.push(consumer);
    }
    const perQueue = 50;
    for (let seq = 0; seq < perQueue; seq++) {
      for (let queue = 0; queue < 4; queue++) await producer.send({ topic, body: `${queue}:${seq}` }, { selector: (queues) => queues[queue % queues.length]! });
    }
    const total = (seen: Map<number, number[]>): number => [...seen.values()].reduce((sum, list) => sum + list.length, 0);
    await waitUntil("both broadcasting members to get everything", () => got.every((seen) => total(seen) >= 4 * perQueue));
    for (const seen of got) for (const list of seen.values()) expect(list).toEqual([...Array(perQueue).keys()]);
  }, testTimeoutMs);

  test("transactions: commit visible, rollback never, unknown → check-back → commit, dead producer → another of the group answers", async () => {
    const topic = uniqueName("tx");
    const producerGroup = uniqueName("PG_tx");
    const checked = new Map<string, number>();
    const listener = (who: string): TransactionListener => ({
      executeLocalTransaction(message): LocalTransactionState {
        const kind = String(message.body).split("-")[0];
        return kind === "commit" ? "COMMIT_MESSAGE" : kind === "rollback" ? "ROLLBACK_MESSAGE" : "UNKNOW";
      },
      checkLocalTransaction(message): LocalTransactionState {
        const body = decoder.decode(message.body);
        checked.set(body, (checked.get(body) ?? 0) + 1);
        if (who === "dying") return "UNKNOW";
        return body.startsWith("rollback") ? "ROLLBACK_MESSAGE" : "COMMIT_MESSAGE";
      },
    });
    const survivor = new TransactionProducer({ namesrvAddr: broker.namesrvAddr, producerGroup, instanceName: "txSurvivor" }, listener("survivor"));
    await survivor.start();
    started.push(survivor);
    const dying = new TransactionProducer({ namesrvAddr: broker.namesrvAddr, producerGroup, instanceName: "txDying" }, listener("dying"));
    await dying.start();

    const received = new Map<string, number>();
    const consumer = new PushConsumer({ namesrvAddr: broker.namesrvAddr, consumerGroup: uniqueName("CG_tx"), consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET" });
    consumer.subscribe(topic);
    consumer.onMessage((message) => {
      const body = decoder.decode(message.body);
      received.set(body, (received.get(body) ?? 0) + 1);
      expect(message.topic).toBe(topic);
    });
    await consumer.start();
    started.push(consumer);

    const n = 10;
    for (let i = 0; i < n; i++) {
      for (const kind of ["commit", "rollback", "unknown"]) {
        const result = await survivor.sendMessageInTransaction({ topic, body: `${kind}-${i}`, tags: "tx" }, i);
        expect(result.sendStatus).toBe("SEND_OK");
        expect(result.localTransactionState).toBe(kind === "commit" ? "COMMIT_MESSAGE" : kind === "rollback" ? "ROLLBACK_MESSAGE" : "UNKNOW");
      }
      // Sent by a producer that dies before the check-back: the survivor of the group answers it.
      await dying.sendMessageInTransaction({ topic, body: `orphan-${i}` });
    }
    await dying.shutdown();

    const wanted = [...Array(n).keys()].flatMap((i) => [`commit-${i}`, `unknown-${i}`, `orphan-${i}`]);
    await waitUntil("committed, checked-back and orphaned messages", () => wanted.every((body) => received.has(body)));
    await sleep(2000); // a few more check intervals: nothing rolled back may show up, nothing twice
    for (const body of wanted) expect(received.get(body)).toBe(1);
    expect([...received.keys()].filter((body) => body.startsWith("rollback"))).toEqual([]);
    for (let i = 0; i < n; i++) {
      expect(checked.get(`unknown-${i}`)).toBeGreaterThanOrEqual(1);
      expect(checked.has(`commit-${i}`)).toBe(false);
    }
  }, testTimeoutMs);

  test("transactions: half messages survive a SIGKILL of the broker; after restart the check-back commits them", async () => {
    const topic = uniqueName("tx_kill");
    const producerGroup = uniqueName("PG_kill");
    const undecided: TransactionListener = { executeLocalTransaction: () => "UNKNOW", checkLocalTransaction: () => "UNKNOW" };
    const before = new TransactionProducer({ namesrvAddr: broker.namesrvAddr, producerGroup, instanceName: "txBefore" }, undecided);
    await before.start();
    for (let i = 0; i < 5; i++) expect((await before.sendMessageInTransaction({ topic, body: `half-${i}` })).localTransactionState).toBe("UNKNOW");
    await before.shutdown();
    await broker.kill();
    await broker.start();

    const committer: TransactionListener = { executeLocalTransaction: () => "COMMIT_MESSAGE", checkLocalTransaction: () => "COMMIT_MESSAGE" };
    const after = new TransactionProducer({ namesrvAddr: broker.namesrvAddr, producerGroup, instanceName: "txAfter" }, committer);
    await after.start();
    started.push(after);
    let sent = false;
    for (let attempt = 0; attempt < 50 && !sent; attempt++) {
      try {
        await after.sendMessageInTransaction({ topic, body: "fresh" }); // also registers the producer (heartbeat)
        sent = true;
      } catch {
        await sleep(200); // the broker re-registers with the name server
      }
    }
    expect(sent).toBe(true);
    const received = new Map<string, number>();
    const consumer = new PushConsumer({ namesrvAddr: broker.namesrvAddr, consumerGroup: uniqueName("CG_kill"), consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET" });
    consumer.subscribe(topic);
    consumer.onMessage((message) => {
      const body = decoder.decode(message.body);
      received.set(body, (received.get(body) ?? 0) + 1);
    });
    await consumer.start();
    started.push(consumer);
    const wanted = ["fresh", ...[...Array(5).keys()].map((i) => `half-${i}`)];
    await waitUntil("the fresh message and the 5 halves from before the kill", () => wanted.every((body) => received.has(body)));
    await sleep(1500);
    for (const body of wanted) expect(received.get(body)).toBe(1);
    expect(after.checksAnswered).toBeGreaterThanOrEqual(5);
  }, testTimeoutMs);

  test("orderly: a lock holder whose connection drops frees its queues 35 s after its last renewal, not 60 s", async () => {
    const group = uniqueName("CG_gone");
    const topic = uniqueName("order_gone");
    const mqSet = [0, 1, 2, 3].map((queueId) => ({ topic, brokerName: "broker-a", queueId }));
    const member = async (clientId: string): Promise<RemotingClient> => {
      const client = new RemotingClient();
      const consumerData = { groupName: group, consumeType: "CONSUME_PASSIVELY", messageModel: "CLUSTERING", consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET", subscriptionDataSet: [] };
      const heartbeat = await client.invoke(broker.brokerAddr, newRequest(RequestCode.HEART_BEAT, {}, encodeJsonBody({ clientID: clientId, consumerDataSet: [consumerData], producerDataSet: [] })), 3000);
      expect(heartbeat.code).toBe(ResponseCode.SUCCESS);
      return client;
    };
    const lock = async (client: RemotingClient, clientId: string): Promise<number> => {
      const response = await client.invoke(broker.brokerAddr, newRequest(RequestCode.LOCK_BATCH_MQ, {}, encodeJsonBody({ consumerGroup: group, clientId, mqSet })), 3000);
      expect(response.code).toBe(ResponseCode.SUCCESS);
      return (JSON.parse(decoder.decode(response.body!)) as { lockOKMQSet: unknown[] }).lockOKMQSet.length;
    };
    const holder = await member("127.0.0.1@holder");
    const other = await member("127.0.0.1@other");
    try {
      expect(await lock(holder, "127.0.0.1@holder")).toBe(4);
      const lockedAtMs = Date.now();
      holder.close(); // as a killed process: no UNLOCK_BATCH_MQ
      await sleep(500);
      expect(await lock(other, "127.0.0.1@other")).toBe(0); // the holder may still be consuming what it buffered
      let got = 0;
      while (got === 0 && Date.now() - lockedAtMs < 50_000) {
        await sleep(500);
        got = await lock(other, "127.0.0.1@other");
      }
      const freedAfterMs = Date.now() - lockedAtMs;
      expect(got).toBe(4);
      expect(freedAfterMs).toBeGreaterThanOrEqual(34_000);
      expect(freedAfterMs).toBeLessThan(45_000); // well before the 60 s lease of a holder still connected
    } finally {
      other.close();
    }
  }, testTimeoutMs);

  test("bad input: END_TRANSACTION for an unknown offset, LOCK_BATCH_MQ with a malformed body or an unknown group", async () => {
    const client = new RemotingClient();
    try {
      const end = await client.invoke(
        broker.brokerAddr,
        newRequest(RequestCode.END_TRANSACTION, { producerGroup: "PG_none", tranStateTableOffset: "0", commitLogOffset: "123456789", commitOrRollback: "8" }),
        3000,
      );
      expect(end.code).toBe(ResponseCode.SYSTEM_ERROR);
      expect(end.remark).toContain("Find prepared transaction message failed");
      const malformed = await client.invoke(broker.brokerAddr, newRequest(RequestCode.LOCK_BATCH_MQ, {}, new TextEncoder().encode("{not json")), 3000);
      expect(malformed.code).toBe(ResponseCode.SYSTEM_ERROR);
      const body = encodeJsonBody({ consumerGroup: uniqueName("CG_none"), clientId: "127.0.0.1@x", mqSet: [{ topic: "T", brokerName: "broker-a", queueId: 0 }] });
      const unknownGroup = await client.invoke(broker.brokerAddr, newRequest(RequestCode.LOCK_BATCH_MQ, {}, body), 3000);
      expect(unknownGroup.code).toBe(ResponseCode.SYSTEM_ERROR);
      const unlock = await client.invoke(broker.brokerAddr, newRequest(RequestCode.UNLOCK_BATCH_MQ, {}, body), 3000);
      expect(unlock.code).toBe(ResponseCode.SUCCESS);
    } finally {
      client.close();
    }
  }, testTimeoutMs);
});
