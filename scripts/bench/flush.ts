// Broker-level SYNC_FLUSH against ASYNC_FLUSH produce throughput, same run (issue #4 target:
// sync ≥ 50 % of async). The compiled binary (dist/bolide) is started with --flush sync or
// --flush async on a fresh data dir, runs interleaved (sync, async, async, sync, …), each after a
// warm-up pass, driven by scripts/bench/throughput.ts (raw remoting client, every send waits for
// its answer). Also reads bolide_store_fsyncs_total around each measured pass: fdatasync calls
// per acknowledged message at broker level.
//
//   bun run scripts/build.ts && bun scripts/bench/flush.ts [--messages 100000] [--inflight 256] [--rounds 3] [--bytes 1024]
//
// Prints one JSON line per run, then the medians and their ratio.
import { spawn, spawnSync } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "100000" },
    inflight: { type: "string", default: "256" },
    rounds: { type: "string", default: "3" },
    bytes: { type: "string", default: "1024" },
    dir: { type: "string", default: "/tmp" },
  },
});
const root = join(import.meta.dir, "../..");
const bun = join(root, "node_modules/.bin/bun");
const binary = join(root, "dist/bolide");
const ports = { namesrv: 23876, broker: 23911, http: 23080 };
const load = (): number => Number(loadavg()[0]!.toFixed(2));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function fsyncsTotal(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${ports.http}/metrics`)).text();
  return Number(/^bolide_store_fsyncs_total (\d+)$/m.exec(text)?.[1] ?? NaN);
}

function throughput(messages: number, label: string): Record<string, unknown> {
  const run = spawnSync([
    bun, join(root, "scripts/bench/throughput.ts"), "--namesrv", `127.0.0.1:${ports.namesrv}`, "--messages", String(messages),
    "--inflight", values.inflight, "--bytes", values.bytes, "--label", label,
  ]);
  const line = run.stdout.toString().trim().split("\n").at(-1) ?? "";
  if (run.exitCode !== 0) throw new Error(`throughput.ts ${label}: exit ${run.exitCode}: ${line} ${run.stderr.toString().slice(-500)}`);
  return JSON.parse(line) as Record<string, unknown>;
}

async function measure(flush: "sync" | "async", round: number): Promise<Record<string, unknown>> {
  const dataDir = mkdtempSync(join(values.dir, "bolide-flush-"));
  const broker = spawn([
    binary, "--data-dir", dataDir, "--namesrv-port", String(ports.namesrv), "--broker-port", String(ports.broker),
    "--broker-ip", "127.0.0.1", "--listen-host", "127.0.0.1", "--http-port", String(ports.http), "--flush", flush,
    "--log-level", "warn",
  ], { stdout: "ignore", stderr: "ignore" });
  try {
    for (let i = 0; ; i++) {
      const ready = await fetch(`http://127.0.0.1:${ports.http}/readyz`).then((r) => r.ok, () => false);
      if (ready) break;
      if (i > 200) throw new Error("broker not ready after 20 s");
      await Bun.sleep(100);
    }
    throughput(Math.max(1000, Math.floor(Number(values.messages) / 4)), `${flush}-warmup`);
    const fsyncsBefore = await fsyncsTotal();
    const result = throughput(Number(values.messages), flush);
    const fsyncs = (await fsyncsTotal()) - fsyncsBefore;
    return { round, flush, ...result, fsyncs, fsyncsPerMessage: Number((fsyncs / Number(values.messages)).toFixed(4)), load: load() };
  } finally {
    broker.kill("SIGTERM");
    await broker.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const rates: Record<"sync" | "async", number[]> = { sync: [], async: [] };
const rounds = Number(values.rounds);
for (let round = 0; round < rounds; round++) {
  const order: Array<"sync" | "async"> = round % 2 === 0 ? ["sync", "async"] : ["async", "sync"];
  for (const flush of order) {
    const result = await measure(flush, round);
    console.log(JSON.stringify(result));
    rates[flush].push(result["produceMsgPerSec"] as number);
  }
}
const sync = median(rates.sync);
const async = median(rates.async);
console.log(JSON.stringify({
  summary: "broker produce, SYNC_FLUSH / ASYNC_FLUSH", rounds, bodyBytes: Number(values.bytes), inflight: Number(values.inflight),
  syncMsgPerSecMedian: sync, asyncMsgPerSecMedian: async, ratio: Number((sync / async).toFixed(2)), load: load(),
}));
