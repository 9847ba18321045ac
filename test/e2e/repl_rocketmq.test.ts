// HA wire compatibility with Apache RocketMQ 4.9.7 (the broker jars scripts/peer resolves from
// Maven): an Apache RocketMQ slave replicating from a Bolide master, and a Bolide slave
// replicating from an Apache RocketMQ master, both registered with a Bolide name server, 1 MiB
// commit-log files on both sides. The slave's commit log must equal the master's byte for byte,
// and (RocketMQ slave case) a consumer reads everything from the slave once the master is gone.
// Skipped (with a message) when java or the RocketMQ classpath is unavailable.
//
//   npm run -s build && ./node_modules/.bin/bun test test/e2e/repl_rocketmq.test.ts
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { Producer, PushConsumer } from "../../src/client/index.ts";
import { canConnect, cleanupAll, freePortWithNeighbours, peerAvailable, peerScriptPath, runCommand, tempDir, uniqueName, waitUntil } from "./helpers.ts";
import { closeReplClient, commitLogMaxOffset, compareCommitLogs, startNamesrv, startReplBroker } from "./repl_helpers.ts";

const javaProcesses: Subprocess[] = [];
afterAll(() => {
  for (const proc of javaProcesses) proc.kill("SIGKILL");
  closeReplClient();
  cleanupAll();
});

let classpath: string | null | undefined;
async function rocketMqClasspath(): Promise<string | null> {
  if (classpath !== undefined) return classpath;
  classpath = null;
  if (Bun.which("java") === null || !peerAvailable()) return null;
  const result = await runCommand(["bash", peerScriptPath, "classpath"], 180_000);
  if (result.code === 0 && result.stdout.includes("rocketmq-broker")) classpath = result.stdout.trim();
  return classpath;
}

interface JavaBroker {
  brokerAddr: string;
  dataDir: string;
  kill(): Promise<void>;
  log(): string;
}

/** An Apache RocketMQ broker (BrokerStartup) with its own broker.conf; data and logs in a temp dir. */
async function startRocketMqBroker(cp: string, options: { namesrvAddr: string; brokerName: string; role: "ASYNC_MASTER" | "SLAVE" }): Promise<JavaBroker> {
  const dir = tempDir("rocketmq-repl-");
  const home = join(dir, "home");
  mkdirSync(join(home, "conf"), { recursive: true });
  mkdirSync(join(dir, "store", "commitlog"), { recursive: true });
  const port = await freePortWithNeighbours();
  writeFileSync(join(home, "conf", "logback_broker.xml"), `<?xml version="1.0" encoding="UTF-8"?>
<configuration><appender name="FILE" class="ch.qos.logback.core.FileAppender"><file>${home}/logs/broker.log</file>
<encoder><pattern>%d %p %t - %m%n</pattern></encoder></appender><root level="INFO"><appender-ref ref="FILE"/></root></configuration>
`);
  const conf = join(home, "conf", "broker.conf");
  writeFileSync(conf, [
    "brokerClusterName=DefaultCluster", `brokerName=${options.brokerName}`, `brokerId=${options.role === "SLAVE" ? 1 : 0}`,
    "brokerIP1=127.0.0.1", "brokerIP2=127.0.0.1", `namesrvAddr=${options.namesrvAddr}`, `listenPort=${port}`,
    `storePathRootDir=${dir}/store`, `storePathCommitLog=${dir}/store/commitlog`, "autoCreateTopicEnable=true",
    `brokerRole=${options.role}`, "flushDiskType=ASYNC_FLUSH", "mappedFileSizeCommitLog=1048576", "diskMaxUsedSpaceRatio=95", "",
  ].join("\n"));
  const opens = ["java.nio", "sun.nio.ch", "java.lang", "jdk.internal.ref", "java.util"].map((pkg) => `--add-opens=java.base/${pkg}=ALL-UNNAMED`);
  const outPath = join(dir, "broker.out");
  const proc = Bun.spawn(
    ["java", "-Xms128m", "-Xmx256m", "-XX:MaxDirectMemorySize=256m", ...opens, `-Duser.home=${home}`, `-Drocketmq.home.dir=${home}`,
      `-Djava.io.tmpdir=${dir}`, "-cp", cp, "org.apache.rocketmq.broker.BrokerStartup", "-c", conf],
    { env: { ...process.env, ROCKETMQ_HOME: home }, stdin: "ignore", stdout: Bun.file(outPath), stderr: Bun.file(join(dir, "broker.err")) },
  );
  javaProcesses.push(proc);
  const log = (): string => {
    const read = (path: string): string => { try { return readFileSync(path, "utf8"); } catch { return ""; } };
    return `${read(outPath)}\n${read(join(dir, "broker.err"))}\n${read(join(home, "logs", "broker.log")).slice(-8000)}`;
  };
  await waitUntil(`RocketMQ broker ${options.brokerName} ${options.role} to boot\n${log()}`, async () => {
    if (proc.exitCode !== null) throw new Error(`RocketMQ broker exited: ${log()}`);
    return (await canConnect(port)) && log().includes("boot success");
  }, 90_000);
  return {
    brokerAddr: `127.0.0.1:${port}`,
    dataDir: join(dir, "store"),
    async kill() {
      proc.kill("SIGKILL");
      await proc.exited;
    },
    log,
  };
}

