// (e) The brokers' own Java producer benchmarks, run as separate JVMs:
//   RocketMQ protocol (Bolide, Apache RocketMQ): RocketMqBenchProducer.java, the producer loop of
//     rocketmq-example 4.9.8's benchmark Producer (DefaultMQProducer, 64 threads, sync sends);
//   Kafka: org.apache.kafka.tools.ProducerPerformance (kafka-producer-perf-test), acks=all.
import { join } from "node:path";
import { lastLine, mavenClasspath, run } from "../lib/proc.ts";
import { javaProducer } from "./definitions.ts";

export interface JavaProducerResult {
  tps: number;
  avgRtMs: number;
}

export async function rocketmqJavaProducer(namesrv: string, topic: string, bytes: number, seconds: number, workDir: string): Promise<JavaProducerResult> {
  const dir = join(import.meta.dir, "../java/rocketmq-client");
  const classpath = await mavenClasspath(dir);
  const result = await run(
    ["java", "-Xmx512m", "-Drocketmq.client.logUseSlf4j=false", `-Drocketmq.client.logRoot=${workDir}`, `-Duser.home=${workDir}`, "-cp", classpath,
      join(dir, "RocketMqBenchProducer.java"), namesrv, topic, String(javaProducer.threads), String(bytes), "false", String(seconds)],
    { timeoutMs: (seconds + 90) * 1000 },
  );
  const line = result.output.trim().split("\n").reverse().find((l) => l.startsWith("{"));
  if (result.code !== 0 || !line) throw new Error(`java benchmark: ${lastLine(result.output)}`);
  const parsed = JSON.parse(line) as { sendTps: number; avgRtMs: number };
  return { tps: parsed.sendTps, avgRtMs: parsed.avgRtMs };
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
  return { tps: Math.round(Number(match[2])), avgRtMs: Number(match[3]) };
}
