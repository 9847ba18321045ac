// Separate roles: two name servers and a broker process that registers with both; the broker
// leaves both routes when it stops, and comes back when it restarts.
import { afterAll, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { newRequest } from "../../src/net/remoting_command.ts";
import { RequestCode } from "../../src/net/request_code.ts";
import { ResponseCode } from "../../src/net/response_code.ts";
import { RemotingClient } from "../../src/net/tcp_client.ts";
import { decodeJsonBody } from "../../src/protocol/json_body.ts";
import { binaryPath, canConnect, cleanupAll, freePort, sleep, tempDir, uniqueName } from "./helpers.ts";

const children: Subprocess[] = [];
const client = new RemotingClient();
afterAll(() => {
  client.close();
  for (const child of children) child.kill("SIGKILL");
  cleanupAll();
});

async function spawnRole(args: string[], port: number): Promise<Subprocess> {
  const child = Bun.spawn([binaryPath, "--listen-host", "127.0.0.1", "--http-port", "0", ...args], { stdout: "ignore", stderr: "pipe" });
  children.push(child);
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${args.join(" ")} did not listen on ${port}`);
    await sleep(50);
  }
  return child;
}

test("a broker registers with every name server, and unregisters on SIGTERM", async () => {
  const [ns1, ns2, brokerPort] = [await freePort(), await freePort(), await freePort()];
  await spawnRole(["--role", "namesrv", "--namesrv-port", String(ns1)], ns1);
  await spawnRole(["--role", "namesrv", "--namesrv-port", String(ns2)], ns2);
  const args = [
    "--role", "broker", "--broker-port", String(brokerPort), "--broker-ip", "127.0.0.1", "--data-dir", tempDir(),
    "--namesrv-addr", `127.0.0.1:${ns1};127.0.0.1:${ns2}`, "--broker-name", "broker-x", "--cluster", "ClusterX",
  ];
  const broker = await spawnRole(args, brokerPort);
  // Listening comes just before registering: wait until both name servers know the broker.
  for (const ns of [ns1, ns2]) {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const info = await client.invoke(`127.0.0.1:${ns}`, newRequest(RequestCode.GET_BROKER_CLUSTER_INFO), 5000);
      if (JSON.stringify(decodeJsonBody(info.body)).includes("broker-x")) break;
      if (Date.now() > deadline) throw new Error(`broker-x did not register with 127.0.0.1:${ns}`);
      await sleep(20);
    }
  }
  const topic = uniqueName("Roles");
  for (const ns of [ns1, ns2]) {
    const info = await client.invoke(`127.0.0.1:${ns}`, newRequest(RequestCode.GET_BROKER_CLUSTER_INFO), 5000);
    expect(decodeJsonBody(info.body)).toMatchObject({
      brokerAddrTable: { "broker-x": { brokerAddrs: { "0": `127.0.0.1:${brokerPort}` }, cluster: "ClusterX" } },
      clusterAddrTable: { ClusterX: ["broker-x"] },
    });
    // An unknown topic is created on lookup, through whichever name server is asked.
    const route = await client.invoke(`127.0.0.1:${ns}`, newRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }), 5000);
    expect(route.code).toBe(ResponseCode.SUCCESS);
    expect(decodeJsonBody(route.body)).toMatchObject({ queueDatas: [{ brokerName: "broker-x", readQueueNums: 4, writeQueueNums: 4, perm: 6 }] });
  }
  const list = await client.invoke(`127.0.0.1:${ns2}`, newRequest(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER), 5000);
  expect((decodeJsonBody(list.body) as { topicList: string[] }).topicList).toContain(topic);

  const started = Date.now();
  broker.kill("SIGTERM");
  expect(await broker.exited).toBe(0);
  expect(Date.now() - started).toBeLessThan(5000);
  for (const ns of [ns1, ns2]) {
    const route = await client.invoke(`127.0.0.1:${ns}`, newRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }), 5000);
    expect(route.code).toBe(ResponseCode.TOPIC_NOT_EXIST);
  }
  // Restarted on the same data: the topic is routed again (once the broker registered).
  await spawnRole(args, brokerPort);
  const deadline = Date.now() + 10_000;
  let route = await client.invoke(`127.0.0.1:${ns1}`, newRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }), 5000);
  while (route.code !== ResponseCode.SUCCESS && Date.now() < deadline) {
    await sleep(20);
    route = await client.invoke(`127.0.0.1:${ns1}`, newRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }), 5000);
  }
  expect(route.code).toBe(ResponseCode.SUCCESS);
});

test("with auto-creation off, an unknown topic is TOPIC_NOT_EXIST", async () => {
  const [ns, brokerPort] = [await freePort(), await freePort()];
  await spawnRole(["--role", "namesrv", "--namesrv-port", String(ns)], ns);
  await spawnRole(
    ["--role", "broker", "--broker-port", String(brokerPort), "--broker-ip", "127.0.0.1", "--data-dir", tempDir(), "--namesrv-addr", `127.0.0.1:${ns}`, "--auto-create-topic", "false"],
    brokerPort,
  );
  const route = await client.invoke(`127.0.0.1:${ns}`, newRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: uniqueName("Nope") }), 5000);
  expect(route.code).toBe(ResponseCode.TOPIC_NOT_EXIST);
  expect(route.remark).toContain("No topic route info");
});
