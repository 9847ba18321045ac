// The workloads, as data: what each one runs against every target. suite.ts executes them in
// this order after a cold start; `--smoke`, `--quick` and `--full` only change the durations, the
// backlog size, the number of interleaved repetitions and which optional workloads run (modes below).

const mebibyte = 1024 * 1024;

export interface Mode {
  seconds: number;
  /** Unmeasured produce after each start (JIT, page cache, connections), like compare.sh's warm-up pass; 0 = none. */
  warmupSeconds: number;
  reps: number;
  backlog: number;
  latencySeconds: number;
  /** (f) producers: how many, each with and without keys. */
  producerCounts: readonly number[];
  /** (c) end-to-end latency: the fixed send rates, msg/s. */
  latencyRates: readonly number[];
  /** (e) the brokers' own Java producer tools (needs java and mvn, jars from Maven Central). */
  javaProducer: boolean;
  /**
   * (e) how many of the messages the Java producer tool wrote RocketMQ's consumer tool reads back:
   * the same count for every target (fewer only where the producer wrote fewer), so that a faster
   * producer does not give its broker a longer, better warmed-up read.
   */
  javaConsumerMessages: number;
  /** (g) past retention on a nearly full disk (needs root for a tmpfs mount; about a minute per target). */
  retention: boolean;
  /** Drop the page cache of the target's data files before each measurement (lib/page_cache.ts says why). */
  dropPageCache: boolean;
}

export type ModeName = "smoke" | "quick" | "full";

export const modes: Record<ModeName, Mode> = {
  // smoke: CI's check that the suite still runs end to end (.ci/run, scripts/bench/smoke.ts); one
  // second per measurement, a tiny backlog, nothing that downloads: the figures mean nothing.
  // Fewer producer counts and one latency rate: 20k msg/s for a second only measures a backlog.
  smoke: {
    seconds: 1, warmupSeconds: 0, reps: 1, backlog: 2_000, latencySeconds: 1, producerCounts: [1, 64], latencyRates: [1000],
    javaProducer: false, javaConsumerMessages: 0, retention: false, dropPageCache: false,
  },
  // quick: about 2 s per measurement, one run: checks that everything works, figures are rough.
  quick: {
    seconds: 2, warmupSeconds: 1, reps: 1, backlog: 50_000, latencySeconds: 3, producerCounts: [1, 16, 64], latencyRates: [1000, 5000, 20_000],
    javaProducer: true, javaConsumerMessages: 10_000, retention: false, dropPageCache: true,
  },
  // full: 10 s per measurement, 3 runs interleaved across targets (A B C, B C A, C A B), median kept.
  full: {
    seconds: 10, warmupSeconds: 5, reps: 3, backlog: 1_000_000, latencySeconds: 10, producerCounts: [1, 16, 64], latencyRates: [1000, 5000, 20_000],
    javaProducer: true, javaConsumerMessages: 100_000, retention: true, dropPageCache: true,
  },
};

export const queues = 8;

/** (a) produce throughput: `processes` client processes, each one connection with `inflight` unacknowledged sends. */
export const produce = { processes: 2, inflight: 128 };

/** (f) producers (Mode.producerCounts), each a connection with one send in flight (like a thread calling send()), over at most this many processes. */
export const producerProcessesMax = 2;

/** (b) consume a backlog: filled by `produce`, read by one client process reading all queues. */
export const consume = { fillProcesses: 2, fillInflight: 128 };

/** (e) the Java DefaultMQProducer benchmark (RocketMqBenchProducer.java): threads as in RocketMQ's tool default. */
export const javaProducer = { threads: 64 };
/** (e) RocketMQ's benchmark consumer reads back what the Java producer wrote; it gives up after this long. */
export const javaConsumer = { timeoutSeconds: 180 };

/**
 * (g) past retention on a nearly full disk (issue #8: published Redpanda-against-Kafka comparisons
 * fell apart exactly there). The broker gets its own small filesystem (a tmpfs) and the retention
 * settings below, the same for every target that takes them (Bolide, Apache RocketMQ):
 *   1. empty disk: produce `emptyDiskShare` of the disk, as workload (a) does (2 × 128 in flight);
 *   2. a filler file (data retention cannot delete) brings the disk to `fillerUsedRatio`;
 *   3. produce for `seconds` more: the broker's files cross diskSpaceCleanForciblyRatio (0.85)
 *      at once, and retention must delete its oldest commit-log files while sends go on, or
 *      refuse sends past diskSpaceWarningLevelRatio (0.90).
 * Reported: msg/s and send p99 of 1 and of 3, refused sends, the longest wait between two
 * acknowledgements, commit-log files deleted and how far the log's first offset moved.
 *
 * Sizes: a 1 GiB disk holds 16 commit-log files of 64 MiB; after step 1 about 5 of them are the
 * broker's, deletable; the 10 % between the forced-clean and the refuse thresholds is 1.6 files.
 * Both brokers check retention every 10 s (cleanResourceInterval; Bolide's is fixed), so 3 runs
 * long enough for several passes. tmpfs ignores fsync: SYNC_FLUSH costs nothing extra here.
 */
export const retention = {
  diskBytes: 1024 * mebibyte,
  commitLogFileBytes: 64 * mebibyte,
  /** fileReservedTime: every file is younger, so only disk pressure deletes (the nearly-full case). */
  fileReservedHours: 72,
  /** diskMaxUsedSpaceRatio, percent: both brokers' default. */
  diskMaxUsedPercent: 75,
  emptyDiskShare: 0.3,
  fillerUsedRatio: 0.8,
  seconds: 40,
  /** After step 3: how long a send may take to be accepted again before "stopped accepting" is reported. */
  recoverySecondsMax: 30,
  /** Commit-log directory listing and disk use, sampled this often during step 3. */
  sampleIntervalMs: 250,
} as const;
