// bolide admin getBrokerConfig / updateBrokerConfig (GET_BROKER_CONFIG 26, UPDATE_BROKER_CONFIG 25)
// against the binary started with -c broker.conf: the change shows, takes effect at once, is
// written back to broker.conf and survives a restart; refused keys are named.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Producer } from "../../src/client/index.ts";
import { MQBrokerError } from "../../src/client/errors.ts";
import { newRequest } from "../../src/net/remoting_command.ts";
import { RequestCode } from "../../src/net/request_code.ts";
import { ResponseCode } from "../../src/net/response_code.ts";
import { RemotingClient } from "../../src/net/tcp_client.ts";
import { binaryPath, cleanupAll, startBinary, tempDir, uniqueName, type Broker } from "./helpers.ts";

let broker: Broker;
let confPath = "";
beforeAll(async () => {
  confPath = join(tempDir("bolide-conf-"), "broker.conf");
  writeFileSync(confPath, "# operator's notes stay\nbrokerClusterName=DefaultCluster\nmaxMessageSize=4194304\ndeleteWhen=04\n");
  broker = await startBinary({ extraArgs: ["-c", confPath] });
});
afterAll(async () => {
  await broker.stop();
  cleanupAll();
});

function admin(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(binaryPath, ["admin", ...args, "-n", broker.namesrvAddr], { encoding: "utf8", timeout: 20_000 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}
function brokerConfig(): Record<string, string> {
  const result = admin("getBrokerConfig", "-b", broker.brokerAddr, "--json");
  if (result.code !== 0) throw new Error(`getBrokerConfig exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, string>;
}
/** Incompressible, so the SDK sends it as it is. */
function randomBody(bytes: number): Uint8Array {
  const body = new Uint8Array(bytes);
  crypto.getRandomValues(body);
  return body;
}

test("maxMessageSize lowered at runtime: shown, enforced at once, saved to broker.conf, kept after a restart", async () => {
  const before = brokerConfig();
  expect(before["maxMessageSize"]).toBe("4194304");
  expect(before["brokerName"]).toBe("broker-a");
  expect(before["listenPort"]).toBe(String(broker.brokerPort));

  const topic = uniqueName("ConfT");
  const producer = new Producer({ namesrvAddr: broker.namesrvAddr, producerGroup: uniqueName("PG"), retryTimesWhenSendFailed: 0 });
  await producer.start();
  try {
    expect((await producer.send({ topic, body: randomBody(10_000) })).sendStatus).toBe("SEND_OK");

    const update = admin("updateBrokerConfig", "-b", broker.brokerAddr, "-k", "maxMessageSize", "-v", "4096");
    expect(update.code).toBe(0);
    expect(update.stdout).toContain("update broker config success");
    expect(update.stdout).toContain(`saved to ${confPath}`);
    expect(brokerConfig()["maxMessageSize"]).toBe("4096");

    const refused = await producer.send({ topic, body: randomBody(10_000) }).then(() => null, (error: unknown) => error);
    expect(refused).toBeInstanceOf(MQBrokerError);
    expect((refused as MQBrokerError).code).toBe(ResponseCode.MESSAGE_ILLEGAL);
    expect((await producer.send({ topic, body: randomBody(1000) })).sendStatus).toBe("SEND_OK");
  } finally {
    await producer.shutdown();
  }

  const saved = readFileSync(confPath, "utf8");
  expect(saved).toContain("# operator's notes stay\n");
  expect(saved).toContain("maxMessageSize=4096\n");
  expect(saved).not.toContain("maxMessageSize=4194304");

  expect(await broker.restart()).toBe(0);
  expect(brokerConfig()["maxMessageSize"]).toBe("4096");
}, 60_000);

test("by cluster (-c), several keys in one Java-style body, and refusals that name the keys and apply nothing", async () => {
  expect(admin("updateBrokerConfig", "-c", "DefaultCluster", "-k", "fileReservedTime", "-v", "48").code).toBe(0);
  expect(brokerConfig()["fileReservedTime"]).toBe("48");
  expect(readFileSync(confPath, "utf8")).toContain("fileReservedTime=48\n");

  const unknown = admin("updateBrokerConfig", "-b", broker.brokerAddr, "-k", "noSuchKey", "-v", "1");
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toContain("unknown key: noSuchKey");
  const restartOnly = admin("updateBrokerConfig", "-b", broker.brokerAddr, "-k", "listenPort", "-v", "1234");
  expect(restartOnly.code).toBe(1);
  expect(restartOnly.stderr).toContain("not updatable at runtime (change broker.conf and restart): listenPort");
  const badValue = admin("updateBrokerConfig", "-b", broker.brokerAddr, "-k", "deleteWhen", "-v", "25");
  expect(badValue.code).toBe(1);
  expect(badValue.stderr).toContain("deleteWhen");
  expect(admin("updateBrokerConfig", "-b", broker.brokerAddr, "-k", "deleteWhen").code).toBe(2); // no -v

  // Exactly what Java's DefaultMQAdminExt.updateBrokerConfig sends: no header, MixAll.properties2String's body.
  const remoting = new RemotingClient();
  try {
    const send = (body: string) => remoting.invoke(broker.brokerAddr, newRequest(RequestCode.UPDATE_BROKER_CONFIG, {}, new TextEncoder().encode(body)), 5000);
    const mixed = await send("transactionCheckMax=3\nbrokerName=other\n");
    expect(mixed.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(mixed.remark).toContain("brokerName");
    expect(brokerConfig()["transactionCheckMax"]).toBe("15"); // all or nothing
    const both = await send("transactionCheckMax=3\ntransactionTimeOut=1000\ndeleteWhen=01;04\n");
    expect(both.code).toBe(ResponseCode.SUCCESS);
    const get = await remoting.invoke(broker.brokerAddr, newRequest(RequestCode.GET_BROKER_CONFIG, {}), 5000);
    expect(get.code).toBe(ResponseCode.SUCCESS);
    expect(JSON.parse(get.extFields["version"] ?? "{}").counter).toBeGreaterThanOrEqual(2);
    const text = new TextDecoder().decode(get.body!);
    for (const line of ["transactionCheckMax=3", "transactionTimeOut=1000", "deleteWhen=01;04", "fileReservedTime=48"]) expect(text).toContain(`${line}\n`);
  } finally {
    remoting.close();
  }
}, 60_000);
