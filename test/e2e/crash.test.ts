// End-to-end crash safety: the compiled broker under `--flush sync --commitlog-file-bytes 1m`,
// four producers sending concurrently, SIGKILLed at seeded random moments and restarted (one
// round in five stopped with SIGTERM instead). Every acknowledged message must be there after
// every restart, byte for byte and in send order per queue; the consumer group resumes.
// The loop itself is scripts/crash_loop.ts (run it standalone for 100+ rounds).
//
//   npm run -s build && ./node_modules/.bin/bun test test/e2e/crash.test.ts
//   CRASH_SEED=123 ./node_modules/.bin/bun test test/e2e/crash.test.ts     replays one seed
import { afterAll, expect, test } from "bun:test";
import { crashLoop } from "../../scripts/crash_loop.ts";
import { MQAdmin, Producer, type SendResult } from "../../src/client/index.ts";
import { cleanupAll, sleep, startBinary, uniqueName } from "./helpers.ts";

const decoder = new TextDecoder();

afterAll(cleanupAll);

const seed = Number(process.env.CRASH_SEED ?? 20261125);
const roundsMin = 20;

test(`kill -9 at random moments (seed ${seed}): no acknowledged message lost`, async () => {
  const lines: string[] = [];
  const report = await crashLoop({
    rounds: 30, seed, producers: 4, inflight: 8, killAfterMsMin: 50, killAfterMsMax: 900, budgetMs: 45_000,
    cleanStopEvery: 5, log: (line) => lines.push(line),
  });
  if (report.violations.length > 0) console.log(lines.join("\n"));
  expect(report.violations).toEqual([]);
  expect(report.rounds).toBeGreaterThanOrEqual(roundsMin);
  expect(report.kills).toBeGreaterThan(report.rounds / 2);
  expect(report.acked).toBeGreaterThan(1000);
  console.log(`crash test: seed ${seed}, ${report.rounds} rounds (${report.kills} SIGKILL, ${report.cleanStops} SIGTERM), ` +
    `${report.acked} acknowledged, ${report.unackedStored} stored unacknowledged, ${report.verifiedReads} records verified, ${report.queries} key queries, ` +
    `restart ms max ${Math.max(...report.restartMs)}`);
}, 90_000);

test("QUERY_MESSAGE by key and UNIQ_KEY, VIEW_MESSAGE_BY_ID, SEARCH_OFFSET: after a restart and after a kill -9", async () => {
  const broker = await startBinary({ extraArgs: ["--flush", "sync", "--log-level", "error"] });
  const topic = uniqueName("QueryTopic");
  const producer = new Producer({ namesrvAddr: broker.namesrvAddr, producerGroup: uniqueName("QPG") });
  await producer.start();
  const sent: SendResult[] = [];
  const beforeMs = Date.now() - 1000;
  try {
    for (let i = 0; i < 40; i++) sent.push(await producer.send({ topic, body: `q${i}`, keys: [`order-${i % 10}`, `k${i}`], tags: "T" }));
  } finally {
    await producer.shutdown();
  }
  const admin = new MQAdmin({ namesrvAddr: broker.namesrvAddr });
  const check = async (): Promise<void> => {
    // The broker registers with the name server just after it starts listening: wait for the route.
    for (let tries = 0; ; tries++) {
      const ok = await admin.queryMessage(topic, "k0", 1, 0, Date.now()).then(() => true, () => false);
      if (ok) break;
      if (tries > 100) throw new Error(`no route for ${topic} after a restart`);
      await sleep(50);
    }
    const byKey = await admin.queryMessage(topic, "order-3", 32, beforeMs, Date.now() + 1000);
    expect(byKey.map((message) => decoder.decode(message.body)).sort()).toEqual(["q13", "q23", "q3", "q33"]);
    expect(await admin.queryMessage(topic, "no-such-key", 32, 0, Date.now())).toEqual([]);
    const byUniq = await admin.queryMessageByUniqKey(topic, sent[17]!.msgId);
    expect(byUniq.map((message) => decoder.decode(message.body))).toEqual(["q17"]);
    const viewed = await admin.viewMessage(sent[25]!.offsetMsgId);
    expect(decoder.decode(viewed.body)).toBe("q25");
    expect(viewed.keys).toEqual(["order-5", "k25"]);
    const mq = sent[0]!.messageQueue;
    expect(await admin.searchOffset(mq, beforeMs)).toBe(0);
  };
  try {
    await admin.start();
    await check();
    await broker.restart(); // SIGTERM: clean shutdown, fast recovery
    await check();
    await broker.kill(); // SIGKILL: the abort marker stays; recovery re-dispatches from the checkpoint
    await broker.start();
    await check();
  } finally {
    await admin.shutdown();
    await broker.stop();
  }
}, 60_000);

test("a second broker on the same data dir refuses to start", async () => {
  const first = await startBinary({ extraArgs: ["--log-level", "error"] });
  try {
    const second = await startBinary({ dataDir: first.dataDir, extraArgs: ["--log-level", "error"] }).then(
      async (started) => {
        await started.kill();
        return "started";
      },
      (error: unknown) => String(error),
    );
    expect(second).toContain("in use");
  } finally {
    await first.stop();
  }
}, 30_000);
