// (e) The brokers' own Java benchmark tools, run as separate JVMs:
//   RocketMQ protocol (Bolide, Apache RocketMQ): RocketMqBenchProducer.java, the producer loop of
//     rocketmq-example 4.9.8's benchmark Producer (DefaultMQProducer, 64 threads, sync sends), then
//     RocketMqBenchConsumer.java, its benchmark Consumer (DefaultMQPushConsumer with the client's
//     defaults) reading back what the producer wrote;
//   Kafka: org.apache.kafka.tools.ProducerPerformance (kafka-producer-perf-test), acks=all.
import { join } from "node:path";
import { lastLine, mavenClasspath, run } from "../lib/proc.ts";
import { javaProducer } from "./definitions.ts";

export interface JavaProducerResult {
  tps: number;
  avgRtMs: number;
  /** Messages acknowledged: what the consumer tool then reads back. */
  sent: number;
}

export interface JavaConsumerResult {
  tps: number;
  received: number;
}

const rocketmqClientDir = join(import.meta.dir, "../java/rocketmq-client");

/** Runs one of the RocketMQ client programs beside this file (Java source launch) and returns its JSON line. */
async function runRocketmqTool<T>(program: string, args: string[], workDir: string, timeoutMs: number): Promise<T> {
  const classpath = await mavenClasspath(rocketmqClientDir);
  const result = await run(
    ["java", "-Xmx512m", "-Drocketmq.client.logUseSlf4j=false", `-Drocketmq.client.logRoot=${workDir}`, `-Duser.home=${workDir}`, "-cp", classpath,
      join(rocketmqClientDir, program), ...args],
    { timeoutMs },
  );
  const line = result.output.trim().split("\n").reverse().find((l) => l.startsWith("{"));
  if (result.code !== 0 || !line) throw new Error(`${program}: ${lastLine(result.output)}`);
  return JSON.parse(line) as T;
}

export async function rocketmqJavaProducer(namesrv: string, topic: string, bytes: number, seconds: number, workDir: string): Promise<JavaProducerResult> {
  const parsed = await runRocketmqTool<{ sendTps: number; avgRtMs: number; ok: number }>(
    "RocketMqBenchProducer.java", [namesrv, topic, String(javaProducer.threads), String(bytes), "false", String(seconds)], workDir, (seconds + 90) * 1000,
  );
  return { tps: parsed.sendTps, avgRtMs: parsed.avgRtMs, sent: parsed.ok };
}

/** Reads `expected` messages of `topic` from its first offset, in a new consumer group. */
export async function rocketmqJavaConsumer(namesrv: string, topic: string, expected: number, timeoutSeconds: number, workDir: string): Promise<JavaConsumerResult> {
  const parsed = await runRocketmqTool<{ consumeTps: number; received: number }>(
    "RocketMqBenchConsumer.java", [namesrv, topic, String(expected), String(timeoutSeconds)], workDir, (timeoutSeconds + 60) * 1000,
  );
  return { tps: parsed.consumeTps, received: parsed.received };
}

/** kafka-producer-perf-test has no duration option: it sends `seconds` × 20,000 records as fast as it can. */
export async function kafkaProducerPerformance(bootstrap: string, topic: string, bytes: number, seconds: number): Promise<JavaProducerResult> {
  const classpath = await mavenClasspath(join(import.meta.dir, "../java/kafka"));
  const records = seconds * 20_000;
  const result = await run(
    ["java", "-Xmx512m", "-cp", classpath, "org.apache.kafka.tools.ProducerPerformance", "--topic", topic, "--num-records", String(records),
      "--record-size", String(bytes), "--throughput", "-1", "--producer-props", `bootstrap.servers=${bootstrap}`, "acks=all"],
    { timeoutMs: (seconds * 10 + 120) * 1000 },
  );
  // "200000 records sent, 51234.5 records/sec (50.03 MB/sec), 512.34 ms avg latency, ..."
  const match = /(\d+) records sent, ([\d.]+) records\/sec \([\d.]+ MB\/sec\), ([\d.]+) ms avg latency/.exec(result.output.split("\n").filter((l) => l.includes("records sent")).pop() ?? "");
  if (result.code !== 0 || !match) throw new Error(`ProducerPerformance: ${lastLine(result.output)}`);
  return { tps: Math.round(Number(match[2])), avgRtMs: Number(match[3]), sent: Number(match[1]) };
}
