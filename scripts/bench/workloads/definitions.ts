// The workloads, as data: what each one runs against every target. suite.ts executes them in
// this order after a cold start; `--quick` and `--full` only change the durations, the backlog
// size and the number of interleaved repetitions (see modes below).

export interface Mode {
  seconds: number;
  /** Unmeasured produce after each start (JIT, page cache, connections), like compare.sh's warm-up pass. */
  warmupSeconds: number;
  reps: number;
  backlog: number;
  latencySeconds: number;
}

export const modes: Record<"quick" | "full", Mode> = {
  // quick: about 2 s per measurement, one run: checks that everything works, figures are rough.
  quick: { seconds: 2, warmupSeconds: 1, reps: 1, backlog: 50_000, latencySeconds: 3 },
  // full: 10 s per measurement, 3 runs interleaved across targets (A, B, A, B, ...), median kept.
  full: { seconds: 10, warmupSeconds: 5, reps: 3, backlog: 1_000_000, latencySeconds: 10 },
};

export const queues = 8;

/** (a) produce throughput: `processes` client processes, each one connection with `inflight` unacknowledged sends. */
export const produce = { processes: 2, inflight: 128 };

/** (f) 1, 16, 64 producers (each a connection with one send in flight, like a thread calling send()), with and without keys. */
export const producerCounts = [1, 16, 64];
export const producerProcessesMax = 2;

/** (c) end-to-end latency at fixed rates (open loop, from the scheduled send time). */
export const latencyRates = [1000, 5000, 20_000];

/** (b) consume a backlog: filled by `produce`, read by one client process reading all queues. */
export const consume = { fillProcesses: 2, fillInflight: 128 };

/** (e) the Java DefaultMQProducer benchmark (RocketMqBenchProducer.java): threads as in RocketMQ's tool default. */
export const javaProducer = { threads: 64 };
