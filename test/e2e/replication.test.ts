// End-to-end replication (issue #7): a name server, a master and a slave as separate processes
// of the compiled binary, 1 MiB commit-log segments so that streams cross file boundaries.
//
//   npm run -s build && ./node_modules/.bin/bun test test/e2e/replication.test.ts
//   REPL_SEED=123 … replays the random kill moment of the SYNC_MASTER test
import { afterAll, expect, test } from "bun:test";
import { Producer, PushConsumer, type ReceivedMessage, type SendResult } from "../../src/client/index.ts";
import { decodeRecord } from "../../src/protocol/message_record.ts";
import { Prng } from "../../src/io/io.ts";
import { cleanupAll, sleep, uniqueName, waitUntil } from "./helpers.ts";
import {
  closeReplClient,
  commitLogMaxOffset,
  compareCommitLogs,
  physicalOffsetOf,
  recordAt,
  runtimeInfo,
  startNamesrv,
  startReplBroker,
  waitCaughtUp,
} from "./repl_helpers.ts";

const decoder = new TextDecoder();
const seed = Number(process.env.REPL_SEED ?? Date.now() % 1_000_000);

afterAll(() => {
  closeReplClient();
  cleanupAll();
});

/** Sends `count` messages, `inflight` at a time; bodies "<prefix>-<i>-<padding>". */
async function sendMany(producer: Producer, topic: string, prefix: string, count: number, inflight = 32): Promise<SendResult[]> {
  const results: SendResult[] = [];
  const padding = "p".repeat(600);
  for (let i = 0; i < count; i += inflight) {
    const batch: Promise<SendResult>[] = [];
    for (let j = i; j < Math.min(count, i + inflight); j++) batch.push(producer.send({ topic, body: `${prefix}-${j}-${padding}`, keys: [`${prefix}-${j}`] }));
    results.push(...(await Promise.all(batch)));
  }
  return results;
}

