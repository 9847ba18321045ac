// The dashboard served by the compiled binary on --http-port: its JSON under /api/, then the page
// itself in headless Chromium (playwright-core driving the system's /usr/bin/chromium).
//
// Chromium is a Debian package (`apt-get install chromium`; .ci/run installs it when missing).
// Without it the browser test fails with a message saying so; BOLIDE_SKIP_BROWSER=1 skips it
// (loudly). BOLIDE_CHROMIUM=/path picks another browser binary. BOLIDE_UPDATE_SCREENSHOT=1 also
// writes the screenshot to docs/dashboard.png (the README's picture).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { copyFileSync, existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Producer, PushConsumer } from "../../src/client/index.ts";
import { cleanupAll, repoRoot, startBinary, tempDir, uniqueName, waitUntil, type Broker } from "./helpers.ts";

const chromiumPath = process.env.BOLIDE_CHROMIUM ?? "/usr/bin/chromium";
const skipBrowser = process.env.BOLIDE_SKIP_BROWSER === "1";

const consumedCount = 40;
const laggingCount = 15;
const hostileBody = `<img src=x onerror="window.__pwned=1"> & <script>window.__pwned=2</script>`;

let broker: Broker;
let base = "";
const topic = uniqueName("DashT");
const group = uniqueName("DashG");

