// bolide admin: mqadmin's everyday commands against a running binary.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { Producer, PushConsumer } from "../../src/client/index.ts";
import { binaryPath, cleanupAll, sleep, startBinary, uniqueName, type Broker } from "./helpers.ts";

let broker: Broker;
beforeAll(async () => {
  broker = await startBinary();
});
afterAll(async () => {
  await broker.stop();
  cleanupAll();
});

function admin(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(binaryPath, ["admin", ...args, "-n", broker.namesrvAddr], { encoding: "utf8", timeout: 20_000 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}
function adminJson<T>(...args: string[]): T {
  const result = admin(...args, "--json");
  if (result.code !== 0) throw new Error(`admin ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

test("consumerProgress shows the lag while the consumer is stopped, and 0 once it caught up", async () => {
  const topic = uniqueName("AdminT");
  const group = uniqueName("AdminG");
  const producer = new Producer({ namesrvAddr: broker.namesrvAddr, producerGroup: uniqueName("PG") });
  await producer.start();
  const consume = async (count: number): Promise<void> => {
    let seen = 0;
    const consumer = new PushConsumer({ namesrvAddr: broker.namesrvAddr, consumerGroup: group, consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET" });
    consumer.subscribe(topic);
    consumer.onMessage(() => void seen++);
    await consumer.start();
    const deadline = Date.now() + 15_000;
    while (seen < count && Date.now() < deadline) await sleep(20);
    await consumer.shutdown(); // commits its offsets
    expect(seen).toBe(count);
  };
  for (let i = 0; i < 60; i++) await producer.send({ topic, body: `a-${i}`, keys: `key-${i}` });
  await consume(60);
  for (let i = 0; i < 40; i++) await producer.send({ topic, body: `b-${i}` });
  const lagging = adminJson<{ diffTotal: number; offsetTable: Array<{ brokerOffset: number; consumerOffset: number; diff: number }> }>("consumerProgress", "-g", group);
  expect(lagging.diffTotal).toBe(40);
  expect(lagging.offsetTable.reduce((sum, row) => sum + row.brokerOffset, 0)).toBe(100);
  expect(admin("consumerProgress", "-g", group).stdout).toContain("Diff Total: 40");
  await consume(40);
  expect(adminJson<{ diffTotal: number }>("consumerProgress", "-g", group, "-t", topic).diffTotal).toBe(0);

  // The other everyday commands, on the same data.
  const status = adminJson<Array<{ queueId: number; minOffset: number; maxOffset: number; lastUpdateTimestamp: number }>>("topicStatus", "-t", topic);
  expect(status.reduce((sum, row) => sum + row.maxOffset, 0)).toBe(100);
  expect(status.every((row) => row.maxOffset === 0 || row.lastUpdateTimestamp > 0)).toBe(true);
  expect(adminJson<{ topicList: string[] }>("topicList").topicList).toContain(topic);
  expect(adminJson<{ queueDatas: unknown[] }>("topicRoute", "-t", topic).queueDatas.length).toBe(1);
  const byKey = adminJson<Array<{ body: string; offsetMsgId: string }>>("queryMsgByKey", "-t", topic, "-k", "key-7");
  expect(byKey.map((row) => row.body)).toEqual(["a-7"]);
  expect(adminJson<{ body: string }>("queryMsgById", "-i", byKey[0]!.offsetMsgId).body).toBe("a-7");
  const cluster = adminJson<{ clusterAddrTable: Record<string, string[]> }>("clusterList");
  expect(cluster.clusterAddrTable["DefaultCluster"]).toEqual(["broker-a"]);
  expect(adminJson<Record<string, string>>("brokerStatus", "-b", broker.brokerAddr)["commitLogMaxOffset"]).toMatch(/^\d+$/);
  await producer.shutdown();
}, 60_000);

test("updateTopic, sendMessage, consumeMessage, resetOffsetByTime, deleteTopic", async () => {
  const topic = uniqueName("AdminU");
  expect(admin("updateTopic", "-t", topic, "-r", "2", "-w", "2").code).toBe(0);
  expect(adminJson<{ queueDatas: Array<{ readQueueNums: number }> }>("topicRoute", "-t", topic).queueDatas[0]!.readQueueNums).toBe(2);
  for (let i = 0; i < 3; i++) expect(admin("sendMessage", "-t", topic, "-p", `hello-${i}`, "-c", "TagX").code).toBe(0);
  const consumed = adminJson<Array<{ body: string; tags: string }>>("consumeMessage", "-t", topic);
  expect(consumed.map((row) => row.body).sort()).toEqual(["hello-0", "hello-1", "hello-2"]);
  const group = uniqueName("ResetG");
  const reset = adminJson<Array<{ offset: number }>>("resetOffsetByTime", "-g", group, "-t", topic, "-s", "0");
  expect(reset.every((row) => row.offset === 0)).toBe(true);
  expect(adminJson<{ diffTotal: number }>("consumerProgress", "-g", group, "-t", topic).diffTotal).toBe(3);
  expect(admin("deleteTopic", "-t", topic).code).toBe(0);
  expect(adminJson<{ topicList: string[] }>("topicList").topicList).not.toContain(topic);
}, 60_000);

test("clear errors: unreachable name server, unknown command, missing option", () => {
  const unreachable = spawnSync(binaryPath, ["admin", "topicList", "-n", "127.0.0.1:1"], { encoding: "utf8", timeout: 20_000 });
  expect(unreachable.status).toBe(1);
  expect(unreachable.stderr).toContain("cannot reach 127.0.0.1:1");
  expect(admin("noSuchCommand").code).toBe(2);
  const missing = admin("topicRoute");
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain("topicRoute needs -t TOPIC");
});
