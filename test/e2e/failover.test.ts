// End-to-end failover (issue #7): one name server, two broker names each with an ASYNC_MASTER and
// a SLAVE (five processes of the compiled binary), our SDK's Producer and PushConsumer.
// A producer sends without pause; master A is killed -9: sends go on to B, a consumer group
// started during the outage reads A's queues from A's slave; A restarts and its slave catches up;
// in the end every acknowledged message was consumed (at-least-once: duplicates are counted).
//
//   npm run -s build && ./node_modules/.bin/bun test test/e2e/failover.test.ts
import { afterAll, expect, test } from "bun:test";
import { Producer, PushConsumer } from "../../src/client/index.ts";
import { cleanupAll, sleep, uniqueName, waitUntil } from "./helpers.ts";
import { closeReplClient, commitLogMaxOffset, physicalOffsetOf, startNamesrv, startReplBroker, waitCaughtUp } from "./repl_helpers.ts";

const decoder = new TextDecoder();

afterAll(() => {
  closeReplClient();
  cleanupAll();
});

interface Acked {
  body: string;
  brokerName: string;
  physicalOffset: number;
  ackedMs: number;
}

test("two masters with slaves: kill -9 one master, sends go on, its slave serves reads, restart catches up, nothing lost", async () => {
  const namesrv = await startNamesrv();
  const ns = namesrv.namesrvAddr;
  const [masterA, masterB] = await Promise.all([
    startReplBroker({ namesrvAddr: ns, brokerName: "broker-a", role: "ASYNC_MASTER" }),
    startReplBroker({ namesrvAddr: ns, brokerName: "broker-b", role: "ASYNC_MASTER" }),
  ]);
  const [slaveA, slaveB] = await Promise.all([
    startReplBroker({ namesrvAddr: ns, brokerName: "broker-a", role: "SLAVE" }),
    startReplBroker({ namesrvAddr: ns, brokerName: "broker-b", role: "SLAVE" }),
  ]);
  const topic = uniqueName("FailoverTopic");
  const producer = new Producer({ namesrvAddr: ns, producerGroup: uniqueName("FailoverPG") });
  await producer.start();

  const acked: Acked[] = [];
  let sendFailures = 0;
  let stopSending = false;
  const senders = [0, 1, 2, 3].map(async (loop) => {
    for (let i = 0; !stopSending; i++) {
      const body = `m${loop}-${i}`;
      try {
        const result = await producer.send({ topic, body });
        acked.push({ body, brokerName: result.messageQueue.brokerName, physicalOffset: physicalOffsetOf(result.offsetMsgId), ackedMs: Date.now() });
      } catch {
        sendFailures++;
      }
      await sleep(2);
    }
  });

  const received = new Map<string, number>();
  const receivedFrom = new Map<string, number>();
  let deliveries = 0;
  const consumer = new PushConsumer({ namesrvAddr: ns, consumerGroup: uniqueName("FailoverCG"), consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET" });
  consumer.subscribe(topic, "*");
  consumer.onMessage((message) => {
    deliveries++;
    const body = decoder.decode(message.body);
    received.set(body, (received.get(body) ?? 0) + 1);
    receivedFrom.set(message.brokerName, (receivedFrom.get(message.brokerName) ?? 0) + 1);
  });

  try {
    await waitUntil("sends acknowledged by both masters", () => acked.some((a) => a.brokerName === "broker-a") && acked.some((a) => a.brokerName === "broker-b") && acked.length > 400, 20_000);
    await sleep(500);
    await masterA.kill();
    const killedMs = Date.now();
    // What A's slave has is all anyone can read of A until A comes back (ASYNC replication).
    const slaveAEnd = await commitLogMaxOffset(slaveA.brokerAddr);
    const onSlaveA = acked.filter((a) => a.brokerName === "broker-a" && a.physicalOffset < slaveAEnd).map((a) => a.body);
    expect(onSlaveA.length).toBeGreaterThan(0);
    const ackedA = acked.filter((a) => a.brokerName === "broker-a");
    console.log(`kill: slave A at ${slaveAEnd}, master A acknowledged up to ${Math.max(...ackedA.map((a) => a.physicalOffset))}, ${ackedA.length} on A`);

    // A consumer group started during the outage reads A's queues from its slave.
    await consumer.start();
    await waitUntil(`every message of broker-a on its slave consumed (${onSlaveA.length})`, () => onSlaveA.every((body) => received.has(body)), 20_000);
    // Sends go on, all to B (from 200 ms after the kill: answers in flight may still come from A).
    await waitUntil("sends acknowledged during the outage", () => acked.filter((a) => a.ackedMs > killedMs + 200).length > 200, 15_000);
    const duringOutage = acked.filter((a) => a.ackedMs > killedMs + 200);
    expect(duringOutage.every((a) => a.brokerName === "broker-b")).toBe(true);

    await masterA.start();
    await waitCaughtUp(masterA, slaveA);
    await sleep(1500);
    stopSending = true;
    await Promise.all(senders);
    await waitCaughtUp(masterB, slaveB);

    await waitUntil(`every acknowledged message consumed (${acked.length})`, () => acked.every((a) => received.has(a.body)), 30_000);
    expect(sendFailures).toBe(0); // the producer's retries went to broker-b
    const duplicates = deliveries - received.size;
    console.log(
      `failover: ${acked.length} acknowledged (${acked.filter((a) => a.brokerName === "broker-a").length} on broker-a), ` +
        `${duringOutage.length} during the outage, ${sendFailures} sends failed after retries, ${onSlaveA.length} read from A's slave, ` +
        `${deliveries} deliveries, ${duplicates} duplicates, from ${JSON.stringify(Object.fromEntries(receivedFrom))}`,
    );
  } finally {
    stopSending = true;
    await Promise.all(senders);
    await consumer.shutdown();
    await producer.shutdown();
  }
}, 90_000);
