// Apache Kafka 4.1.1 in KRaft mode (one combined broker/controller node), org.apache.kafka:kafka_2.13
// from Maven Central (scripts/bench/java/kafka/pom.xml), java -cp.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { mavenClasspath, run, track, waitPort, which, lastLine, stopGracefully } from "../lib/proc.ts";
import type { Running, Target } from "./types.ts";

const pomDir = join(import.meta.dir, "../java/kafka");
const port = 19092;
const controllerPort = 19093;
export const kafkaHeap = "-Xms1g -Xmx1g";

export const kafkaTarget: Target = {
  id: "kafka",
  family: "kafka",
  broker: "Apache Kafka 4.1.1 KRaft (JDK 17, heap 1 GiB)",
  durability: "acks=all, 1 replica, default flush (page cache; no fsync per message)",
  client: "kafka",
  clientLabel: "kafkajs 2.2.4 (Bun), sends coalesced per event-loop turn",
  rocketmqProtocol: false,
  retention: { skip: "retention is per partition (retention.bytes / retention.ms), not by disk usage; not set up here" },
  async install() {
    if (!which("java")) return "java not installed";
    try {
      await mavenClasspath(pomDir);
      return null;
    } catch (error) {
      return String((error as Error).message);
    }
  },
  async start(dataDir): Promise<Running> {
    const classpath = await mavenClasspath(pomDir);
    const config = join(dataDir, "server.properties");
    writeFileSync(
      config,
      [
        "process.roles=broker,controller", "node.id=1", `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
        `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`, `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
        "controller.listener.names=CONTROLLER", "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        `log.dirs=${join(dataDir, "logs")}`, "num.partitions=8", "offsets.topic.replication.factor=1", "offsets.topic.num.partitions=1",
        "transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1", "group.initial.rebalance.delay.ms=0",
        "auto.create.topics.enable=false", "",
      ].join("\n"),
    );
    const java = ["java", ...kafkaHeap.split(" "), `-Dkafka.logs.dir=${join(dataDir, "applogs")}`, "-cp", classpath];
    const formatted = await run([...java, "kafka.tools.StorageTool", "format", "-t", "bolidebenchAAAAAAAAAA", "-c", config], { timeoutMs: 120_000 });
    if (formatted.code !== 0) throw new Error(`kafka-storage format: ${lastLine(formatted.output)}`);
    const child = track(Bun.spawn([...java, "kafka.Kafka", config], { stdout: Bun.file(join(dataDir, "kafka.out")), stderr: Bun.file(join(dataDir, "kafka.err")), stdin: "ignore" }));
    await waitPort(port, 120_000, () => child.exitCode === null);
    return {
      endpoint: `127.0.0.1:${port}`,
      pids: () => [child.pid],
      async stop() {
        await stopGracefully(child, 20_000);
      },
    };
  },
};
