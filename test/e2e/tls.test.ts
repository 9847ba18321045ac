// TLS on the remoting ports, against the compiled binary: our SDK produces and consumes over TLS
// (enforcing and permissive); enforcing refuses plaintext with one log line and keeps serving;
// permissive takes both on one port. The certificate is made by openssl at test time.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { Producer, PushConsumer, type ReceivedMessage } from "../../src/client/index.ts";
import { newRequest } from "../../src/net/remoting_command.ts";
import { RequestCode } from "../../src/net/request_code.ts";
import { ResponseCode } from "../../src/net/response_code.ts";
import { RemotingClient } from "../../src/net/tcp_client.ts";
import { cleanupAll, sleep, startBinary, tempDir, uniqueName, waitUntil, type Broker } from "./helpers.ts";

afterAll(cleanupAll);

/** A self-signed certificate and its unencrypted key, made for this run only. */
export function makeCertificate(): { certPath: string; keyPath: string } {
  const dir = tempDir("bolide-tls-");
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  const result = spawnSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPath, "-out", certPath, "-days", "2", "-subj", "/CN=localhost"],
    { encoding: "utf8" },
  );
  if (result.status !== 0) throw new Error(`openssl failed: ${result.stderr}`);
  return { certPath, keyPath };
}

async function produceAndConsume(broker: Broker, tls: boolean, count: number): Promise<void> {
  const topic = uniqueName("Tls");
  const producer = new Producer({ namesrvAddr: broker.namesrvAddr, producerGroup: uniqueName("PG"), tls });
  const consumer = new PushConsumer({
    namesrvAddr: broker.namesrvAddr,
    consumerGroup: uniqueName("CG"),
    consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET",
    offsetStoreDir: null,
    tls,
  });
  const got = new Set<string>();
  consumer.subscribe(topic, "*");
  consumer.onMessage((message: ReceivedMessage) => {
    got.add(new TextDecoder().decode(message.body));
  });
  try {
    await producer.start();
    for (let i = 0; i < count; i++) {
      const result = await producer.send({ topic, body: new TextEncoder().encode(`m${i}`) });
      expect(result.sendStatus).toBe("SEND_OK");
    }
    await consumer.start();
    await waitUntil(`${count} messages over ${tls ? "TLS" : "plaintext"}`, () => got.size === count, 30_000);
  } finally {
    await consumer.shutdown();
    await producer.shutdown();
  }
}

/** Connects without TLS and sends one request: resolves to "closed" when the port hangs up on us. */
async function plaintextRequest(port: number): Promise<"answered" | "closed"> {
  const client = new RemotingClient({ connectTimeoutMs: 3000 });
  try {
    const response = await client.invoke(`127.0.0.1:${port}`, newRequest(RequestCode.GET_BROKER_CLUSTER_INFO, {}), 3000);
    return response.code === ResponseCode.SUCCESS || response.code >= 0 ? "answered" : "closed";
  } catch {
    return "closed";
  } finally {
    client.close();
  }
}

describe("TLS enforcing", () => {
  let broker: Broker;
  beforeAll(async () => {
    const { certPath, keyPath } = makeCertificate();
    broker = await startBinary({ extraArgs: ["--tls-mode", "enforcing", "--tls-cert-path", certPath, "--tls-key-path", keyPath] });
  });
  afterAll(async () => {
    expect(await broker.stop()).toBe(0);
  });

  test("the SDK produces and consumes over TLS (name server and broker)", async () => {
    await produceAndConsume(broker, true, 50);
  });

  test("plaintext is refused on both ports with one log line each, and TLS clients are still served", async () => {
    expect(await plaintextRequest(broker.brokerPort)).toBe("closed");
    await sleep(1100); // the refusal log is rate-limited to a line per second
    expect(await plaintextRequest(broker.namesrvPort)).toBe("closed");
    await waitUntil("refusal log lines", () => (broker.logs().match(/connection\.tls_refused/g) ?? []).length >= 2, 5000);
    const lines = broker.logs().split("\n").filter((line) => line.includes("connection.tls_refused"));
    expect(lines.length, lines.join("\n")).toBe(2);
    expect(lines.some((line) => line.includes('"server":"broker"'))).toBe(true);
    expect(lines.some((line) => line.includes('"server":"namesrv"'))).toBe(true);
    await produceAndConsume(broker, true, 5);
  });

  test("a client that checks certificates refuses the self-signed one", async () => {
    const client = new RemotingClient({ tls: { rejectUnauthorized: true } });
    try {
      await expect(client.invoke(broker.brokerAddr, newRequest(RequestCode.GET_BROKER_CLUSTER_INFO, {}), 3000)).rejects.toThrow(/TLS handshake/);
    } finally {
      client.close();
    }
  });
});

describe("TLS permissive", () => {
  let broker: Broker;
  beforeAll(async () => {
    const { certPath, keyPath } = makeCertificate();
    broker = await startBinary({ extraArgs: ["--tls-mode", "permissive", "--tls-cert-path", certPath, "--tls-key-path", keyPath] });
  });
  afterAll(async () => {
    expect(await broker.stop()).toBe(0);
  });

  test("one port takes TLS and plaintext clients", async () => {
    await Promise.all([produceAndConsume(broker, true, 30), produceAndConsume(broker, false, 30)]);
  });

  test("a large body round-trips over the TLS bridge", async () => {
    const topic = uniqueName("TlsBig");
    const producer = new Producer({ namesrvAddr: broker.namesrvAddr, producerGroup: uniqueName("PG"), tls: true, compressMsgBodyOverHowmuch: 1 << 30 });
    const consumer = new PushConsumer({ namesrvAddr: broker.namesrvAddr, consumerGroup: uniqueName("CG"), consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET", offsetStoreDir: null, tls: true });
    const body = new Uint8Array(3 * 1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
    let received: Uint8Array | null = null;
    consumer.subscribe(topic, "*");
    consumer.onMessage((message) => {
      received = message.body;
    });
    try {
      await producer.start();
      for (let i = 0; i < 4; i++) expect((await producer.send({ topic, body })).sendStatus).toBe("SEND_OK");
      await consumer.start();
      await waitUntil("the big message", () => received !== null, 30_000);
      expect(Buffer.compare(Buffer.from(received!), Buffer.from(body))).toBe(0);
    } finally {
      await consumer.shutdown();
      await producer.shutdown();
    }
  });
});
