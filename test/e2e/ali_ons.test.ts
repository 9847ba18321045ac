// End-to-end: the ali-ons 3.12.0 Node client against the compiled broker binary (dist/bolide).
//
// Each scenario runs test/e2e/clients/ali_ons.cjs under `node` with fresh topic and group names,
// and checks the JSON summary it prints. Run with:
//   npm run -s build && ./node_modules/.bin/bun test test/e2e/ali_ons.test.ts
// To check the tests themselves against real Apache RocketMQ (scripts/peer/rocketmq.sh):
//   E2E_TARGET=rocketmq ./node_modules/.bin/bun test test/e2e/ali_ons.test.ts
// Set ONS_LOG=info to get ali-ons' own log lines in failure messages.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  aliOnsScript,
  type Broker,
  cleanupAll,
  lastJson,
  prepareTopic,
  runNode,
  startTarget,
  target,
  uniqueName,
} from "./helpers.ts";

const testTimeoutMs = 120_000;

afterAll(cleanupAll); // after every describe's own afterAll: kills leftovers, removes temp dirs

interface ConsumerReport {
  name: string;
  received: number;
  deliveries: number;
  duplicates: number;
  unexpectedCount: number;
  unexpected: unknown[];
  missingSample: number[];
  allReceivedMs: number | null;
}

interface Summary {
  ok: boolean;
  reason: string;
  sent?: number;
  msgIds?: string[];
  queues?: Record<string, number>;
  received?: number;
  duplicates?: number;
  unexpectedCount?: number;
  consumers?: ConsumerReport[];
  union?: ConsumerReport;
  timings?: Record<string, number | null>;
  errors?: string[];
  ms: number;
}

/** Runs one ali_ons.cjs command; throws with the client's output and the broker's log on failure. */
async function ons(broker: Broker, args: string[], timeoutMs: number): Promise<Summary> {
  const [mode, ...rest] = args;
  const result = await runNode(aliOnsScript, [mode ?? "", broker.namesrvAddr, ...rest, "--timeout", String(timeoutMs)], timeoutMs + 20_000);
  const summary = lastJson<Summary>(result.stdout);
  const brief = summary === null ? null : { ...summary, msgIds: summary.msgIds ? `${summary.msgIds.length} ids` : undefined };
  console.log(`ali_ons ${args.join(" ")} → exit ${result.code} in ${result.ms} ms` +
    (summary ? `: ${summary.reason}; timings ${JSON.stringify(summary.timings ?? {})}` : "") +
    (summary?.errors?.length ? `; ${summary.errors.length} client errors, first: ${summary.errors[0]}` : ""));
  if (result.code !== 0 || summary === null || !summary.ok) {
    throw new Error(
      `ali_ons ${args.join(" ")} failed: exit ${result.code}${result.timedOut ? " (killed at timeout)" : ""}\n` +
        `summary: ${JSON.stringify(brief, null, 1)}\n` +
        `client stderr (tail):\n${result.stderr.slice(-6000)}\n` +
        `broker log (tail):\n${broker.logs().slice(-6000)}`,
    );
  }
  return summary;
}

function expectAllDistinct(ids: string[] | undefined, count: number): void {
  expect(ids).toBeDefined();
  expect(ids!.length).toBe(count);
  expect(new Set(ids).size).toBe(count);
}

