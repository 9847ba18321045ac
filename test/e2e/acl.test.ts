// ACL (RocketMQ 4.x plain ACL) against the compiled binary: our SDK, bolide admin and ali-ons,
// signed with the right, wrong or no credentials; plain_acl.yml edited while the broker runs.
//
//   npm run -s build && ./node_modules/.bin/bun test test/e2e/acl.test.ts
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { MQBrokerError, Producer, PullConsumer, PushConsumer, type Credentials } from "../../src/client/index.ts";
import { aliOnsScript, binaryPath, cleanupAll, lastJson, runNode, sleep, startBinary, tempDir, uniqueName, waitUntil, type Broker } from "./helpers.ts";

const NO_PERMISSION = 16;
const decoder = new TextDecoder();

const admin: Credentials = { accessKey: "aclAdmin1", secretKey: "adminSecret1" };
const pub: Credentials = { accessKey: "aclPub001", secretKey: "pubSecret1" };
const sub: Credentials = { accessKey: "aclSub001", secretKey: "subSecret1" };
const deny: Credentials = { accessKey: "aclDeny01", secretKey: "denySecret1" };

const topic = uniqueName("AclOrders");
const group = uniqueName("AclGroup");

/** plain_acl.yml; `extra` lines go at the top (globalWhiteRemoteAddresses). */
function aclYaml(extra = "", subTopicPerm = "SUB"): string {
  return `${extra}
accounts:
  - accessKey: ${admin.accessKey}
    secretKey: ${admin.secretKey}
    admin: true
  - accessKey: ${pub.accessKey}
    secretKey: ${pub.secretKey}
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
    topicPerms:
      - ${topic}=PUB
  - accessKey: ${sub.accessKey}
    secretKey: ${sub.secretKey}
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - ${topic}=${subTopicPerm}
  - accessKey: ${deny.accessKey}
    secretKey: ${deny.secretKey}
    defaultTopicPerm: PUB|SUB
    defaultGroupPerm: SUB
    topicPerms:
      - ${topic}=DENY
`;
}

let broker: Broker;
let aclPath: string;
const started: Array<{ shutdown(): Promise<void> }> = [];

/** Writes the ACL file; the broker polls it every 500 ms. */
function writeAcl(text: string): void {
  writeFileSync(aclPath + ".tmp", text);
  spawnSync("mv", [aclPath + ".tmp", aclPath]); // atomic, as an editor or config tool would do
}

beforeAll(async () => {
  aclPath = join(tempDir("bolide-acl-"), "plain_acl.yml");
  writeAcl(aclYaml());
  broker = await startBinary({ extraArgs: ["--acl-enable", "true", "--acl-file", aclPath] });
}, 60_000);

afterAll(async () => {
  for (const client of started.splice(0)) await client.shutdown().catch(() => undefined);
  if (broker) await broker.stop();
  cleanupAll();
}, 60_000);

async function producer(credentials: Credentials | null): Promise<Producer> {
  const created = new Producer({
    namesrvAddr: broker.namesrvAddr,
    producerGroup: uniqueName("AclPG"),
    retryTimesWhenSendFailed: 0,
    ...(credentials ? { credentials } : {}),
  });
  await created.start();
  started.push(created);
  return created;
}

/** The broker's refusal of a send: its code and remark (null when the send succeeded). */
async function sendRefusal(p: Producer, to: string, body = "x"): Promise<{ code: number; remark: string } | null> {
  try {
    await p.send({ topic: to, body });
    return null;
  } catch (error) {
    let cause: unknown = error;
    while (cause instanceof Error && !(cause instanceof MQBrokerError)) cause = cause.cause;
    if (cause instanceof MQBrokerError) return { code: cause.code, remark: cause.remark };
    throw error;
  }
}

