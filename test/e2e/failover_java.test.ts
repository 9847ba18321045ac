// Failover with the official Apache RocketMQ Java client (rocketmq-client 4.9.8, the `failover`
// scenario of test/compat): one name server, broker-a (SYNC_MASTER + SLAVE) and broker-b
// (ASYNC_MASTER + SLAVE) as processes of the compiled binary. The Java side asks for
// "kill-master-a" and "restart-master-a" on stdout; this driver does it and answers "ok".
// Skipped (with a message) when java or the compat jar (mvn -o package in test/compat/java) is
// not available.
//
//   npm run -s build && ./node_modules/.bin/bun test test/e2e/failover_java.test.ts
import { afterAll, expect, test } from "bun:test";
import { existsSync, statSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { cleanupAll, repoRoot, runCommand } from "./helpers.ts";
import { closeReplClient, startNamesrv, startReplBroker, waitCaughtUp } from "./repl_helpers.ts";

afterAll(() => {
  closeReplClient();
  cleanupAll();
});

const javaDir = join(repoRoot, "test", "compat", "java");
const jar = join(javaDir, "target", "compat.jar");

function newestSourceMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** The compat jar, built offline if missing or older than its sources; null when that fails. */
async function compatJar(): Promise<string | null> {
  if (Bun.which("java") === null || Bun.which("mvn") === null) return null;
  if (existsSync(jar) && statSync(jar).mtimeMs >= newestSourceMs(join(javaDir, "src"))) return jar;
  const build = await runCommand(["mvn", "-o", "-q", "-B", "-f", join(javaDir, "pom.xml"), "package"], 180_000);
  return build.code === 0 && existsSync(jar) ? jar : null;
}

test("Java client: sends go on while broker-a's master is down, a new group reads broker-a from its slave, nothing lost after the restart", async () => {
  const jarPath = await compatJar();
  if (jarPath === null) {
    console.log("failover_java: skipped (no java/mvn, or the compat jar cannot be built offline)");
    return;
  }
  const namesrv = await startNamesrv();
  const ns = namesrv.namesrvAddr;
  const [masterA, masterB] = await Promise.all([
    startReplBroker({ namesrvAddr: ns, brokerName: "broker-a", role: "SYNC_MASTER" }),
    startReplBroker({ namesrvAddr: ns, brokerName: "broker-b", role: "ASYNC_MASTER" }),
  ]);
  const [slaveA] = await Promise.all([
    startReplBroker({ namesrvAddr: ns, brokerName: "broker-a", role: "SLAVE" }),
    startReplBroker({ namesrvAddr: ns, brokerName: "broker-b", role: "SLAVE" }),
  ]);
  void masterB;

  const java = Bun.spawn(["java", "-Dcompat.timeout=75", "-jar", jarPath, ns, "failover"], {
    cwd: repoRoot, stdin: "pipe", stdout: "pipe", stderr: "pipe",
  });
  const stderr = new Response(java.stderr).text();
  const lines: string[] = [];
  const decoder = new TextDecoder();
  let pending = "";
  try {
    for await (const chunk of java.stdout) {
      pending += decoder.decode(chunk);
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        lines.push(line);
        if (line === "CONTROL kill-master-a") {
          await masterA.kill();
          java.stdin.write("ok\n");
          java.stdin.flush();
        } else if (line === "CONTROL restart-master-a") {
          await masterA.start();
          await waitCaughtUp(masterA, slaveA);
          java.stdin.write("ok\n");
          java.stdin.flush();
        }
      }
    }
  } finally {
    java.kill("SIGKILL");
  }
  await java.exited;
  const result = lines.find((line) => line.startsWith("PASS") || line.startsWith("FAIL")) ?? "";
  if (!result.startsWith("PASS")) console.log(`java stdout:\n${lines.join("\n")}\njava stderr:\n${(await stderr).slice(-6000)}`);
  console.log(result);
  expect(result).toStartWith("PASS failover");
}, 120_000);
