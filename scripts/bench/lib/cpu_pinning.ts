// Optional CPU pinning of the suite (--broker-cpus LIST --client-cpus LIST): brokers on some CPUs,
// the workload clients on others, so that a client cannot take a broker's core nor the other way
// round. Off by default: the published runs share the machine's cores, as two processes on one
// server do. On a machine with cores to spare it shows what each broker does when its load
// generator is not competing with it (what a separate client machine would give).
//
// How: the suite pins itself (every thread, `taskset -a -p`), so that every process it starts
// inherits the client CPUs; once a broker has started, its whole process tree (name server, JVM,
// RabbitMQ's beam under a shell script) is moved to the broker CPUs, every thread, and threads or
// processes it starts later inherit that. Its cold start therefore runs on the client CPUs.
// A CPU list is taskset's: "0", "0-1", "2,3", "0-3,6".
import { processAlive, processTree, run, which } from "./proc.ts";

export interface CpuPinning {
  broker: string;
  client: string;
}

/** Every CPU a taskset-style list names, or throws saying what is wrong with it. */
export function cpuList(list: string, cpuCount: number): number[] {
  const cpus = new Set<number>();
  for (const part of list.split(",")) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!range) throw new Error(`CPU list "${list}": "${part}" is not a CPU number or a range like 0-3`);
    const from = Number(range[1]);
    const to = range[2] === undefined ? from : Number(range[2]);
    if (to < from) throw new Error(`CPU list "${list}": range ${part} runs backwards`);
    for (let cpu = from; cpu <= to; cpu++) {
      if (cpu >= cpuCount) throw new Error(`CPU list "${list}": this machine has CPUs 0-${cpuCount - 1}`);
      cpus.add(cpu);
    }
  }
  return [...cpus].sort((a, b) => a - b);
}

/** The pinning the two options ask for: null when neither is given; throws when only one is, or the lists overlap. */
export function parsePinning(broker: string | undefined, client: string | undefined, cpuCount: number): CpuPinning | null {
  if (broker === undefined && client === undefined) return null;
  if (broker === undefined || client === undefined) throw new Error("--broker-cpus and --client-cpus go together");
  const brokerCpus = cpuList(broker, cpuCount);
  const shared = cpuList(client, cpuCount).filter((cpu) => brokerCpus.includes(cpu));
  if (shared.length > 0) throw new Error(`--broker-cpus and --client-cpus share CPU ${shared.join(", ")}`);
  return { broker, client };
}

/** Sets the CPU affinity of every thread of `pid` and of its descendants; a process that exits meanwhile is skipped. */
export async function pinTree(pid: number, cpus: string): Promise<void> {
  if (!which("taskset")) throw new Error("CPU pinning needs taskset (util-linux)");
  for (const member of processTree(pid)) {
    const result = await run(["taskset", "-a", "-p", "-c", cpus, String(member)], { timeoutMs: 10_000 });
    if (result.code !== 0 && processAlive(member)) throw new Error(`taskset -a -p -c ${cpus} ${member} failed: ${result.output.trim().slice(0, 200)}`);
  }
}

/** The CPUs `pid` may run on, as the kernel reports them (Cpus_allowed_list), or "" if it is gone. */
export async function allowedCpus(pid: number): Promise<string> {
  try {
    const status = await Bun.file(`/proc/${pid}/status`).text();
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1] ?? "";
  } catch {
    return "";
  }
}
