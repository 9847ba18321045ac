// Soak: many connections against the compiled binary for a fixed time, a tenth of them hostile,
// then checks that no acknowledged message was lost and that the broker's memory stayed bounded.
//
//   bun scripts/soak.ts [--connections 1000] [--seconds 600] [--hostile-percent 10] [--bin dist/bolide]
//                       [--hostile-kinds garbage,partial,slow] [--seed N] [--keep]
//
// Valid connections (raw remoting clients, one socket each) send SEND_MESSAGE_V2 about once a
// second with unique bodies; four SDK PushConsumers in one group consume the topic. Hostile
// connections cycle through three behaviours: random or mutated frames (closed by the broker),
// a frame started and never finished (dropped after --partial-frame-timeout-ms), and slow readers
// (thousands of pulls written, nothing read: reading pauses; dropped when idle). Every 5 s the
// broker's RSS is sampled. At the end: lost = acknowledged − consumed must be 0, the broker must
// still answer and exit 0 on SIGTERM. Prints one JSON summary line; exit code 1 on failure.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { PushConsumer } from "../src/client/index.ts";
import { setLogLevel } from "../src/log.ts";
import { Prng } from "../src/io/io.ts";
import { encodeFrame } from "../src/net/frame.ts";
import { newRequest, type RemotingCommand } from "../src/net/remoting_command.ts";
import { RequestCode } from "../src/net/request_code.ts";
import { ResponseCode } from "../src/net/response_code.ts";
import { RemotingClient } from "../src/net/tcp_client.ts";
import { freePort } from "./lib/ports.ts";

const root = join(import.meta.dir, "..");
const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    connections: { type: "string", default: "1000" },
    seconds: { type: "string", default: "600" },
    "hostile-percent": { type: "string", default: "10" },
    bin: { type: "string", default: join(root, "dist", "bolide") },
    seed: { type: "string" },
    "hostile-kinds": { type: "string", default: "garbage,partial,slow" },
    "broker-log-level": { type: "string", default: "info" },
    keep: { type: "boolean", default: false },
  },
});
const connections = Number(flags.connections);
const seconds = Number(flags.seconds);
const hostileCount = Math.round((connections * Number(flags["hostile-percent"])) / 100);
const validCount = connections - hostileCount;
const seed = flags.seed !== undefined ? Number(flags.seed) : (Math.random() * 2 ** 32) >>> 0;
const random = new Prng(seed);
const hostileKinds = flags["hostile-kinds"]!.split(",").map((kind) => ["garbage", "partial", "slow"].indexOf(kind.trim()));
if (hostileKinds.some((kind) => kind < 0)) throw new Error("--hostile-kinds: garbage, partial, slow");
setLogLevel("error");

// Each connection needs a descriptor here and one in the broker; raise the soft limit if we can.
const fdsNeeded = connections + 500;
const fdLimit = Number(Bun.spawnSync(["sh", "-c", "ulimit -n"]).stdout.toString().trim());
if (fdLimit < fdsNeeded && !process.env.SOAK_REEXEC) {
  const again = Bun.spawnSync(["sh", "-c", `ulimit -n ${fdsNeeded} && exec "$0" "$@"`, process.execPath, ...process.argv.slice(1)], {
    stdio: ["inherit", "inherit", "inherit"],
    env: { ...process.env, SOAK_REEXEC: "1" },
  });
  process.exit(again.exitCode ?? 1);
}
if (fdLimit < fdsNeeded) console.error(`soak: warning: ulimit -n is ${fdLimit}, fewer than the ${fdsNeeded} descriptors ${connections} connections need`);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ------------------------------------------------------------------------------ the broker
const dataDir = mkdtempSync(join(tmpdir(), "bolide-soak-"));
const namesrvPort = await freePort();
const brokerPort = await freePort();
const logPath = join(dataDir, "broker.log");
const broker = Bun.spawn(
  [
    flags.bin!, "--role", "all", "--data-dir", join(dataDir, "data"), "--namesrv-port", String(namesrvPort), "--broker-port", String(brokerPort),
    "--broker-ip", "127.0.0.1", "--listen-host", "127.0.0.1", "--http-port", "0", "--default-topic-queue-nums", "8",
    "--max-connections", String(connections * 2 + 1000), "--max-connections-per-address", String(connections * 2 + 1000),
    "--channel-idle-timeout-seconds", "20", "--partial-frame-timeout-ms", "5000", "--log-level", flags["broker-log-level"]!,
  ],
  { stdout: Bun.file(join(dataDir, "broker.out")), stderr: Bun.file(logPath) },
);
const brokerAddr = `127.0.0.1:${brokerPort}`;
const namesrvAddr = `127.0.0.1:${namesrvPort}`;
for (let i = 0; ; i++) {
  if (i > 200) throw new Error("soak: the broker did not start");
  try {
    if (readFileSync(join(dataDir, "broker.out"), "utf8").includes("bolide broker listening")) break;
  } catch {}
  await sleep(50);
}
const brokerStartedRss = rssMiB();

