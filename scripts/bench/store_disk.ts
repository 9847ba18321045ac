// The store alone against this machine's fsync'd sequential write limit, measured in one run
// (issue #4: SYNC_FLUSH with 256 concurrent 1 KiB appenders ≥ 70 % of raw fsync'd sequential
// write bandwidth), and fdatasync calls per acknowledged put under 1, 16 and 256 puts in flight.
//
//   bun scripts/bench/store_disk.ts [--mib 256] [--rounds 3] [--dir /tmp] [--segment-mib 1024]
//
// Raw disk, each on a fresh file reserved with posix_fallocate as commit-log segments are:
//   write-1m      1 MiB write(), fdatasync, repeat: the sequential fsync'd bandwidth
//   write-1k      1 KiB write(), fdatasync, repeat: one appender, one fsync per message
//   group-256x1k  256 × 1 KiB write(), then one fdatasync, repeat: an ideal group commit of 256
//   mmap-256x1k   the same through a shared mapping, then fdatasync
// Store: MessageStore, ASYNC_FLUSH (the put path's CPU cost), then SYNC_FLUSH with records
// staged and pwritten in runs (the default) at 1, 16 and 256 in flight, and at 256 also encoded
// into the mapping (commitLogStaged false). 1 KiB bodies (record
// ≈ 1.13 KiB), 8 queues, a KEYS property per message (index built, as for the SDK's UNIQ_KEY).
// Rounds are interleaved (raw, store, raw, store, …); the ratio is store commit-log bytes/s over
// write-1m bytes/s of the same round, and the median over rounds is reported.
// Prints one JSON line per measurement, then a summary line.
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { dlopen, FFIType } from "bun:ffi";
import { realIo } from "../../src/io/io.ts";
import { javaHashCode } from "../../src/protocol/message_properties.ts";
import { hostBytes, type MessageToStore } from "../../src/protocol/message_record.ts";
import { MessageStore } from "../../src/store/message_store.ts";
import { PutStatus } from "../../src/store/put_status.ts";

const { values } = parseArgs({
  options: {
    mib: { type: "string", default: "256" },
    rounds: { type: "string", default: "3" },
    dir: { type: "string", default: "/tmp" },
    "segment-mib": { type: "string", default: "1024" },
    inflight: { type: "string", default: "1,16,256" },
  },
});
const totalBytes = Number(values.mib) * 1024 * 1024;
const rounds = Number(values.rounds);
const segmentBytes = Number(values["segment-mib"]) * 1024 * 1024;
const inflights = values.inflight.split(",").map(Number);
const workDir = mkdtempSync(join(values.dir, "bolide-store-disk-"));
const libc = dlopen("libc.so.6", { posix_fallocate: { args: [FFIType.i32, FFIType.i64, FFIType.i64], returns: FFIType.i32 } });
const mib = (bytes: number, ms: number): number => Number((bytes / 1024 / 1024 / (ms / 1000)).toFixed(1));
const load = (): number => Number(loadavg()[0]!.toFixed(2));
let fileSeq = 0;

function reservedFile(bytes: number): { fd: number; path: string } {
  const path = join(workDir, `raw-${fileSeq++}`);
  const fd = openSync(path, "w+");
  const errno = libc.symbols.posix_fallocate(fd, 0, bytes);
  if (errno !== 0) throw new Error(`posix_fallocate: errno ${errno}`);
  fdatasyncSync(fd); // the reservation itself is not part of what is timed
  return { fd, path };
}

/**
 * `perSync` × `block` bytes stored, then fdatasync; until `bytes` are written. `through`: with
 * write(2) ("write"), or copied into a shared mapping of the file ("mmap").
 */
function rawLoop(name: string, bytes: number, block: number, perSync: number, through: "write" | "mmap"): Record<string, unknown> {
  const { fd, path } = reservedFile(bytes);
  const mapped = through === "mmap" ? Bun.mmap(path, { shared: true }) : null;
  const buffer = new Uint8Array(block).fill(0x61);
  let syncs = 0;
  const started = performance.now();
  for (let written = 0; written < bytes; ) {
    for (let i = 0; i < perSync && written < bytes; i++) {
      if (mapped) {
        mapped.set(buffer, written);
        written += block;
      } else {
        written += writeSync(fd, buffer, 0, block, written);
      }
    }
    fdatasyncSync(fd);
    syncs++;
  }
  const ms = performance.now() - started;
  closeSync(fd);
  rmSync(path);
  return { bench: "raw", name, bytes, ms: Math.round(ms), mibPerSec: mib(bytes, ms), fsyncsPerSec: Math.round(syncs / (ms / 1000)), load: load() };
}

const bornHost = hostBytes("127.0.0.1", 1);
const storeHost = hostBytes("127.0.0.1", 10911);
function message(i: number, body: Uint8Array): MessageToStore {
  return {
    topic: "Bench", queueId: i % 8, flag: 0, body, properties: `TAGS\u0001A\u0002KEYS\u0001k${i}\u0002`, sysFlag: 0,
    bornTimestamp: 1, bornHost, storeHost,
    reconsumeTimes: 0, preparedTransactionOffset: 0, tagsCode: javaHashCode("A"),
  };
}