async function sendMany(producer: Producer, topic: string, count: number): Promise<void> {
  const padding = "r".repeat(500);
  for (let i = 0; i < count; i += 32) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + 32); j++) batch.push(producer.send({ topic, body: `${j}-${padding}`, keys: [`key-${j}`] }));
    for (const result of await Promise.all(batch)) expect(result.sendStatus).toBe("SEND_OK");
  }
}

async function waitSame(masterAddr: string, slaveAddr: string): Promise<number> {
  let end = -1;
  await waitUntil(`slave ${slaveAddr} to catch up with master ${masterAddr}`, async () => {
    const [m, s] = await Promise.all([commitLogMaxOffset(masterAddr), commitLogMaxOffset(slaveAddr)]);
    end = s;
    return m === s && s > 0;
  }, 30_000);
  return end;
}

test("an Apache RocketMQ 4.9.7 slave replicates a Bolide master byte for byte and serves reads when the master is gone", async () => {
  const cp = await rocketMqClasspath();
  if (cp === null) {
    console.log("repl_rocketmq: skipped (no java or no RocketMQ classpath from scripts/peer)");
    return;
  }
  const namesrv = await startNamesrv();
  const master = await startReplBroker({ namesrvAddr: namesrv.namesrvAddr, brokerName: "broker-x", role: "ASYNC_MASTER" });
  const slave = await startRocketMqBroker(cp, { namesrvAddr: namesrv.namesrvAddr, brokerName: "broker-x", role: "SLAVE" });
  const topic = uniqueName("ToJavaSlave");
  await sendAndCompare(namesrv.namesrvAddr, topic, master, slave, () => slave.log());
  // The slave took the topic from our master (GET_ALL_TOPIC_CONFIG, every 10 s in RocketMQ 4.x):
  // once it has, a consumer reads everything from it with the master gone.
  await waitUntil("the RocketMQ slave to sync topics", () => readFileSafe(join(slave.dataDir, "config", "topics.json")).includes(topic), 20_000);
  await master.kill();
  await consumeAllFromSlave(namesrv.namesrvAddr, topic, 3000, "the RocketMQ slave");
}, 180_000);

/** 3,000 sends through the name server, then the slave's commit log equals the master's byte for byte. */
async function sendAndCompare(
  namesrvAddr: string,
  topic: string,
  master: { brokerAddr: string; dataDir: string },
  slave: { brokerAddr: string; dataDir: string },
  slaveLog: () => string,
): Promise<void> {
  const producer = new Producer({ namesrvAddr, producerGroup: uniqueName("PG") });
  await producer.start();
  try {
    await sendMany(producer, topic, 3000);
    const end = await waitSame(master.brokerAddr, slave.brokerAddr);
    expect(end).toBeGreaterThan(1.5 * 1024 * 1024); // past a file boundary
    expect(compareCommitLogs(master.dataDir, slave.dataDir, end)).toBe(end);
  } catch (error) {
    console.log(slaveLog());
    throw error;
  } finally {
    await producer.shutdown();
  }
}

/** A new consumer group reads `count` distinct messages of `topic` (the master is gone: from its slave). */
async function consumeAllFromSlave(namesrvAddr: string, topic: string, count: number, from: string): Promise<void> {
  const got = new Set<string>();
  const consumer = new PushConsumer({ namesrvAddr, consumerGroup: uniqueName("CG"), consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET" });
  consumer.subscribe(topic, "*");
  consumer.onMessage((message) => {
    got.add(new TextDecoder().decode(message.body).split("-")[0]!);
  });
  await consumer.start();
  try {
    await waitUntil(`${count} messages from ${from} (have ${got.size})`, () => got.size >= count, 30_000);
  } finally {
    await consumer.shutdown();
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

test("a Bolide slave replicates an Apache RocketMQ 4.9.7 master byte for byte", async () => {
  const cp = await rocketMqClasspath();
  if (cp === null) {
    console.log("repl_rocketmq: skipped (no java or no RocketMQ classpath from scripts/peer)");
    return;
  }
  const namesrv = await startNamesrv();
  const master = await startRocketMqBroker(cp, { namesrvAddr: namesrv.namesrvAddr, brokerName: "broker-y", role: "ASYNC_MASTER" });
  const slave = await startReplBroker({ namesrvAddr: namesrv.namesrvAddr, brokerName: "broker-y", role: "SLAVE" });
  const topic = uniqueName("FromJavaMaster");
  await sendAndCompare(namesrv.namesrvAddr, topic, master, slave, () => slave.logs());
  await master.kill();
  await consumeAllFromSlave(namesrv.namesrvAddr, topic, 3000, "the Bolide slave");
}, 180_000);