beforeAll(async () => {
  broker = await startBinary();
  base = `http://127.0.0.1:${broker.httpPort}`;
  // 40 messages consumed by the group, then 15 more it has not consumed: a lag of 15.
  const producer = new Producer({ namesrvAddr: broker.namesrvAddr, producerGroup: uniqueName("PG") });
  await producer.start();
  for (let i = 0; i < consumedCount; i++) await producer.send({ topic, body: `order ${i} ${hostileBody}`, keys: `order-${i}`, tags: "TagA" });
  let seen = 0;
  const consumer = new PushConsumer({ namesrvAddr: broker.namesrvAddr, consumerGroup: group, consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET" });
  consumer.subscribe(topic);
  consumer.onMessage(() => void seen++);
  await consumer.start();
  await waitUntil(`${consumedCount} messages consumed`, () => seen >= consumedCount, 20_000);
  await consumer.shutdown(); // commits its offsets
  for (let i = 0; i < laggingCount; i++) await producer.send({ topic, body: `late ${i}`, keys: `late-${i}` });
  await producer.shutdown();
}, 60_000);

afterAll(async () => {
  await broker?.stop();
  cleanupAll();
});

async function api<T>(path: string, status = 200): Promise<T> {
  const response = await fetch(`${base}${path}`);
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toContain("application/json");
  return (await response.json()) as T;
}

interface TopicsAnswer { topics: Array<{ topic: string; messages: number; queues: Array<{ minOffset: number; maxOffset: number }> }> }
interface GroupsAnswer { groups: Array<{ group: string; lag: number; topics: Array<{ topic: string; lag: number; queues: Array<{ lag: number }> }> }> }
interface MessagesAnswer {
  messages: Array<{ msgId: string; offsetMsgId: string; keys: string[]; body: string; queueId: number; queueOffset: number; storeTimestamp: number;
    consumers: Array<{ group: string; committedOffset: number; consumed: boolean }> }>;
}

test("/api: overview, topics with counts, group lag per queue, message search with trace, throughput", async () => {
  const overview = await api<{ role: string; clusters: Array<{ cluster: string; brokers: Array<{ brokerName: string; addrs: Array<{ addr: string }> }> }> }>("/api/overview");
  expect(overview.role).toBe("all");
  expect(overview.clusters[0]?.brokers[0]?.addrs[0]?.addr).toBe(broker.brokerAddr);

  const topics = await api<TopicsAnswer>("/api/topics");
  const row = topics.topics.find((candidate) => candidate.topic === topic);
  expect(row?.messages).toBe(consumedCount + laggingCount);
  expect(row?.queues.reduce((sum, queue) => sum + queue.maxOffset, 0)).toBe(consumedCount + laggingCount);

  const groups = await api<GroupsAnswer>("/api/groups");
  const groupRow = groups.groups.find((candidate) => candidate.group === group);
  expect(groupRow?.lag).toBe(laggingCount);
  expect(groupRow?.topics.find((t) => t.topic === topic)?.queues.reduce((sum, queue) => sum + queue.lag, 0)).toBe(laggingCount);

  const early = await api<MessagesAnswer>(`/api/messages?topic=${topic}&key=order-7`);
  expect(early.messages.length).toBe(1);
  expect(early.messages[0]!.body).toBe(`order 7 ${hostileBody}`);
  expect(early.messages[0]!.consumers).toEqual([expect.objectContaining({ group, consumed: true })]);
  const late = await api<MessagesAnswer>(`/api/messages?topic=${topic}&key=late-3`);
  expect(late.messages[0]!.consumers).toEqual([expect.objectContaining({ group, consumed: false })]);
  // By either id: the client id (UNIQ_KEY, any topic) and the broker's offset id.
  const byId = await api<MessagesAnswer>(`/api/messages?msgId=${early.messages[0]!.msgId}`);
  expect(byId.messages.map((m) => m.keys)).toEqual([["order-7"]]);
  const byOffsetId = await api<MessagesAnswer>(`/api/messages?msgId=${early.messages[0]!.offsetMsgId}`);
  expect(byOffsetId.messages.map((m) => m.keys)).toEqual([["order-7"]]);
  // By time: from the first late message's store time on, the late ones at least.
  const lateFrom = Math.min(...(await Promise.all([0, 1, 2].map(async (i) => (await api<MessagesAnswer>(`/api/messages?topic=${topic}&key=late-${i}`)).messages[0]!.storeTimestamp))));
  const byTime = await api<MessagesAnswer>(`/api/messages?topic=${topic}&begin=${lateFrom}&end=${Date.now()}`);
  expect(byTime.messages.length).toBeGreaterThanOrEqual(laggingCount - 2);
  expect(byTime.messages.every((m) => m.storeTimestamp >= lateFrom)).toBe(true);

  expect((await api<{ error: string }>(`/api/messages?key=order-7`, 400)).error).toContain("topic");
  expect((await api<{ error: string }>(`/api/nope`, 404)).error).toContain("/api/nope");
  expect((await fetch(`${base}/api/topics`, { method: "POST" })).status).toBe(405); // read-only

  await waitUntil("a throughput sample with the sends", async () => {
    const throughput = await api<{ points: Array<{ messagesIn: number }> }>("/api/throughput");
    return throughput.points.some((point) => point.messagesIn > 0);
  }, 5_000);
}, 30_000);

if (skipBrowser) console.warn("\n*** BOLIDE_SKIP_BROWSER=1: the dashboard page test in headless Chromium is SKIPPED ***\n");
test.skipIf(skipBrowser)("the page: topic and count, group lag, search by key with its trace, offline, screenshot", async () => {
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} not found: the dashboard test needs Chromium (apt-get install -y chromium; .ci/run does this as root), ` +
      "or BOLIDE_CHROMIUM=/path/to/chromium, or BOLIDE_SKIP_BROWSER=1 to skip it");
  }
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console error: ${message.text()}`);
    });
    // Offline: anything not served by the broker itself is refused and reported.
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(`${base}/`)) return route.continue();
      problems.push(`request outside the broker: ${url}`);
      return route.abort();
    });
    await page.goto(`${base}/`);

    const topicRow = page.locator(`tr[data-topic="${topic}"]`);
    await topicRow.waitFor({ timeout: 10_000 });
    expect(await topicRow.locator('[data-testid="topic-messages"]').innerText()).toBe(String(consumedCount + laggingCount));
    await topicRow.locator("button.toggle").click(); // its queues
    const groupRow = page.locator(`tr[data-group="${group}"]`);
    await groupRow.waitFor({ timeout: 10_000 });
    expect(await groupRow.locator('[data-testid="group-lag"]').innerText()).toBe(String(laggingCount));
    await groupRow.locator("button.toggle").click(); // lag per queue
    await page.locator("#groups tr.sub").waitFor();

    // Search by key: the message, where it was stored, and that the group has consumed it.
    await page.fill('input[name="topic"]', topic);
    await page.fill('input[name="key"]', "order-7");
    await page.click('#messages button[type="submit"]');
    const card = page.locator('[data-testid="message"]');
    await card.first().waitFor({ timeout: 10_000 });
    expect(await card.count()).toBe(1);
    const trace = await card.locator('[data-testid="trace"]').innerText();
    expect(trace).toContain(`topic ${topic}`);
    expect(trace).toMatch(/queue \d+, offset \d+/);
    expect(await card.locator(`tr[data-consumer="${group}"]`).innerText()).toContain("consumed");
    // The body is shown as text: the markup in it is neither parsed nor run.
    expect(await card.locator('[data-testid="body"]').innerText()).toBe(`order 7 ${hostileBody}`);
    expect(await card.locator('[data-testid="body"] img, [data-testid="body"] script').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();

    // The chart has drawn (uPlot's canvas), then the picture.
    await page.locator("#throughput canvas").waitFor();
    await page.waitForTimeout(1500);
    const screenshot = join(tempDir("bolide-dashboard-"), "dashboard.png");
    await page.screenshot({ path: screenshot, fullPage: true });
    const png = readFileSync(screenshot);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(statSync(screenshot).size).toBeGreaterThan(20_000);
    if (process.env.BOLIDE_UPDATE_SCREENSHOT === "1") copyFileSync(screenshot, join(repoRoot, "docs", "dashboard.png"));

    // A late message: stored, not consumed yet.
    await page.fill('input[name="key"]', "late-3");
    await page.click('#messages button[type="submit"]');
    await page.locator(`[data-testid="message"] tr[data-consumer="${group}"] td.no`).waitFor({ timeout: 10_000 });
    expect(await page.locator(`[data-testid="message"] tr[data-consumer="${group}"]`).innerText()).toContain("not yet");

    expect(problems).toEqual([]);
  } finally {
    await browser.close();
  }
}, 60_000);
