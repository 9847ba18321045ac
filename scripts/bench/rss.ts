// Broker memory while 10 GiB go through it (issue #4: RSS stays flat; mapped commit-log pages are
// page cache, not heap). Starts the compiled binary (1 GiB segments, ASYNC_FLUSH) on a fresh data
// dir, sends messages of 1–16 KiB (seeded sizes) with the raw remoting client, 64 in flight, and
// samples /proc/<pid>/status every few seconds: VmRSS = RssAnon (heap, JS objects, buffers) +
// RssFile (mapped file pages resident: commit log, consume queues, index, the binary) + RssShmem.
//
//   bun run scripts/build.ts && bun scripts/bench/rss.ts [--gib 10] [--inflight 64] [--sample-ms 3000]
//
// Prints a JSON line per sample, then the figures at 1, 5 and 10 GiB. Deletes the data dir.
import { spawn } from "bun";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { newRequest } from "../../src/net/remoting_command.ts";
import { RequestCode } from "../../src/net/request_code.ts";
import { ResponseCode } from "../../src/net/response_code.ts";
import { RemotingClient } from "../../src/net/tcp_client.ts";
import { createTopic } from "./lib/remoting.ts";

const { values } = parseArgs({
  options: {
    gib: { type: "string", default: "10" },
    inflight: { type: "string", default: "64" },
    "sample-ms": { type: "string", default: "3000" },
    dir: { type: "string", default: "/tmp" },
  },
});
const root = join(import.meta.dir, "../..");
const totalBytes = Number(values.gib) * 1024 ** 3;
const inflight = Number(values.inflight);
const ports = { namesrv: 24876, broker: 24911, http: 24080 };
const gib = (bytes: number): number => Number((bytes / 1024 ** 3).toFixed(2));
const mib = (kib: number): number => Number((kib / 1024).toFixed(1));

function memory(pid: number): Record<string, number> {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { vmRssMiB: mib(kib("VmRSS")), rssAnonMiB: mib(kib("RssAnon")), rssFileMiB: mib(kib("RssFile")), rssShmemMiB: mib(kib("RssShmem")) };
}

const dataDir = mkdtempSync(join(values.dir, "bolide-rss-"));
const broker = spawn([
  join(root, "dist/bolide"), "--data-dir", dataDir, "--namesrv-port", String(ports.namesrv), "--broker-port", String(ports.broker),
  "--broker-ip", "127.0.0.1", "--listen-host", "127.0.0.1", "--http-port", String(ports.http), "--flush", "async",
  "--commitlog-file-bytes", "1g",
], { stdout: "ignore", stderr: "ignore" });
const client = new RemotingClient();
const samples: Array<Record<string, number>> = [];
try {
  for (let i = 0; !(await fetch(`http://127.0.0.1:${ports.http}/readyz`).then((r) => r.ok, () => false)); i++) {
    if (i > 200) throw new Error("broker not ready after 20 s");
    await Bun.sleep(100);
  }
  const brokerAddr = `127.0.0.1:${ports.broker}`;
  const topic = "RssBench";
  await createTopic(client, brokerAddr, topic, 8);

  const pool = new Uint8Array(16 * 1024).fill(0x62);
  let seed = 42;
  const nextSize = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return 1024 + (seed % (15 * 1024 + 1));
  };
  let sentBytes = 0;
  let ackedBytes = 0;
  let messages = 0;
  let failures = 0;
  const started = performance.now();
  const sample = (): void => {
    const row = { s: Math.round((performance.now() - started) / 1000), ackedGiB: gib(ackedBytes), messages, ...memory(broker.pid), load: loadavg()[0]! };
    samples.push(row);
    console.log(JSON.stringify(row));
  };
  sample();
  const timer = setInterval(sample, Number(values["sample-ms"]));
  let sequence = 0;
  const lane = async (): Promise<void> => {
    while (sentBytes < totalBytes) {
      const size = nextSize();
      sentBytes += size;
      const index = sequence++;
      const response = await client.invoke(brokerAddr, newRequest(RequestCode.SEND_MESSAGE_V2, {
        a: "RssPG", b: topic, c: "TBW102", d: "4", e: String(index % 8), f: "0", g: String(Date.now()), h: "0", i: "WAIT\u0001true\u0002",
        j: "0", k: "false", m: "false",
      }, pool.subarray(0, size)), 30_000);
      if (response.code !== ResponseCode.SUCCESS) failures++;
      ackedBytes += size;
      messages++;
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  clearInterval(timer);
  sample();
  await Bun.sleep(Number(values["sample-ms"]));
  sample(); // after the last flush settled
  const at = (target: number): Record<string, number> | undefined => samples.find((row) => row.ackedGiB! >= target) ?? samples.at(-1);
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({
    summary: "broker RSS while writing", gib: gib(totalBytes), messages, failures, mibPerSec: Number((ackedBytes / 1024 / 1024 / seconds).toFixed(1)),
    rssAnonMiBAt: { "0": samples[0]!.rssAnonMiB, "1": at(1)?.rssAnonMiB, "5": at(5)?.rssAnonMiB, "10": at(10)?.rssAnonMiB, end: samples.at(-1)!.rssAnonMiB },
    vmRssMiBAt: { "0": samples[0]!.vmRssMiB, "1": at(1)?.vmRssMiB, "5": at(5)?.vmRssMiB, "10": at(10)?.vmRssMiB, end: samples.at(-1)!.vmRssMiB },
    rssFileMiBAt: { "1": at(1)?.rssFileMiB, "5": at(5)?.rssFileMiB, "10": at(10)?.rssFileMiB },
    load: loadavg()[0],
  }));
} finally {
  client.close();
  broker.kill("SIGTERM");
  await broker.exited;
  rmSync(dataDir, { recursive: true, force: true });
}
