// Hostile and malformed input against the compiled binary: each bad connection gets a clear
// error code or is closed, and the broker keeps serving everyone else.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { newRequest, type RemotingCommand } from "../../src/net/remoting_command.ts";
import { RequestCode } from "../../src/net/request_code.ts";
import { ResponseCode } from "../../src/net/response_code.ts";
import { RemotingClient } from "../../src/net/tcp_client.ts";
import { binaryPath, cleanupAll, startBinary, uniqueName, type Broker } from "./helpers.ts";

let broker: Broker;
const client = new RemotingClient();

beforeAll(async () => {
  broker = await startBinary();
});
afterAll(async () => {
  client.close();
  expect(await broker.stop()).toBe(0);
  cleanupAll();
});

function send(topic: string, body: Uint8Array | string, queueId = 0): Promise<RemotingCommand> {
  const request = newRequest(
    RequestCode.SEND_MESSAGE_V2,
    { a: "PG", b: topic, c: "TBW102", d: "4", e: String(queueId), f: "0", g: String(Date.now()), h: "0", i: "", j: "0", k: "false" },
    typeof body === "string" ? new TextEncoder().encode(body) : body,
  );
  return client.invoke(broker.brokerAddr, request, 10_000);
}

/** Opens a raw socket, writes `bytes`, resolves when the broker closes it (or after `waitMs`). */
function rawExchange(port: number, bytes: Uint8Array, waitMs = 3000): Promise<{ closed: boolean; received: number }> {
  return new Promise((resolve) => {
    let received = 0;
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      resolve({ closed, received });
    };
    void Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(socket) {
          socket.write(bytes);
          setTimeout(() => {
            finish(false);
            socket.end();
          }, waitMs);
        },
        data(_socket, chunk) {
          received += chunk.length;
        },
        close() {
          finish(true);
        },
        error() {
          finish(true);
        },
      },
    });
  });
}

async function stillServing(): Promise<void> {
  const response = await send(uniqueName("Alive"), "still here");
  expect(response.code).toBe(ResponseCode.SUCCESS);
}

describe("bad input", () => {
  test("a frame declaring more than 16 MiB closes that connection only", async () => {
    const header = new Uint8Array(8);
    new DataView(header.buffer).setUint32(0, 64 * 1024 * 1024);
    const result = await rawExchange(broker.brokerPort, header);
    expect(result.closed).toBe(true);
    await stillServing();
  });

  test("a truncated or garbage header closes that connection only", async () => {
    const garbage = new Uint8Array(64);
    new DataView(garbage.buffer).setUint32(0, 60);
    new DataView(garbage.buffer).setUint32(4, 200); // header longer than the frame
    expect((await rawExchange(broker.brokerPort, garbage)).closed).toBe(true);
    const notJson = new TextEncoder().encode("xxxxxxxx{not json at all}");
    const frame = new Uint8Array(8 + notJson.length);
    new DataView(frame.buffer).setUint32(0, 4 + notJson.length);
    new DataView(frame.buffer).setUint32(4, notJson.length);
    frame.set(notJson, 8);
    expect((await rawExchange(broker.brokerPort, frame)).closed).toBe(true);
    expect((await rawExchange(broker.namesrvPort, frame)).closed).toBe(true);
    await stillServing();
  });

  test("random bytes never take the broker down", async () => {
    for (let i = 0; i < 20; i++) {
      const junk = crypto.getRandomValues(new Uint8Array(256 + i * 13));
      await rawExchange(i % 2 === 0 ? broker.brokerPort : broker.namesrvPort, junk, 200);
    }
    await stillServing();
  });

  test("an unknown request code gets REQUEST_CODE_NOT_SUPPORTED naming the code", async () => {
    for (const addr of [broker.brokerAddr, broker.namesrvAddr]) {
      const response = await client.invoke(addr, newRequest(4242), 5000);
      expect(response.code).toBe(ResponseCode.REQUEST_CODE_NOT_SUPPORTED);
      expect(response.remark).toContain("4242");
    }
  });

  test("illegal topic names get a clear error and a remark saying why", async () => {
    const illegal = await send("bad topic!", "x");
    expect(illegal.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(illegal.remark).toContain("illegal characters");
    const long = await send("T".repeat(128), "x");
    expect(long.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(long.remark).toContain("longer than topic max length");
    const system = await send("SCHEDULE_TOPIC_XXXX", "x");
    expect(system.code).toBe(ResponseCode.NO_PERMISSION);
    const route = await client.invoke(broker.namesrvAddr, newRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic: "bad topic!" }), 5000);
    expect(route.code).toBe(ResponseCode.TOPIC_NOT_EXIST);
  });

  test("a body over the 4 MiB message limit gets MESSAGE_ILLEGAL", async () => {
    const response = await send(uniqueName("Big"), new Uint8Array(4 * 1024 * 1024 + 1));
    expect(response.code).toBe(ResponseCode.MESSAGE_ILLEGAL);
    await stillServing();
  });

  test("a queue id beyond the topic's queues is refused", async () => {
    const topic = uniqueName("Q");
    expect((await send(topic, "first")).code).toBe(ResponseCode.SUCCESS);
    const response = await send(topic, "x", 99);
    expect(response.code).toBe(ResponseCode.SYSTEM_ERROR);
    expect(response.remark).toContain("queueId[99] is illegal");
  });

  test("a held pull does not block a send on the same connection", async () => {
    const topic = uniqueName("Held");
    expect((await send(topic, "first")).code).toBe(ResponseCode.SUCCESS);
    const pull = client.invoke(
      broker.brokerAddr,
      newRequest(RequestCode.PULL_MESSAGE, {
        consumerGroup: "G", topic, queueId: "0", queueOffset: "1", maxMsgNums: "32", sysFlag: "2", commitOffset: "0",
        suspendTimeoutMillis: "15000", subVersion: "0",
      }),
      30_000,
    );
    const started = Date.now();
    expect((await send(topic, "second")).code).toBe(ResponseCode.SUCCESS);
    const answered = await pull;
    expect(answered.code).toBe(ResponseCode.SUCCESS);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(answered.extFields["nextBeginOffset"]).toBe("2");
  });
});

describe("command line", () => {
  test("an unknown flag or a bad value prints one error line and the usage, exit code 2", () => {
    for (const args of [["--no-such-flag"], ["--role", "king"], ["--broker-port", "http"], ["--flush", "sometimes"], ["--delete-when", "4am"], ["--disk-max-used-ratio", "99"]]) {
      const result = spawnSync(binaryPath, args, { encoding: "utf8", timeout: 10_000 });
      expect(result.status).toBe(2);
      expect(result.stderr.split("\n")[0]).toMatch(/^bolide: /);
      expect(result.stderr).toContain("Usage: bolide");
    }
  });
  test("--version and --help answer and exit 0", () => {
    expect(spawnSync(binaryPath, ["--version"], { encoding: "utf8" }).stdout).toMatch(/^bolide \d+\.\d+\.\d+/);
    const help = spawnSync(binaryPath, ["--help"], { encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("--namesrv-addr");
  });
});
