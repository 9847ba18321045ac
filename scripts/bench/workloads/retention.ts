// Workload (g): past retention on a nearly full disk (the plan and the sizes: definitions.ts,
// `retention`). The broker runs on a tmpfs of its own, started with the same retention settings
// for every target that takes them; this file mounts it, drives the three steps, watches the
// commit-log directory while retention deletes, and unmounts whatever happens.
//
// Needs root (mount). Without it, or when the mount fails, the workload is skipped with that
// reason in the table; it never fails the rest of the run.
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statfsSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { atExit, processAlive } from "../lib/proc.ts";
import type { Running, Target } from "../targets/types.ts";
import { retention } from "./definitions.ts";

const mebibyte = 1024 * 1024;
/** What a stored record adds to its body (RocketMQ's fixed fields, topic, properties), for sizing step 1. */
const recordOverheadBytes = 200;
const fillerChunkBytes = mebibyte;

/** The workload cannot run here (not root, no tmpfs): a reason for the table, not an error. */
export class RetentionSkip extends Error {}

export interface ProduceFigures {
  acked: number;
  failed: number;
  /** Acknowledged per second until the last acknowledgement. */
  msgPerSec: number;
  p99Ms: number;
  ackGapMaxMs: number;
  wallSec: number;
  /** The last refusal or failure seen, if any. */
  error?: string;
}

/** What the suite lends this workload (suite.ts owns the client processes and the cold-start wait). */
export interface RetentionContext {
  target: Target;
  bodyBytes: number;
  /** A fresh topic on the running broker. */
  prepareTopic(running: Running): Promise<string>;
  /** Workload (a)'s producers: `messages` acknowledged (if > 0), else for `seconds`. */
  produce(running: Running, topic: string, messages: number, seconds: number): Promise<ProduceFigures>;
  /** Resolves once a send on a new topic is acknowledged (the suite's cold-start wait). */
  firstSend(running: Running): Promise<void>;
  /** One send of `bodyBytes` to `topic`; rejects if refused. */
  sendOne(running: Running, topic: string): Promise<void>;
  progress(text: string): void;
}

/** Metric name (as recorded by the suite, under "retention.") → value; notes: what went wrong, for the table. */
export interface RetentionOutcome {
  figures: Record<string, number>;
  notes: string[];
}

function diskUsedRatio(path: string): number {
  const stats = statfsSync(path);
  return stats.blocks > 0 ? (stats.blocks - stats.bfree) / stats.blocks : 0;
}

/** Commit-log files by first offset (their names); empty while the directory does not exist yet. */
function commitLogOffsets(dir: string): number[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((name) => /^\d{20}$/.test(name)).map(Number).sort((a, b) => a - b);
}

/** Writes real bytes (tmpfs allocates what is written, not what is reserved). */
function writeFiller(path: string, bytes: number): void {
  const fd = openSync(path, "w");
  const chunk = new Uint8Array(fillerChunkBytes).fill(7);
  try {
    for (let left = bytes; left > 0; left -= chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, left));
  } finally {
    closeSync(fd);
  }
}

/**
 * Bytes of commit-log files that are deleted but still mapped by the broker's processes: an
 * unlinked file's blocks are freed only when its last mapping goes, so retention that deletes
 * without unmapping frees nothing (/proc/<pid>/maps marks such mappings "(deleted)").
 */
function deletedStillMappedBytes(running: Running, commitLogDir: string): number {
  let bytes = 0;
  for (const pid of running.pids()) {
    let maps = "";
    try {
      maps = readFileSync(`/proc/${pid}/maps`, "utf8");
    } catch {
      continue;
    }
    for (const line of maps.split("\n")) {
      if (!line.includes(commitLogDir) || !line.endsWith("(deleted)")) continue;
      const [from, to] = (line.split(" ")[0] ?? "").split("-").map((hex) => Number.parseInt(hex, 16));
      if (from !== undefined && to !== undefined) bytes += to - from;
    }
  }
  return bytes;
}

function pidsAlive(running: Running): boolean {
  return running.pids().every(processAlive);
}

