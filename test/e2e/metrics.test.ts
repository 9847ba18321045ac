// The operator's HTTP port: /metrics parses as Prometheus text and moves with traffic;
// /healthz and /readyz answer; a taken port is a clear start-up error.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
// @ts-expect-error: the package ships no type declarations; parse() returns metric families.
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { Producer, PushConsumer } from "../../src/client/index.ts";
import { binaryPath, cleanupAll, freePort, startBinary, tempDir, uniqueName, waitUntil, type Broker } from "./helpers.ts";

interface Family {
  name: string;
  type: string;
  metrics: Array<{ labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string }>;
}
const parse = parsePrometheusTextFormat as (text: string) => Family[];

let broker: Broker;
beforeAll(async () => {
  broker = await startBinary();
});
afterAll(async () => {
  await broker.stop();
  cleanupAll();
});

let lastText = "";
/** Scrapes /metrics and parses it with a Prometheus text-format parser (which throws on bad text). */
async function scrape(): Promise<Map<string, Family>> {
  const response = await fetch(`http://127.0.0.1:${broker.httpPort}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("text/plain");
  lastText = await response.text();
  return new Map(parse(lastText).map((family) => [family.name, family]));
}
function value(families: Map<string, Family>, name: string, labels: Record<string, string>): number {
  const metric = families.get(name)?.metrics.find((candidate) => Object.entries(labels).every(([key, wanted]) => candidate.labels?.[key] === wanted));
  return metric ? Number(metric.value ?? metric.count) : 0;
}

test("/metrics: per-topic counters and consumer lag move with traffic", async () => {
  const topic = uniqueName("MetricsT");
  const group = uniqueName("MetricsG");
  const before = await scrape();
  expect(value(before, "bolide_messages_in_total", { topic })).toBe(0);
  expect(before.get("process_resident_memory_bytes")).toBeDefined();

  const producer = new Producer({ namesrvAddr: broker.namesrvAddr, producerGroup: uniqueName("PG") });
  await producer.start();
  for (let i = 0; i < 50; i++) await producer.send({ topic, body: "x".repeat(100) });
  let seen = 0;
  const consumer = new PushConsumer({ namesrvAddr: broker.namesrvAddr, consumerGroup: group, consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET" });
  consumer.subscribe(topic);
  consumer.onMessage(() => void seen++);
  await consumer.start();
  await waitUntil("50 messages consumed", () => seen === 50, 15_000);
  await consumer.shutdown(); // commits offsets
  for (let i = 0; i < 20; i++) await producer.send({ topic, body: "y".repeat(100) });
  await producer.shutdown();

  const after = await scrape();
  expect(value(after, "bolide_messages_in_total", { topic })).toBe(70);
  expect(value(after, "bolide_bytes_in_total", { topic })).toBe(7000);
  expect(value(after, "bolide_messages_out_total", { topic })).toBeGreaterThanOrEqual(50);
  const lag = after.get("bolide_consumer_lag")!.metrics.filter((metric) => metric.labels?.["group"] === group && metric.labels?.["topic"] === topic);
  expect(lag.reduce((sum, metric) => sum + Number(metric.value), 0)).toBe(20);
  expect(after.get("bolide_request_duration_seconds")?.type).toBe("HISTOGRAM");
  // (The parser keeps histogram buckets but drops their labels: read the count from the text.)
  const sends = /^bolide_request_duration_seconds_count\{code="310"\} (\d+)$/m.exec(lastText);
  expect(Number(sends?.[1])).toBeGreaterThanOrEqual(70);
  expect(Number(after.get("bolide_store_bytes")?.metrics[0]?.value)).toBeGreaterThan(0);
  expect(after.get("bolide_store_fsyncs_total")?.type).toBe("COUNTER");
  expect(Number(after.get("bolide_store_fsyncs_total")?.metrics[0]?.value)).toBeGreaterThanOrEqual(0);
}, 60_000);

test("/healthz and /readyz answer; unknown paths are 404", async () => {
  const base = `http://127.0.0.1:${broker.httpPort}`;
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  expect((await fetch(`${base}/readyz`)).status).toBe(200);
  expect((await fetch(`${base}/nope`)).status).toBe(404);
});

test("an HTTP port already in use is a clear start-up error", async () => {
  const result = spawnSync(
    binaryPath,
    ["--data-dir", tempDir(), "--namesrv-port", String(await freePort()), "--broker-port", String(await freePort()), "--broker-ip", "127.0.0.1", "--listen-host", "127.0.0.1", "--http-port", String(broker.httpPort)],
    { encoding: "utf8", timeout: 10_000 },
  );
  expect(result.status).toBe(1);
  expect(result.stderr).toContain(`cannot listen on HTTP port 127.0.0.1:${broker.httpPort}`);
});