test("ASYNC_MASTER → SLAVE: byte-identical commit log, a restarted slave resumes, consumers read from the slave once the master is gone", async () => {
  const namesrv = await startNamesrv();
  const master = await startReplBroker({ namesrvAddr: namesrv.namesrvAddr, brokerName: "broker-r", role: "ASYNC_MASTER" });
  const slave = await startReplBroker({ namesrvAddr: namesrv.namesrvAddr, brokerName: "broker-r", role: "SLAVE" });
  const topic = uniqueName("ReplTopic");
  const producer = new Producer({ namesrvAddr: namesrv.namesrvAddr, producerGroup: uniqueName("ReplPG") });
  await producer.start();
  try {
    // 1. ~2.5 MiB: three segments; the slave gets every byte.
    const first = await sendMany(producer, topic, "a", 3000);
    expect(first.every((result) => result.sendStatus === "SEND_OK")).toBe(true);
    const caughtUp = await waitCaughtUp(master, slave);
    expect(caughtUp).toBeGreaterThan(2 * 1024 * 1024);
    expect(compareCommitLogs(master.dataDir, slave.dataDir, caughtUp)).toBe(caughtUp);
    expect((await runtimeInfo(master.brokerAddr)).haSlaveCount).toBe("1");

    // 2. The slave is killed, the master goes on, the restarted slave resumes from its own end.
    await slave.kill();
    const second = await sendMany(producer, topic, "b", 1500);
    expect(second.every((result) => result.sendStatus === "SEND_OK")).toBe(true);
    await slave.start();
    const resumed = await waitCaughtUp(master, slave);
    expect(compareCommitLogs(master.dataDir, slave.dataDir, resumed)).toBe(resumed);
    // The master's /metrics: one slave, nothing left to confirm once caught up.
    const gauge = async (name: string): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${master.httpPort}/metrics`)).text();
      return Number(text.split("\n").find((line) => line.startsWith(`${name} `))?.split(" ")[1] ?? NaN);
    };
    await waitUntil("the master's replication gauges", async () => (await gauge("bolide_replication_slaves")) === 1 && (await gauge("bolide_replication_lag_bytes")) === 0, 10_000);
    const slaveLog = slave.logs();
    expect(slaveLog).toContain('"event":"ha.connected"');
    // It reported a non-zero offset on reconnecting (the master did not start over).
    const requests = [...master.logs().matchAll(/"event":"ha.slave_request"[^\n]*"offset":(\d+)/g)].map((match) => Number(match[1]));
    expect(requests.length).toBe(2);
    expect(requests[0]).toBe(0);
    expect(requests[1]!).toBeGreaterThan(2 * 1024 * 1024);

    // 3. Sends to the slave are refused.
    const toSlave = await new RemotingProbe().send(slave.brokerAddr, topic);
    expect(toSlave).toBe(14);

    // 4. The master dies: a new consumer group reads everything through the name server's route,
    // which now lists only the slave.
    await master.kill();
    const consumer = new PushConsumer({ namesrvAddr: namesrv.namesrvAddr, consumerGroup: uniqueName("ReplCG"), consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET" });
    const got = new Map<string, ReceivedMessage>();
    consumer.subscribe(topic, "*");
    consumer.onMessage((message) => {
      got.set(decoder.decode(message.body).split("-").slice(0, 2).join("-"), message);
    });
    await consumer.start();
    try {
      await waitUntil(`4500 messages from the slave (have ${got.size})`, () => got.size >= 4500, 30_000);
    } finally {
      await consumer.shutdown();
    }
    for (let i = 0; i < 3000; i++) expect(got.has(`a-${i}`)).toBe(true);
    for (let i = 0; i < 1500; i++) expect(got.has(`b-${i}`)).toBe(true);
  } finally {
    await producer.shutdown();
  }
}, 90_000);

/** A raw SEND_MESSAGE_V2 to one broker address (the SDK would go to the master). */
class RemotingProbe {
  async send(brokerAddr: string, topic: string): Promise<number> {
    const { RemotingClient } = await import("../../src/net/tcp_client.ts");
    const { newRequest } = await import("../../src/net/remoting_command.ts");
    const client = new RemotingClient();
    try {
      const response = await client.invoke(
        brokerAddr,
        newRequest(310, { a: "PG", b: topic, c: "TBW102", d: "4", e: "0", f: "0", g: String(Date.now()), h: "0", i: "", j: "0", k: "false", m: "false" }, new TextEncoder().encode("x")),
        3000,
      );
      return response.code;
    } finally {
      client.close();
    }
  }
}

test("SYNC_MASTER: no slave → SLAVE_NOT_AVAILABLE (stored); a stopped slave → FLUSH_SLAVE_TIMEOUT after syncFlushTimeout", async () => {
  const namesrv = await startNamesrv();
  const master = await startReplBroker({
    namesrvAddr: namesrv.namesrvAddr, brokerName: "broker-s", role: "SYNC_MASTER", extraArgs: ["--sync-flush-timeout-ms", "600"],
  });
  const topic = uniqueName("SyncTopic");
  const producer = new Producer({ namesrvAddr: namesrv.namesrvAddr, producerGroup: uniqueName("SyncPG") });
  await producer.start();
  try {
    const alone = await producer.send({ topic, body: "alone" });
    expect(alone.sendStatus).toBe("SLAVE_NOT_AVAILABLE");
    expect(await commitLogMaxOffset(master.brokerAddr)).toBeGreaterThan(0); // stored on the master

    const slave = await startReplBroker({ namesrvAddr: namesrv.namesrvAddr, brokerName: "broker-s", role: "SLAVE" });
    await waitUntil("the slave to connect", async () => (await runtimeInfo(master.brokerAddr)).haSlaveCount === "1");
    const ok = await producer.send({ topic, body: "replicated" });
    expect(ok.sendStatus).toBe("SEND_OK");
    // The record is on the slave at the master's offset.
    const record = await recordAt(slave.brokerAddr, physicalOffsetOf(ok.offsetMsgId));
    expect(record).not.toBeNull();
    expect(decoder.decode(decodeRecord(record!).body)).toBe("replicated");

    process.kill(slave.pid, "SIGSTOP");
    try {
      const startedMs = Date.now();
      const late = await producer.send({ topic, body: "unconfirmed" });
      const tookMs = Date.now() - startedMs;
      expect(late.sendStatus).toBe("FLUSH_SLAVE_TIMEOUT");
      expect(tookMs).toBeGreaterThanOrEqual(550);
      expect(tookMs).toBeLessThan(2500);
    } finally {
      process.kill(slave.pid, "SIGCONT");
    }
    const again = await producer.send({ topic, body: "after resume" });
    expect(again.sendStatus).toBe("SEND_OK");
    await waitCaughtUp(master, slave);
  } finally {
    await producer.shutdown();
  }
}, 60_000);

test(`SYNC_MASTER + SYNC_FLUSH: kill -9 the master during a send stream (seed ${seed}); every acknowledged message is on the slave byte for byte`, async () => {
  const random = new Prng(seed);
  const namesrv = await startNamesrv();
  const master = await startReplBroker({ namesrvAddr: namesrv.namesrvAddr, brokerName: "broker-k", role: "SYNC_MASTER", extraArgs: ["--flush", "sync"] });
  const slave = await startReplBroker({ namesrvAddr: namesrv.namesrvAddr, brokerName: "broker-k", role: "SLAVE" });
  await waitUntil("the slave to connect", async () => (await runtimeInfo(master.brokerAddr)).haSlaveCount === "1");
  const topic = uniqueName("KillTopic");
  const producers = await Promise.all(
    [0, 1, 2, 3].map(async (index) => {
      const producer = new Producer({ namesrvAddr: namesrv.namesrvAddr, producerGroup: uniqueName(`KillPG${index}`), retryTimesWhenSendFailed: 0 });
      await producer.start();
      return producer;
    }),
  );
  const acked: Array<{ body: string; result: SendResult }> = [];
  let failed = 0;
  let stop = false;
  const loops = producers.map(async (producer, index) => {
    for (let i = 0; !stop; i++) {
      const body = `p${index}-${i}-${"k".repeat(random.below(2000))}`;
      try {
        const result = await producer.send({ topic, body });
        if (result.sendStatus === "SEND_OK") acked.push({ body, result });
        else failed++;
      } catch {
        failed++;
        if (stop) break;
        await sleep(5);
      }
    }
  });
  // Let the stream warm up (topic created, a few hundred sends), then kill at a random moment.
  await waitUntil("some acknowledged sends", () => acked.length >= 200, 20_000);
  await sleep(100 + random.below(1500));
  await master.kill();
  await sleep(300);
  stop = true;
  await Promise.all(loops);
  await Promise.all(producers.map((producer) => producer.shutdown()));

  const slaveEnd = await commitLogMaxOffset(slave.brokerAddr);
  // Every byte the slave has is the master's byte (the master's files survive its process).
  expect(compareCommitLogs(master.dataDir, slave.dataDir, slaveEnd)).toBe(slaveEnd);
  for (const { body, result } of acked) {
    const offset = physicalOffsetOf(result.offsetMsgId);
    const record = await recordAt(slave.brokerAddr, offset);
    expect(record).not.toBeNull();
    expect(offset + record!.length).toBeLessThanOrEqual(slaveEnd);
    const decoded = decodeRecord(record!);
    expect(decoder.decode(decoded.body)).toBe(body);
    expect(decoded.queueOffset).toBe(result.queueOffset);
  }
  console.log(`SYNC_MASTER kill test: seed ${seed}, ${acked.length} acknowledged and verified on the slave, ${failed} failed, slave at ${slaveEnd}`);
}, 90_000);

test("slaveReadEnable: a master suggests brokerId 1 for cold pulls (accessMessageInMemoryMaxRatio 0) and the SDK then reads from the slave", async () => {
  const { writeFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { tempDir } = await import("./helpers.ts");
  const { RemotingClient } = await import("../../src/net/tcp_client.ts");
  const { newRequest } = await import("../../src/net/remoting_command.ts");
  const conf = join(tempDir("bolide-conf-"), "broker.conf");
  writeFileSync(conf, "slaveReadEnable=true\naccessMessageInMemoryMaxRatio=0\n");
  const namesrv = await startNamesrv();
  const master = await startReplBroker({ namesrvAddr: namesrv.namesrvAddr, brokerName: "broker-c", role: "ASYNC_MASTER", extraArgs: ["-c", conf] });
  const slave = await startReplBroker({ namesrvAddr: namesrv.namesrvAddr, brokerName: "broker-c", role: "SLAVE", extraArgs: ["-c", conf] });
  const topic = uniqueName("ColdTopic");
  const producer = new Producer({ namesrvAddr: namesrv.namesrvAddr, producerGroup: uniqueName("ColdPG") });
  await producer.start();
  const sent = await sendMany(producer, topic, "c", 200);
  await producer.shutdown();
  await waitCaughtUp(master, slave);
  const queueId = sent[0]!.messageQueue.queueId;
  const probe = new RemotingClient();
  const pull = (addr: string) => probe.invoke(addr, newRequest(11, {
    consumerGroup: "G", topic, queueId: String(queueId), queueOffset: "0", maxMsgNums: "4", sysFlag: "0", commitOffset: "0",
    suspendTimeoutMillis: "0", subVersion: "0",
  }), 3000);
  const fromMaster = await pull(master.brokerAddr);
  expect(fromMaster.code).toBe(0);
  expect(fromMaster.extFields["suggestWhichBrokerId"]).toBe("1");
  await waitUntil("the slave to know the topic", async () => (await pull(slave.brokerAddr)).code === 0);
  probe.close();
  // The SDK follows the suggestion: after a first pull from the master, a queue is read from the
  // slave (its /metrics count what it handed out).
  const pulledFromSlave = async (): Promise<number> => {
    const metrics = await (await fetch(`http://127.0.0.1:${slave.httpPort}/metrics`)).text();
    const line = metrics.split("\n").find((text) => text.startsWith(`bolide_messages_out_total{topic="${topic}"}`));
    return Number(line?.split(" ").at(-1) ?? 0);
  };
  const pulledBefore = await pulledFromSlave();
  const consumer = new PushConsumer({ namesrvAddr: namesrv.namesrvAddr, consumerGroup: uniqueName("ColdCG"), consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET" });
  const got = new Set<string>();
  consumer.subscribe(topic, "*");
  consumer.onMessage((message) => {
    got.add(decoder.decode(message.body).split("-").slice(0, 2).join("-"));
  });
  await consumer.start();
  try {
    await waitUntil(`200 messages (have ${got.size})`, () => got.size >= 200, 30_000);
  } finally {
    await consumer.shutdown();
  }
  expect((await pulledFromSlave()) - pulledBefore).toBeGreaterThan(20);
}, 60_000);

test("a slave started late catches up a 39 MiB backlog (socket backpressure, 40 segments) byte for byte", async () => {
  const namesrv = await startNamesrv();
  const master = await startReplBroker({ namesrvAddr: namesrv.namesrvAddr, brokerName: "broker-l", role: "ASYNC_MASTER" });
  const topic = uniqueName("BacklogTopic");
  const producer = new Producer({ namesrvAddr: namesrv.namesrvAddr, producerGroup: uniqueName("BacklogPG"), compressMsgBodyOverHowmuch: 1 << 30 });
  await producer.start();
  const body = new Uint8Array(200 * 1024);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7 + (i >> 9)) & 0xff;
  for (let i = 0; i < 200; i += 10) {
    await Promise.all(Array.from({ length: 10 }, () => producer.send({ topic, body })));
  }
  await producer.shutdown();
  const startedMs = Date.now();
  const slave = await startReplBroker({ namesrvAddr: namesrv.namesrvAddr, brokerName: "broker-l", role: "SLAVE" });
  const end = await waitCaughtUp(master, slave, 60_000);
  console.log(`backlog: ${(end / 1048576).toFixed(1)} MiB caught up in ${Date.now() - startedMs} ms (slave start included)`);
  expect(end).toBeGreaterThan(39 * 1024 * 1024);
  expect(compareCommitLogs(master.dataDir, slave.dataDir, end)).toBe(end);
  expect(Number((await runtimeInfo(master.brokerAddr)).haPartialWrites)).toBeGreaterThan(0); // the drain path ran
}, 90_000);