/** The broker's resident memory in MiB: all, anonymous (heap, buffers), and file/shmem pages (the mapped store). */
function memory(): { rss: number; anon: number; file: number } {
  try {
    const status = readFileSync(`/proc/${broker.pid}/status`, "utf8");
    const kib = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
    return { rss: Math.round(kib("VmRSS") / 1024), anon: Math.round(kib("RssAnon") / 1024), file: Math.round((kib("RssFile") + kib("RssShmem")) / 1024) };
  } catch {
    return { rss: 0, anon: 0, file: 0 };
  }
}
function rssMiB(): number {
  return memory().rss;
}

// ------------------------------------------------------------------------------ traffic
const topic = `Soak_${Date.now().toString(36)}`;
const deadline = Date.now() + seconds * 1000;
const acked = new Set<string>();
const consumed = new Set<string>();
const stats = { sendErrors: 0, sendBusy: 0, hostileClosedByBroker: 0, hostileCycles: 0 };

function sendRequest(body: string): RemotingCommand {
  return newRequest(
    RequestCode.SEND_MESSAGE_V2,
    { a: "SoakPG", b: topic, c: "TBW102", d: "8", e: String(random.below(8)), f: "0", g: String(Date.now()), h: "0", i: "", j: "0", k: "false" },
    new TextEncoder().encode(body),
  );
}

async function validConnection(index: number): Promise<void> {
  const client = new RemotingClient({ connectTimeoutMs: 10_000 });
  await sleep(random.below(5000)); // stagger the opening
  let sequence = 0;
  let pending: string | null = null;
  while (Date.now() < deadline) {
    const body: string = pending ?? `c${index}-m${sequence++}`;
    try {
      const response = await client.invoke(brokerAddr, sendRequest(body), 10_000);
      if (response.code === ResponseCode.SUCCESS) {
        acked.add(body);
        pending = null;
      } else {
        if (response.code === ResponseCode.SYSTEM_BUSY) stats.sendBusy++;
        else stats.sendErrors++;
        pending = body;
      }
    } catch {
      stats.sendErrors++;
      pending = body;
    }
    await sleep(800 + random.below(400));
  }
  client.close();
}

function rawConnect(handlers: { onClose(): void }): Promise<import("bun").Socket<undefined>> {
  return Bun.connect({
    hostname: "127.0.0.1",
    port: brokerPort,
    socket: {
      data() {},
      close: () => handlers.onClose(),
      error: () => handlers.onClose(),
    },
  });
}

function mutate(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  for (let i = 0; i < 1 + random.below(4); i++) out[random.below(out.length)] = random.below(256);
  return out;
}

async function hostileConnection(index: number): Promise<void> {
  await sleep(random.below(5000));
  const pullFrame = encodeFrame(
    newRequest(RequestCode.PULL_MESSAGE, {
      consumerGroup: "SoakSlow", topic, queueId: String(index % 8), queueOffset: "0", maxMsgNums: "32", sysFlag: "0",
      commitOffset: "0", suspendTimeoutMillis: "0", subscription: "*", subVersion: "0", expressionType: "TAG",
    }),
  );
  while (Date.now() < deadline) {
    let closed = false;
    let socket: import("bun").Socket<undefined>;
    try {
      socket = await rawConnect({ onClose: () => (closed = true) });
    } catch {
      await sleep(1000);
      continue;
    }
    stats.hostileCycles++;
    const kind = hostileKinds[(index + stats.hostileCycles) % hostileKinds.length]!;
    if (kind === 0) {
      // random bytes or a mutated valid frame
      const frame = random.below(2) === 0 ? new Uint8Array(Array.from({ length: 8 + random.below(200) }, () => random.below(256))) : mutate(encodeFrame(sendRequest("hostile")));
      socket.write(frame);
    } else if (kind === 1) {
      // a frame started and never finished
      socket.write(encodeFrame(sendRequest("partial".repeat(100))).subarray(0, 40));
    } else {
      // a slow reader: many pulls, nothing read
      socket.pause();
      const many = Buffer.concat(Array.from({ length: 2000 }, () => pullFrame));
      socket.write(many);
    }
    const until = Math.min(deadline, Date.now() + 30_000);
    while (!closed && Date.now() < until) await sleep(200);
    if (closed) stats.hostileClosedByBroker++;
    else socket.end();
    await sleep(200 + random.below(800));
  }
}

