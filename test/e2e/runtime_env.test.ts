// The runtime settings a server sets for itself at start (src/io/runtime_env.ts): the compiled
// binary executes itself again with them, as the same process with the same command line.
import { afterAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runtimeEnv } from "../../src/io/runtime_env.ts";
import { binaryPath, cleanupAll, killAll, startBinary, tempDir } from "./helpers.ts";

afterAll(() => {
  killAll();
  cleanupAll();
});

function environmentOf(pid: number): Map<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter((entry) => entry !== "");
  return new Map(entries.map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]));
}

test.skipIf(process.platform !== "linux")("a broker started without the allocator settings runs with them: the process it was spawned as, its command line and environment kept", async () => {
  const broker = await startBinary({ env: { BOLIDE_TEST_MARKER: "kept" } });
  const environment = environmentOf(broker.pid); // the spawned pid: execve kept it
  for (const [name, value] of Object.entries(runtimeEnv)) expect(environment.get(name)).toBe(value);
  expect(environment.get("BOLIDE_TEST_MARKER")).toBe("kept");
  const commandLine = readFileSync(`/proc/${broker.pid}/cmdline`, "utf8").split("\0");
  expect(commandLine[0]).toBe(binaryPath);
  expect(commandLine).toContain(broker.dataDir);
  expect(await broker.stop()).toBe(0);
});

test.skipIf(process.platform !== "linux")("a value the operator set is left as it is", async () => {
  const broker = await startBinary({ env: { MIMALLOC_PURGE_DELAY: "25" } });
  expect(environmentOf(broker.pid).get("MIMALLOC_PURGE_DELAY")).toBe("25");
  expect(await broker.stop()).toBe(0);
});

test.skipIf(process.platform !== "linux")("what the start says before it re-executes is said once: a broker.conf key Bolide does not use is warned about once", async () => {
  const conf = join(tempDir("bolide-conf-"), "broker.conf");
  writeFileSync(conf, "noSuchKey=1\n");
  const broker = await startBinary({ extraArgs: ["-c", conf] });
  expect(await broker.stop()).toBe(0);
  expect(broker.logs().split("config.unknown_key").length - 1).toBe(1);
});
