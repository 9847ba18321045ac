// End-to-end: the compiled broker on a small filesystem (a tmpfs this test mounts; needs root).
// The disk fills until a commit-log segment cannot be reserved (ENOSPC from posix_fallocate):
// sends then fail with SERVICE_NOT_AVAILABLE (14) and a remark naming the full disk, nothing
// acknowledged is lost, reads go on; once space frees up, sends are accepted again.
//
//   npm run -s build && ./node_modules/.bin/bun test test/e2e/disk_full.test.ts
import { afterAll, expect, test } from "bun:test";
import { closeSync, mkdirSync, openSync, statfsSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { MQBrokerError, Producer, PushConsumer } from "../../src/client/index.ts";
import { Prng } from "../../src/io/io.ts";
import { ResponseCode } from "../../src/net/response_code.ts";
import { cleanupAll, prepareTopic, sleep, startBinary, tempDir, uniqueName, waitUntil } from "./helpers.ts";

const mebibyte = 1024 * 1024;
const segmentBytes = 8 * mebibyte;
const bodyBytes = 16 * 1024; // few messages per segment: the sparse index stays small
let mountPoint = "";

afterAll(async () => {
  if (mountPoint) Bun.spawnSync(["umount", "-l", mountPoint]); // before cleanupAll removes the mount point
  await cleanupAll();
});

function freeBytes(path: string): number {
  const stats = statfsSync(path);
  return stats.bavail * stats.bsize;
}

/** Writes `bytes` of real data (tmpfs allocates what is written). */
function fill(path: string, bytes: number): void {
  const fd = openSync(path, "w");
  const chunk = new Uint8Array(mebibyte).fill(7);
  for (let left = bytes; left > 0; left -= chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, left));
  closeSync(fd);
}

test("disk full: sends refused with SERVICE_NOT_AVAILABLE, reads go on, nothing acked lost; sends resume once space frees", async () => {
  mountPoint = tempDir("bolide-tmpfs-");
  const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", mountPoint]);
  if (mounted.exitCode !== 0) {
    mountPoint = "";
    throw new Error(`this test mounts a 40 MiB tmpfs and needs root: mount said ${mounted.stderr.toString().trim()}`);
  }
  const dataDir = join(mountPoint, "data");
  mkdirSync(dataDir);
  const conf = join(tempDir("bolide-conf-"), "broker.conf");
  // RocketMQ's ratio checks out of the way, so that the disk itself runs out first.
  writeFileSync(conf, "diskSpaceWarningLevelRatio=1.0\ndiskSpaceCleanForciblyRatio=1.0\ndiskMaxUsedSpaceRatio=95\n");
  const broker = await startBinary({ dataDir, extraArgs: ["-c", conf, "--commitlog-file-bytes", "8m", "--flush", "sync"] });
  const topic = uniqueName("disk_full");
  await prepareTopic(broker, topic);
  const producer = new Producer({ namesrvAddr: broker.namesrvAddr, producerGroup: uniqueName("PG"), retryTimesWhenSendFailed: 0 });
  await producer.start();
  const body = (i: number): Uint8Array => {
    const bytes = new Uint8Array(bodyBytes); // incompressible, so the SDK's zlib leaves it as is
    const random = new Prng(i + 1);
    for (let j = 0; j < bytes.length; j++) bytes[j] = random.below(256);
    new DataView(bytes.buffer).setInt32(0, i);
    return bytes;
  };
  const acked: number[] = [];
  const first = await producer.send({ topic, body: body(0) }); // the first segment is reserved now
  expect(first.sendStatus).toBe("SEND_OK");
  acked.push(0);
  // Leave less room than the next segment needs, but enough for the rest of this one's index and queue pages.
  const filler = join(mountPoint, "filler");
  fill(filler, freeBytes(mountPoint) - 5 * mebibyte);

  let refused: MQBrokerError | null = null;
  for (let i = 1; i < (2 * segmentBytes) / bodyBytes && !refused; i++) {
    try {
      const result = await producer.send({ topic, body: body(i) });
      expect(result.sendStatus).toBe("SEND_OK");
      acked.push(i);
    } catch (error) {
      // The SDK wraps a retryable broker code in MQClientError, the broker's answer as its cause.
      const cause = error instanceof MQBrokerError ? error : (error as Error).cause;
      if (!(cause instanceof MQBrokerError)) throw error;
      refused = cause;
    }
  }
  expect(refused).not.toBeNull();
  expect(refused!.code).toBe(ResponseCode.SERVICE_NOT_AVAILABLE);
  expect(refused!.message).toContain("disk is full");
  expect(acked.length).toBeGreaterThan(segmentBytes / bodyBytes / 2); // it filled most of a segment first

  // Reads go on: every acknowledged message comes back intact.
  const received = new Map<number, Uint8Array>();
  const consumer = new PushConsumer({ namesrvAddr: broker.namesrvAddr, consumerGroup: uniqueName("CG"), consumeFromWhere: "CONSUME_FROM_FIRST_OFFSET" });
  consumer.subscribe(topic, "*");
  consumer.onMessage((message) => {
    received.set(new DataView(message.body.buffer, message.body.byteOffset).getInt32(0), message.body);
  });
  await consumer.start();
  await waitUntil("every acknowledged message consumed", () => acked.every((i) => received.has(i)), 30_000);
  for (const i of acked) expect(Buffer.compare(Buffer.from(received.get(i)!), Buffer.from(body(i)))).toBe(0);

  // Space frees up: sends are accepted again (the refusal is re-checked every second).
  unlinkSync(filler);
  let resumed = false;
  for (let attempt = 0; attempt < 50 && !resumed; attempt++) {
    try {
      resumed = (await producer.send({ topic, body: body(100_000) })).sendStatus === "SEND_OK";
    } catch {
      await sleep(200);
    }
  }
  expect(resumed).toBe(true);
  await waitUntil("the message sent after space freed up", () => received.has(100_000), 30_000);
  await consumer.shutdown();
  await producer.shutdown();
  await broker.stop();
}, 120_000);
