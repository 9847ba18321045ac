// Connection and request limits against the compiled binary: each limit, when hit, answers its
// documented error or closes the connection with a log line, and the broker keeps serving others.
//
//   maxConnections / maxConnectionsPerAddress   the socket is closed at accept   connection.refused
//   maxInFlightRequestsPerConnection            SYSTEM_BUSY (2), [REJECTREQUEST] connection.busy
//   maxHeldPulls                                SYSTEM_BUSY (2)                  pull.hold_refused
//   channelIdleTimeoutSeconds                   closed                           connection.idle_closed
//   partialFrameTimeoutMs                       closed                           connection.partial_frame_timeout
//   connectionSendBytesMax (slow reader)        reading pauses; RSS stays bounded
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { connect, type Socket as NetSocket } from "node:net";
import { encodeFrame } from "../../src/net/frame.ts";
import { newRequest, type RemotingCommand } from "../../src/net/remoting_command.ts";
import { RequestCode } from "../../src/net/request_code.ts";
import { ResponseCode } from "../../src/net/response_code.ts";
import { RemotingClient } from "../../src/net/tcp_client.ts";
import { cleanupAll, sleep, startBinary, uniqueName, waitUntil, type Broker } from "./helpers.ts";

/** Each test waits on several timers of the broker (up to ~15 s in all on a busy machine). */
const testTimeoutMs = 60_000;

afterAll(cleanupAll);

function sendRequest(topic: string, body: Uint8Array): RemotingCommand {
  return newRequest(
    RequestCode.SEND_MESSAGE_V2,
    { a: "PG", b: topic, c: "TBW102", d: "4", e: "0", f: "0", g: String(Date.now()), h: "0", i: "", j: "0", k: "false" },
    body,
  );
}

function pullRequest(topic: string, queueOffset: number, suspendMs: number): RemotingCommand {
  return newRequest(RequestCode.PULL_MESSAGE, {
    consumerGroup: "LimitsGroup",
    topic,
    queueId: "0",
    queueOffset: String(queueOffset),
    maxMsgNums: "32",
    sysFlag: String(2 /* SUSPEND */),
    commitOffset: "0",
    suspendTimeoutMillis: String(suspendMs),
    subscription: "*",
    subVersion: "0",
    expressionType: "TAG",
  });
}

async function stillServing(broker: Broker): Promise<void> {
  const client = new RemotingClient();
  try {
    const response = await client.invoke(broker.brokerAddr, sendRequest(uniqueName("Alive"), new TextEncoder().encode("alive")), 5000);
    expect(response.code).toBe(ResponseCode.SUCCESS);
  } finally {
    client.close();
  }
}

/** A raw TCP socket from `localAddress`; resolves once connected, and records when it closes. */
function rawSocket(port: number, localAddress = "127.0.0.1"): Promise<{ socket: NetSocket; closed: () => boolean; closedAt: () => number }> {
  return new Promise((resolve) => {
    let closedAtMs = 0;
    const socket = connect({ host: "127.0.0.1", port, localAddress });
    socket.on("close", () => {
      closedAtMs = Date.now();
    });
    socket.on("error", () => {});
    const handle = { socket, closed: () => closedAtMs > 0, closedAt: () => closedAtMs };
    socket.once("connect", () => resolve(handle));
    // A socket closed at accept may fail its connect with ECONNRESET: that is "closed" too.
    socket.once("error", () => {
      closedAtMs ||= Date.now();
      resolve(handle);
    });
  });
}