/** MessageStore under SYNC_FLUSH: `inflight` concurrent 1 KiB puts until `bytes` of commit log, or `msMax`. */
async function storePut(flush: "sync" | "async", inflight: number, bytes: number, msMax: number, staged = true): Promise<Record<string, unknown>> {
  const dataDir = join(workDir, `store-${fileSeq++}`);
  let flushMsTotal = 0;
  let flushes = 0;
  const store = new MessageStore(
    {
      dataDir, commitLogFileBytes: segmentBytes, consumeQueueEntriesPerFile: 300_000, messageBodyBytesMax: 4 * 1024 * 1024,
      flush, flushIntervalMs: 500, syncFlushTimeoutMs: 5000, pullBytesMax: 256 * 1024, commitLogStaged: staged,
      onCommitLogFlushMs: (ms) => {
        flushMsTotal += ms;
        flushes++;
      },
    },
    realIo,
  );
  store.load();
  const body = new Uint8Array(1024).fill(0x61);
  // Warm-up outside the timing: the first segment is created and reserved, the JIT settles.
  for (let i = 0; i < 2000; i++) await store.put(message(i, body), false);
  await store.flushAll();
  const fromOffset = store.commitLog.maxOffset;
  const fsyncsBefore = store.commitLog.fsyncCount;
  flushMsTotal = 0;
  flushes = 0;
  let next = 0;
  let acked = 0;
  let stop = false;
  const started = performance.now();
  const deadline = started + msMax;
  const lane = async (): Promise<void> => {
    while (!stop) {
      const result = await store.put(message(next++, body));
      if (result.status !== PutStatus.OK) throw new Error(`put: ${result.status}`);
      acked++;
      if (store.commitLog.maxOffset - fromOffset >= bytes || performance.now() > deadline) stop = true;
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  const ms = performance.now() - started;
  const written = store.commitLog.maxOffset - fromOffset;
  const fsyncs = store.commitLog.fsyncCount - fsyncsBefore;
  await store.shutdown();
  rmSync(dataDir, { recursive: true, force: true });
  return {
    bench: "store", flush, inflight, commitLogWrite: staged ? "staged" : "mmap", messages: acked, ms: Math.round(ms), messagesPerSec: Math.round(acked / (ms / 1000)),
    commitLogMiBPerSec: mib(written, ms), bodyMiBPerSec: mib(acked * 1024, ms), fsyncs, fsyncsPerMessage: Number((fsyncs / acked).toFixed(4)),
    flushMsMean: Number((flushMsTotal / Math.max(1, flushes)).toFixed(2)), load: load(),
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ratios: number[] = [];
const groupRatios: number[] = [];
const mmapRatios: number[] = [];
const fsyncsPerMessage = new Map<number, number[]>();
try {
  for (let round = 0; round < rounds; round++) {
    // The put path's CPU cost alone: ASYNC_FLUSH acknowledges without waiting for the disk.
    console.log(JSON.stringify({ round, ...(await storePut("async", 256, totalBytes, 30_000)) }));
    const seq = rawLoop("write-1m", totalBytes, 1024 * 1024, 1, "write");
    console.log(JSON.stringify({ round, ...seq }));
    const one = rawLoop("write-1k", Math.min(totalBytes, 4 * 1024 * 1024), 1024, 1, "write");
    console.log(JSON.stringify({ round, ...one }));
    const group = rawLoop("group-256x1k", totalBytes, 1024, 256, "write");
    console.log(JSON.stringify({ round, ...group }));
    const mapped = rawLoop("mmap-256x1k", totalBytes, 1024, 256, "mmap");
    console.log(JSON.stringify({ round, ...mapped }));
    for (const inflight of inflights) {
      // One appender at a time is bounded by fsync latency: cap it by time, not bytes.
      const result = await storePut("sync", inflight, totalBytes, inflight === 1 ? 5000 : 30_000);
      console.log(JSON.stringify({ round, ...result }));
      fsyncsPerMessage.set(inflight, [...(fsyncsPerMessage.get(inflight) ?? []), result.fsyncsPerMessage as number]);
      if (inflight === 256) {
        // The same through the mapping, as before the store pwrote under SYNC_FLUSH: the A/B of that change.
        const mapped = await storePut("sync", inflight, totalBytes, 30_000, false);
        console.log(JSON.stringify({ round, ...mapped }));
        mmapRatios.push((mapped.commitLogMiBPerSec as number) / (seq.mibPerSec as number));
        ratios.push((result.commitLogMiBPerSec as number) / (seq.mibPerSec as number));
        groupRatios.push((result.commitLogMiBPerSec as number) / (group.mibPerSec as number));
      }
    }
  }
  console.log(JSON.stringify({
    summary: "store SYNC_FLUSH 256 x 1 KiB vs raw", rounds,
    ratioToWrite1mMedian: Number(median(ratios).toFixed(2)), ratiosToWrite1m: ratios.map((r) => Number(r.toFixed(2))),
    ratioToGroup256Median: groupRatios.length ? Number(median(groupRatios).toFixed(2)) : null,
    mmapWriteRatioToWrite1mMedian: mmapRatios.length ? Number(median(mmapRatios).toFixed(2)) : null,
    fsyncsPerMessageMedian: Object.fromEntries([...fsyncsPerMessage].map(([k, v]) => [k, median(v)])),
    load: load(),
  }));
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