export async function retentionRun(context: RetentionContext): Promise<RetentionOutcome> {
  const { target } = context;
  if (!("commitLogDir" in target.retention)) throw new RetentionSkip(target.retention.skip);
  if (process.getuid?.() !== 0) throw new RetentionSkip("needs root to mount a tmpfs");
  const mountPoint = mkdtempSync(join(tmpdir(), `bench-retention-${target.id}-`));
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${retention.diskBytes}`, "tmpfs", mountPoint], { encoding: "utf8" });
  if (mounted.status !== 0) {
    rmSync(mountPoint, { recursive: true, force: true });
    throw new RetentionSkip(`cannot mount a tmpfs: ${(mounted.stderr || mounted.error?.message || "").trim().slice(0, 200)}`);
  }
  const unmount = (): void => {
    spawnSync("umount", ["-l", mountPoint], { stdio: "ignore" });
    rmSync(mountPoint, { recursive: true, force: true });
  };
  const forget = atExit(unmount); // Ctrl-C in the middle: the suite's exit handler unmounts
  let running: Running | null = null;
  try {
    const dataDir = join(mountPoint, "data");
    mkdirSync(dataDir);
    const commitLogDir = target.retention.commitLogDir(dataDir);
    context.progress(`retention: starting ${target.id} on a ${retention.diskBytes / mebibyte} MiB tmpfs`);
    running = await target.start(dataDir, {
      commitLogFileBytes: retention.commitLogFileBytes, fileReservedHours: retention.fileReservedHours, diskMaxUsedPercent: retention.diskMaxUsedPercent,
    });
    await context.firstSend(running);
    const figures: Record<string, number> = {};
    const notes: string[] = [];

    // 1. empty disk
    const emptyMessages = Math.floor((retention.diskBytes * retention.emptyDiskShare) / (context.bodyBytes + recordOverheadBytes));
    context.progress(`retention: ${emptyMessages.toLocaleString("en")} messages on the empty disk`);
    const topic = await context.prepareTopic(running);
    const empty = await context.produce(running, topic, emptyMessages, 0);
    figures["emptyMsgPerSec"] = empty.msgPerSec;
    figures["emptyP99Ms"] = empty.p99Ms;

    // 2. other data fills the disk to fillerUsedRatio
    const total = statfsSync(mountPoint).blocks * statfsSync(mountPoint).bsize;
    const fillerBytes = Math.floor(total * (retention.fillerUsedRatio - diskUsedRatio(mountPoint)));
    if (fillerBytes > 0) writeFiller(join(mountPoint, "filler"), fillerBytes);
    figures["diskUsedBeforePct"] = Math.round(diskUsedRatio(mountPoint) * 1000) / 10;

    // 3. produce past retention, watching the commit-log directory
    const before = commitLogOffsets(commitLogDir);
    const seen = new Set(before);
    let usedMax = 0;
    let deletedMappedMax = 0;
    const sample = (): void => {
      for (const offset of commitLogOffsets(commitLogDir)) seen.add(offset);
      usedMax = Math.max(usedMax, diskUsedRatio(mountPoint));
      deletedMappedMax = Math.max(deletedMappedMax, deletedStillMappedBytes(running!, commitLogDir));
    };
    const timer = setInterval(sample, retention.sampleIntervalMs);
    context.progress(`retention: ${retention.seconds} s on a ${Math.round(retention.fillerUsedRatio * 100)} % full disk`);
    let full: ProduceFigures;
    try {
      full = await context.produce(running, topic, 0, retention.seconds);
    } finally {
      clearInterval(timer);
      sample();
    }
    const after = commitLogOffsets(commitLogDir);
    figures["fullMsgPerSec"] = Math.round(full.acked / full.wallSec);
    figures["fullP99Ms"] = full.p99Ms;
    figures["refused"] = full.failed;
    figures["ackGapMaxMs"] = Math.round(full.ackGapMaxMs);
    figures["filesDeleted"] = [...seen].filter((offset) => !after.includes(offset)).length;
    figures["firstOffsetMovedMiB"] = Math.round(((after[0] ?? 0) - (before[0] ?? 0)) / mebibyte);
    figures["diskUsedMaxPct"] = Math.round(usedMax * 1000) / 10;
    figures["deletedMappedMaxMiB"] = Math.round(deletedMappedMax / mebibyte);
    if (full.error) notes.push(`${full.failed.toLocaleString("en")} sends failed past retention, the last: ${full.error}`);

    // Still accepting sends? Retention runs every 10 s: give it a few passes.
    const resumeStart = performance.now();
    let resumeMs = -1;
    while (performance.now() - resumeStart < retention.recoverySecondsMax * 1000 && pidsAlive(running)) {
      try {
        await context.sendOne(running, topic);
        resumeMs = Math.round(performance.now() - resumeStart);
        break;
      } catch {
        await Bun.sleep(200);
      }
    }
    figures["resumeMs"] = resumeMs;
    figures["brokerAlive"] = pidsAlive(running) ? 1 : 0;
    return { figures, notes };
  } finally {
    if (running) await running.stop().catch(() => {});
    unmount();
    forget();
  }
}