describe(`ali-ons against ${target}`, () => {
  let broker: Broker;

  beforeAll(async () => {
    broker = await startTarget();
  }, testTimeoutMs);

  afterAll(async () => {
    if (broker) await broker.stop();
  }, 60_000);

  test("(a) 2,000 sync sends, then one new group consumes every message", async () => {
    const topic = uniqueName("ons_a");
    await prepareTopic(broker, topic);
    const produced = await ons(broker, ["produce", topic, "2000"], 90_000);
    expect(produced.sent).toBe(2000);
    expectAllDistinct(produced.msgIds, 2000);
    // Round-robin over the topic's queues: every queue got some.
    expect(Object.keys(produced.queues ?? {}).length).toBeGreaterThan(1);

    const consumed = await ons(broker, ["consume", topic, uniqueName("GID_a"), "2000"], 60_000);
    expect(consumed.received).toBe(2000);
    expect(consumed.unexpectedCount).toBe(0);
    expect(consumed.duplicates).toBe(0); // one consumer, no rebalance: nothing is delivered twice
  }, testTimeoutMs);

  test("(b) pub/sub: two consumer groups each receive every message", async () => {
    const topic = uniqueName("ons_b");
    await prepareTopic(broker, topic);
    const s = await ons(broker, ["scenario", "pubsub", topic, uniqueName("GID_b"), "1000"], 90_000);
    expect(s.consumers?.length).toBe(2);
    for (const c of s.consumers ?? []) {
      expect(c.received).toBe(1000);
      expect(c.unexpectedCount).toBe(0);
    }
  }, testTimeoutMs);

  test("(c) clustering: two consumers of one group share the queues and together receive everything", async () => {
    const topic = uniqueName("ons_c");
    await prepareTopic(broker, topic);
    const s = await ons(broker, ["scenario", "cluster", topic, uniqueName("GID_c"), "1000"], 90_000);
    expect(s.union?.received).toBe(1000);
    const [c1, c2] = s.consumers ?? [];
    expect(c1!.received).toBeGreaterThan(0);
    expect(c2!.received).toBeGreaterThan(0);
    // At-least-once allows duplicates while a rebalance moves queues; report them, don't fail.
    const overlap = c1!.received + c2!.received - 1000;
    console.log(`clustering split: ${c1!.received} + ${c2!.received}, overlap ${overlap}, ` +
      `in-consumer duplicates ${c1!.duplicates + c2!.duplicates}`);
  }, testTimeoutMs);

  test("(d) broadcasting: two consumers of one group each receive every message", async () => {
    const topic = uniqueName("ons_d");
    await prepareTopic(broker, topic);
    const s = await ons(broker, ["scenario", "broadcast", topic, uniqueName("GID_d"), "1000"], 90_000);
    expect(s.consumers?.length).toBe(2);
    for (const c of s.consumers ?? []) {
      expect(c.received).toBe(1000);
      expect(c.unexpectedCount).toBe(0);
    }
  }, testTimeoutMs);
});

describe(`ali-ons across a ${target} restart`, () => {
  let broker: Broker;

  afterAll(async () => {
    if (broker) await broker.stop();
  }, 60_000);

  test("messages and committed offsets survive SIGTERM and restart", async () => {
    broker = await startTarget();
    const topic = uniqueName("ons_r");
    const group = uniqueName("GID_r");
    await prepareTopic(broker, topic);

    // Before: 500 messages, consumed by group G, which closes cleanly (close() persists offsets).
    const first = await ons(broker, ["produce", topic, "500"], 60_000);
    expect(first.sent).toBe(500);
    const consumed = await ons(broker, ["consume", topic, group, "500"], 60_000);
    expect(consumed.received).toBe(500);

    // SIGTERM: a clean shutdown, exit code 0; then start again on the same data dir and ports.
    const stopStarted = Date.now();
    const code = await broker.stop();
    const startStarted = Date.now();
    expect(code).toBe(0);
    await broker.start();
    console.log(`stop (SIGTERM) took ${startStarted - stopStarted} ms, start took ${Date.now() - startStarted} ms`);

    // After: 500 more; G resumes from its committed offsets and sees exactly the new ones.
    const second = await ons(broker, ["produce", topic, "500", "--from", "500"], 60_000);
    expect(second.sent).toBe(500);
    const resumed = await ons(broker, ["consume", topic, group, "500", "--from", "500"], 60_000);
    expect(resumed.received).toBe(500);
    expect(resumed.unexpectedCount).toBe(0); // nothing from before the restart was redelivered

    // A new group still sees all 1,000: the messages written before the restart were kept.
    const all = await ons(broker, ["consume", topic, uniqueName("GID_r2"), "1000"], 60_000);
    expect(all.received).toBe(1000);
  }, testTimeoutMs);
});