// Consumers first, so that they consume as the producers send.
const consumers = Array.from({ length: 4 }, (_, i) => {
  const consumer = new PushConsumer({
    namesrvAddr, consumerGroup: "SoakCG", instanceName: `soak-${i}`, consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET", offsetStoreDir: null,
  });
  consumer.subscribe(topic, "*");
  consumer.onMessage((message) => {
    consumed.add(new TextDecoder().decode(message.body));
  });
  return consumer;
});
// The topic exists before anyone routes to it.
const setup = new RemotingClient();
const created = await setup.invoke(brokerAddr, sendRequest("setup"), 10_000);
if (created.code === ResponseCode.SUCCESS) acked.add("setup");
setup.close();
await sleep(500);
for (const consumer of consumers) await consumer.start();

const rssSamples: Array<{ s: number; rssMiB: number; anonMiB: number; fileMiB: number }> = [];
const startedMs = Date.now();
const sampler = setInterval(() => {
  const now = memory();
  rssSamples.push({ s: Math.round((Date.now() - startedMs) / 1000), rssMiB: now.rss, anonMiB: now.anon, fileMiB: now.file });
  const last = rssSamples.at(-1)!;
  console.error(`soak: ${last.s} s, broker RSS ${last.rssMiB} MiB (anon ${last.anonMiB}, file/shmem ${last.fileMiB}), acked ${acked.size}, consumed ${consumed.size}, hostile closed ${stats.hostileClosedByBroker}/${stats.hostileCycles}`);
}, 5000);

await Promise.all([
  ...Array.from({ length: validCount }, (_, i) => validConnection(i)),
  ...Array.from({ length: hostileCount }, (_, i) => hostileConnection(i)),
]);

// Let the consumers catch up.
const catchUpUntil = Date.now() + 60_000;
while (Date.now() < catchUpUntil && [...acked].some((body) => !consumed.has(body))) await sleep(500);
clearInterval(sampler);
const lost = [...acked].filter((body) => !consumed.has(body));
for (const consumer of consumers) await consumer.shutdown();

// Still serving, then a clean stop.
const probe = new RemotingClient();
const alive = (await probe.invoke(brokerAddr, sendRequest("after"), 10_000).catch(() => null))?.code === ResponseCode.SUCCESS;
probe.close();
broker.kill("SIGTERM");
const exitCode = await broker.exited;

const rss = rssSamples.map((sample) => sample.rssMiB).filter((value) => value > 0);
const anon = rssSamples.map((sample) => sample.anonMiB).filter((value) => value > 0);
const third = Math.max(1, Math.floor(rss.length / 3));
const logText = readFileSync(logPath, "utf8");
const gcPauses = [...logText.matchAll(/"event":"memory\.collected".*?"pauseMs":(\d+)/g)].map((match) => Number(match[1]));
const count = (event: string): number => (logText.match(new RegExp(`"event":"${event.replace(".", "\\.")}"`, "g")) ?? []).length;
const summary = {
  seed, connections, valid: validCount, hostile: hostileCount, seconds,
  acked: acked.size, consumed: consumed.size, lost: lost.length,
  rssMiB: { atStart: brokerStartedRss, max: Math.max(...rss), firstThirdMax: Math.max(...rss.slice(0, third)), lastThirdMax: Math.max(...rss.slice(-third)) },
  anonMiB: { max: Math.max(...anon), firstThirdMax: Math.max(...anon.slice(0, third)), lastThirdMax: Math.max(...anon.slice(-third)) },
  ...stats,
  forcedCollections: gcPauses.length,
  forcedCollectionPauseMsMax: gcPauses.length > 0 ? Math.max(...gcPauses) : 0,
  brokerLogLines: { badFrame: count("connection.bad_frame"), partialFrame: count("connection.partial_frame_timeout"), idleClosed: count("connection.idle_closed"), busy: count("connection.busy") },
  aliveAfter: alive, exitCode,
};
console.log(JSON.stringify(summary));
if (!flags.keep) rmSync(dataDir, { recursive: true, force: true });
else console.error(`soak: kept ${dataDir}`);
const ok = lost.length === 0 && alive && exitCode === 0 && acked.size > 0;
if (!ok) console.error(`soak: FAILED${lost.length > 0 ? `: lost ${lost.length}, e.g. ${lost.slice(0, 5).join(" ")}` : ""}`);
process.exit(ok ? 0 : 1);