/** Open client connections of the broker port, from /metrics. */
async function brokerConnections(broker: Broker): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${broker.httpPort}/metrics`)).text();
  const match = /^bolide_connections\{role="broker"\} (\d+)/m.exec(text);
  return match ? Number(match[1]) : -1;
}

/** The kernel's view of a port, for failure messages: its listen queue (Recv-Q: connections not accepted yet) and its sockets. */
function kernelSockets(port: number): string {
  const ss = (args: string[]): string => {
    try {
      return Bun.spawnSync(["ss", ...args]).stdout.toString().trim();
    } catch {
      return "(ss, of iproute2, is not installed)";
    }
  };
  return `${ss(["-ltn", `sport = :${port}`])}\n${ss(["-tan", `( sport = :${port} or dport = :${port} )`])}`;
}

function logLines(broker: Broker, event: string): string[] {
  return broker.logs().split("\n").filter((line) => line.includes(`"event":"${event}"`));
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

describe("connection limits", () => {
  let broker: Broker;
  const sockets: NetSocket[] = [];
  beforeAll(async () => {
    broker = await startBinary({ extraArgs: ["--max-connections", "8", "--max-connections-per-address", "4"] });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    expect(await broker.stop()).toBe(0);
  });

  test("per address, then in all: the next socket is closed at accept with a log line; others are served", async () => {
    const open = async (from: string): Promise<{ closed: () => boolean }> => {
      const raw = await rawSocket(broker.brokerPort, from);
      sockets.push(raw.socket);
      return raw;
    };
    // startBinary's readiness probe (connect, close at once) counts against the limits until the
    // broker has seen it close, a few ms later: sometimes after the first connects below, which
    // then found one place fewer (7 of 8 held in CI). Start from none.
    await waitUntil("the broker to hold no connection", async () => (await brokerConnections(broker)) === 0, 5000);
    const firstFour: { closed: () => boolean }[] = [];
    for (let i = 0; i < 4; i++) firstFour.push(await open("127.0.0.1"));
    const fifth = await open("127.0.0.1");
    await waitUntil("the 5th socket from 127.0.0.1 to be closed", () => fifth.closed(), 3000);
    expect(firstFour.every((raw) => !raw.closed())).toBe(true);
    expect(logLines(broker, "connection.refused").some((line) => line.includes("maxConnectionsPerAddress"))).toBe(true);
    // Another address is still welcome, up to 8 in all.
    const others: { closed: () => boolean }[] = [];
    for (let i = 0; i < 4; i++) others.push(await open("127.0.0.2"));
    await sleep(300);
    expect(others.every((raw) => !raw.closed())).toBe(true);
    // The broker accepts on its own schedule: wait until it holds all 8 before the 9th comes.
    await waitUntil("the broker to hold 8 connections", async () => (await brokerConnections(broker)) === 8, 5000).catch(async (error: Error) => {
      throw new Error(`${error.message} (it holds ${await brokerConnections(broker)})\n${kernelSockets(broker.brokerPort)}`);
    });
    await sleep(1100); // one line per second per kind
    const ninth = await open("127.0.0.3");
    await waitUntil("the 9th socket to be closed", () => ninth.closed(), 5000).catch(async (error: Error) => {
      throw new Error(`${error.message} (broker holds ${await brokerConnections(broker)})\n${logLines(broker, "connection.refused").join("\n")}\n${kernelSockets(broker.brokerPort)}`);
    });
    await waitUntil("the maxConnections log line", () => logLines(broker, "connection.refused").some((line) => line.includes('"reason":"maxConnections"')), 3000);
    // Make room: the broker serves a new client.
    for (const socket of sockets.splice(0)) socket.destroy();
    await sleep(200);
    await stillServing(broker);
  }, testTimeoutMs);
});

describe("request and time limits", () => {
  let broker: Broker;
  let topic: string;
  const client = new RemotingClient();
  beforeAll(async () => {
    broker = await startBinary({
      extraArgs: [
        "--max-in-flight-requests", "8",
        "--max-held-pulls", "12",
        "--channel-idle-timeout-seconds", "2",
        "--partial-frame-timeout-ms", "1000",
        "--connection-send-bytes-max", "256k",
      ],
    });
    topic = uniqueName("Limits");
    expect((await client.invoke(broker.brokerAddr, sendRequest(topic, new TextEncoder().encode("first")), 5000)).code).toBe(ResponseCode.SUCCESS);
  });
  afterAll(async () => {
    client.close();
    expect(await broker.stop()).toBe(0);
  });

  test("more requests in flight on one connection than allowed: SYSTEM_BUSY at once, the first ones still answered", async () => {
    const own = new RemotingClient();
    try {
      const started = Date.now();
      const pulls = Array.from({ length: 10 }, () => own.invoke(broker.brokerAddr, pullRequest(topic, 1, 1500), 10_000));
      const answers = await Promise.all(pulls);
      const busy = answers.filter((answer) => answer.code === ResponseCode.SYSTEM_BUSY);
      expect(busy.length).toBe(2);
      expect(busy[0]!.remark).toContain("[REJECTREQUEST]");
      expect(answers.filter((answer) => answer.code === ResponseCode.PULL_NOT_FOUND).length).toBe(8);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000); // the 8 were held, not refused
      expect(logLines(broker, "connection.busy").length).toBeGreaterThanOrEqual(1);
      await stillServing(broker);
    } finally {
      own.close();
    }
  }, testTimeoutMs);

  test("more pulls held than allowed: SYSTEM_BUSY (the client retries later), held ones still answered", async () => {
    const clients = [new RemotingClient(), new RemotingClient()];
    try {
      const pulls = clients.flatMap((own) => Array.from({ length: 7 }, () => own.invoke(broker.brokerAddr, pullRequest(topic, 1, 1500), 10_000)));
      const answers = await Promise.all(pulls);
      const busy = answers.filter((answer) => answer.code === ResponseCode.SYSTEM_BUSY);
      expect(busy.length).toBe(2);
      expect(busy[0]!.remark).toContain("pulls held");
      expect(answers.filter((answer) => answer.code === ResponseCode.PULL_NOT_FOUND).length).toBe(12);
      expect(logLines(broker, "pull.hold_refused").length).toBeGreaterThanOrEqual(1);
      await stillServing(broker);
    } finally {
      for (const own of clients) own.close();
    }
  }, testTimeoutMs);

  test("an idle connection is closed after channelIdleTimeoutSeconds; a talking one is not", async () => {
    const idle = await rawSocket(broker.brokerPort);
    const opened = Date.now();
    const talker = new RemotingClient();
    const talking = setInterval(() => {
      void talker.invoke(broker.brokerAddr, newRequest(RequestCode.GET_BROKER_CLUSTER_INFO, {}), 2000).catch(() => undefined);
    }, 400);
    try {
      await waitUntil("the idle socket to be closed", () => idle.closed(), 6000);
      const afterMs = idle.closedAt() - opened;
      expect(afterMs).toBeGreaterThanOrEqual(1900);
      expect(afterMs).toBeLessThan(4500);
      expect(logLines(broker, "connection.idle_closed").length).toBeGreaterThanOrEqual(1);
      const connection = await talker.connection(broker.brokerAddr);
      expect(connection.closed).toBe(false);
    } finally {
      clearInterval(talking);
      talker.close();
      idle.socket.destroy();
    }
    await stillServing(broker);
  }, testTimeoutMs);

  test("a sender that never finishes a frame is dropped after partialFrameTimeoutMs", async () => {
    const slow = await rawSocket(broker.brokerPort);
    const frame = encodeFrame(sendRequest(topic, new Uint8Array(1000)));
    slow.socket.write(frame.subarray(0, 20));
    const started = Date.now();
    let at = 20;
    const trickle = setInterval(() => {
      if (at < frame.length - 1 && !slow.closed()) slow.socket.write(frame.subarray(at, ++at)); // one byte at a time: never idle
    }, 200);
    try {
      await waitUntil("the slow sender to be dropped", () => slow.closed(), 5000);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(logLines(broker, "connection.partial_frame_timeout").length).toBe(1);
    } finally {
      clearInterval(trickle);
      slow.socket.destroy();
    }
    await stillServing(broker);
  }, testTimeoutMs);

  test("a peer that asks and never reads: reading from it pauses, memory stays bounded, others are served", async () => {
    // 256 KiB of messages in queue 0 (each pull of them answers ~256 KiB).
    const bigTopic = uniqueName("Big");
    const body = new Uint8Array(64 * 1024).fill(0x61);
    for (let i = 0; i < 8; i++) expect((await client.invoke(broker.brokerAddr, sendRequest(bigTopic, body), 5000)).code).toBe(ResponseCode.SUCCESS);
    const before = rssBytes(broker.pid);
    // 1,000 pulls (~250 MB of answers if buffered) written at once by a peer that never reads.
    const wire: Uint8Array[] = [];
    for (let i = 0; i < 1000; i++) {
      const pull = pullRequest(bigTopic, 0, 0);
      pull.extFields["sysFlag"] = "0";
      wire.push(encodeFrame(pull));
    }
    const all = Buffer.concat(wire);
    const reader = await rawSocket(broker.brokerPort);
    reader.socket.pause(); // never read
    reader.socket.write(all);
    await sleep(1500);
    const during = rssBytes(broker.pid);
    await stillServing(broker);
    const growth = during - before;
    console.log(`slow reader: broker RSS ${Math.round(before / 1048576)} MiB before, ${Math.round(during / 1048576)} MiB while 1,000 unread pulls (~250 MB of answers) wait`);
    expect(growth).toBeLessThan(64 * 1024 * 1024);
    // It stops being served and, with nothing moving, is closed as idle.
    await waitUntil("the slow reader to be closed as idle", () => reader.closed(), 8000);
    reader.socket.destroy();
  }, testTimeoutMs);
});
