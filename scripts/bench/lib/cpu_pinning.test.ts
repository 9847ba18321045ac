import { describe, expect, test } from "bun:test";
import { allowedCpus, cpuList, parsePinning, pinTree } from "./cpu_pinning.ts";

describe("--broker-cpus / --client-cpus", () => {
  test("taskset-style lists", () => {
    expect(cpuList("0", 4)).toEqual([0]);
    expect(cpuList("0-1", 4)).toEqual([0, 1]);
    expect(cpuList("3,1-2", 4)).toEqual([1, 2, 3]);
  });
  test("a list naming a CPU the machine lacks, or no CPU at all, is refused", () => {
    expect(() => cpuList("2", 2)).toThrow("this machine has CPUs 0-1");
    expect(() => cpuList("1-0", 2)).toThrow("runs backwards");
    expect(() => cpuList("a", 2)).toThrow("is not a CPU number");
    expect(() => cpuList("", 2)).toThrow("is not a CPU number");
  });
  test("both or neither, and no CPU on both sides", () => {
    expect(parsePinning(undefined, undefined, 2)).toBeNull();
    expect(parsePinning("0", "1", 2)).toEqual({ broker: "0", client: "1" });
    expect(() => parsePinning("0", undefined, 2)).toThrow("go together");
    expect(() => parsePinning("0-1", "1", 2)).toThrow("share CPU 1");
  });
  test("pinTree moves a running process and its child, every thread", async () => {
    const cpu = String(navigator.hardwareConcurrency - 1);
    const parent = Bun.spawn(["sh", "-c", "sleep 30 & wait"], { stdout: "ignore", stderr: "ignore" });
    try {
      let child = "";
      for (let i = 0; i < 100 && !child; i++) {
        await Bun.sleep(10);
        child = (await Bun.file(`/proc/${parent.pid}/task/${parent.pid}/children`).text()).trim();
      }
      expect(child).not.toBe("");
      await pinTree(parent.pid, cpu);
      expect(await allowedCpus(parent.pid)).toBe(cpu);
      expect(await allowedCpus(Number(child.split(" ")[0]))).toBe(cpu);
    } finally {
      parent.kill("SIGKILL");
    }
  });
});