function bolideAdmin(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(binaryPath, ["admin", ...args, "-n", broker.namesrvAddr], { encoding: "utf8", timeout: 20_000 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

describe("ACL on", () => {
  test("our SDK: signed sends and consumption where allowed, NO_PERMISSION where not", async () => {
    const allowed = await producer(pub);
    for (let i = 0; i < 10; i++) await allowed.send({ topic, body: `acl-${i}` });
    const otherTopic = uniqueName("AclOther");
    expect(await sendRefusal(allowed, otherTopic)).toEqual({ code: NO_PERMISSION, remark: `No default permission for topic:${otherTopic}` });
    expect(await sendRefusal(await producer(sub), topic)).toEqual({ code: NO_PERMISSION, remark: `No default permission for topic:${topic}` });
    expect(await sendRefusal(await producer(deny), topic)).toEqual({ code: NO_PERMISSION, remark: `No default permission for topic:${topic}` });
    expect(await sendRefusal(await producer(deny), otherTopic)).toBeNull(); // its default is PUB|SUB
    expect(await sendRefusal(await producer(null), topic)).toEqual({ code: NO_PERMISSION, remark: "No accessKey is configured" });
    const wrong = await producer({ accessKey: pub.accessKey, secretKey: "notTheSecret" });
    expect(await sendRefusal(wrong, topic)).toEqual({ code: NO_PERMISSION, remark: `Check signature failed for accessKey=${pub.accessKey}` });
    const unknown = await producer({ accessKey: "nobody123", secretKey: "whatever1" });
    expect(await sendRefusal(unknown, topic)).toEqual({ code: NO_PERMISSION, remark: "No acl config for nobody123" });

    // The SUB account consumes everything (heartbeat, pulls and offset commits all checked).
    const seen = new Set<string>();
    const consumer = new PushConsumer({ namesrvAddr: broker.namesrvAddr, consumerGroup: group, consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET", credentials: sub });
    consumer.subscribe(topic);
    consumer.onMessage((message) => void seen.add(decoder.decode(message.body)));
    await consumer.start();
    started.push(consumer);
    await waitUntil("10 messages consumed by the SUB account", () => seen.size === 10, 30_000);

    // Pulls: the PUB-only account may not read, the DENY account neither; the SUB one may.
    const pull = async (credentials: Credentials | null): Promise<number> => {
      const pc = new PullConsumer({ namesrvAddr: broker.namesrvAddr, consumerGroup: uniqueName("AclPull"), ...(credentials ? { credentials } : {}) });
      await pc.start();
      started.push(pc);
      try {
        const result = await pc.pull({ topic, brokerName: "broker-a", queueId: 0 }, "*", 0, 32);
        return result.status === "FOUND" || result.status === "NO_NEW_MSG" ? 0 : -1;
      } catch (error) {
        if (error instanceof MQBrokerError) return error.code;
        throw error;
      }
    };
    expect(await pull(sub)).toBe(0);
    expect(await pull(pub)).toBe(NO_PERMISSION);
    expect(await pull(deny)).toBe(NO_PERMISSION);
    expect(await pull(null)).toBe(NO_PERMISSION);
  }, 60_000);

  test("admin commands need an admin account", () => {
    const newTopic = uniqueName("AclAdminT");
    const unsigned = bolideAdmin("updateTopic", "-t", newTopic, "-c", "DefaultCluster");
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toContain("No accessKey is configured");
    const notAdmin = bolideAdmin("updateTopic", "-t", newTopic, "-c", "DefaultCluster", "--access-key", sub.accessKey, "--secret-key", sub.secretKey);
    expect(notAdmin.code).toBe(1);
    expect(notAdmin.stderr).toContain(`Need admin permission for request code=17, but accessKey=${sub.accessKey} is not`);
    const asAdmin = spawnSync(binaryPath, ["admin", "updateTopic", "-t", newTopic, "-c", "DefaultCluster", "-n", broker.namesrvAddr], {
      encoding: "utf8",
      timeout: 20_000,
      env: { ...process.env, BOLIDE_ACCESS_KEY: admin.accessKey, BOLIDE_SECRET_KEY: admin.secretKey },
    });
    expect(asAdmin.status).toBe(0);
    // Reading commands go through too once signed (GET_MAX_OFFSET etc. need only a valid signature).
    const status = bolideAdmin("topicStatus", "-t", topic, "--json", "--access-key", sub.accessKey, "--secret-key", sub.secretKey);
    expect(status.code).toBe(0);
    expect((JSON.parse(status.stdout) as Array<{ maxOffset: number }>).reduce((sum, row) => sum + row.maxOffset, 0)).toBe(10);
    const wrong = bolideAdmin("topicStatus", "-t", topic, "--access-key", sub.accessKey, "--secret-key", "wrongSecret");
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("Check signature failed");
  }, 60_000);

  test("ali-ons: right credentials send and consume, wrong ones are refused", async () => {
    const credentials = (c: Credentials) => ["--access-key", c.accessKey, "--secret-key", c.secretKey];
    const aliTopic = topic; // the PUB account may send to it, the SUB account read it
    const sent = await runNode(aliOnsScript, ["produce", broker.namesrvAddr, aliTopic, "20", "--from", "100", ...credentials(pub)], 60_000);
    const sentSummary = lastJson<{ ok: boolean; sent: number }>(sent.stdout);
    expect(sentSummary?.ok, sent.stdout + sent.stderr).toBe(true);
    expect(sentSummary?.sent).toBe(20);
    const got = await runNode(aliOnsScript, ["consume", broker.namesrvAddr, aliTopic, uniqueName("AclOnsG"), "20", "--from", "100", "--timeout", "45000", ...credentials(sub)], 60_000);
    const gotSummary = lastJson<{ ok: boolean; received: number }>(got.stdout);
    expect(gotSummary?.ok, got.stdout + got.stderr).toBe(true);
    expect(gotSummary?.received).toBe(20);

    const refused = await runNode(aliOnsScript, ["produce", broker.namesrvAddr, aliTopic, "1", "--access-key", pub.accessKey, "--secret-key", "wrongSecret"], 60_000);
    // ali-ons retries a refused send 3 times and then reports "Send [4] times, still failed"
    // without the code; its other requests (here UNREGISTER_CLIENT on close) show the broker's answer.
    type Summary = { ok: boolean; sent: number; errors: string[] };
    const refusedSummary = lastJson<Summary>(refused.stdout);
    expect(refusedSummary?.ok).toBe(false);
    expect(refusedSummary?.sent).toBe(0);
    expect(refusedSummary?.errors.join("\n")).toContain(`MQClientException: Check signature failed for accessKey=${pub.accessKey} (code ${NO_PERMISSION})`);
    const unsigned = await runNode(aliOnsScript, ["produce", broker.namesrvAddr, aliTopic, "1"], 60_000);
    const unsignedSummary = lastJson<Summary>(unsigned.stdout);
    expect(unsignedSummary?.sent).toBe(0);
    expect(unsignedSummary?.errors.join("\n")).toContain(`MQClientException: No accessKey is configured (code ${NO_PERMISSION})`);
  }, 120_000);

  test("edits to plain_acl.yml apply while running; a broken file keeps the rules", async () => {
    const unsigned = await producer(null);
    const subProducer = await producer(sub);
    expect((await sendRefusal(unsigned, topic))?.code).toBe(NO_PERMISSION);

    // 127.0.0.1 in the global whitelist: unsigned requests pass.
    writeAcl(aclYaml("globalWhiteRemoteAddresses:\n  - 127.0.0.1"));
    await waitUntil("the whitelist to apply", async () => (await sendRefusal(unsigned, topic)) === null, 10_000);
    // A whitelist that does not match 127.0.0.1: refused again.
    writeAcl(aclYaml("globalWhiteRemoteAddresses:\n  - 10.1.2.*"));
    await waitUntil("the whitelist to go", async () => (await sendRefusal(unsigned, topic))?.code === NO_PERMISSION, 10_000);

    // The SUB account gets PUB|SUB on the topic.
    expect((await sendRefusal(subProducer, topic))?.code).toBe(NO_PERMISSION);
    writeAcl(aclYaml("", "PUB|SUB"));
    await waitUntil("PUB for the SUB account", async () => (await sendRefusal(subProducer, topic)) === null, 10_000);

    // A file that does not parse: the previous rules stay (the SUB account may still send).
    writeAcl("accounts: [ {accessKey: broken");
    await sleep(1500);
    expect(await sendRefusal(subProducer, topic)).toBeNull();
    expect(broker.logs()).toContain("acl.reload_failed");
    // And it is picked up once fixed.
    writeAcl(aclYaml());
    await waitUntil("the fixed file to apply", async () => (await sendRefusal(subProducer, topic))?.code === NO_PERMISSION, 10_000);
  }, 60_000);
});

test("a plain_acl.yml that does not parse stops the start (exit code 2)", () => {
  const path = join(tempDir("bolide-acl-bad-"), "plain_acl.yml");
  writeFileSync(path, "accounts:\n  - accessKey: short\n    secretKey: x\n");
  const result = spawnSync(binaryPath, ["--data-dir", tempDir("bolide-data-"), "--namesrv-port", "0", "--broker-port", "0", "--http-port", "0", "--acl-enable", "true", "--acl-file", path], {
    encoding: "utf8",
    timeout: 20_000,
  });
  expect(result.status).toBe(2);
  expect(result.stderr).toContain(`--acl-file ${path}: accounts[0]: accessKey=short and its secretKey must both be longer than 6 characters`);
});
