// Apache RocketMQ 4.9.7 (name server + broker from Maven Central, java -cp) through
// scripts/peer/rocketmq.sh: 4.9.8's server jars are not on Maven Central, only its client.
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { atExit, freePort, freePortWithNeighbours, run, lastLine, which } from "../lib/proc.ts";
import type { RetentionSettings, Running, Target } from "./types.ts";

const root = join(import.meta.dir, "../../..");
const script = join(root, "scripts/peer/rocketmq.sh");
export const rocketmqHeap = "-Xms512m -Xmx1g";

function rocketmq(flush: "ASYNC_FLUSH" | "SYNC_FLUSH"): Target {
  return {
    id: `rocketmq-${flush === "ASYNC_FLUSH" ? "async" : "sync"}`,
    family: "rocketmq",
    broker: "Apache RocketMQ 4.9.7 (JDK 17, heap 1 GiB each for name server and broker)",
    durability: flush === "ASYNC_FLUSH" ? "ASYNC_FLUSH (ack after the page-cache write)" : "SYNC_FLUSH (ack after fsync, group commit)",
    client: "remoting",
    clientLabel: "raw remoting client (Bun)",
    rocketmqProtocol: true,
    retention: { commitLogDir: (dataDir) => join(dataDir, "store/commitlog") },
    async install() {
      if (!which("java")) return "java not installed (apt-get install openjdk-17-jre-headless)";
      const resolved = await run(["bash", script, "classpath"], { timeoutMs: 600_000 });
      return resolved.code === 0 ? null : `cannot resolve RocketMQ 4.9.7 from Maven Central: ${lastLine(resolved.output)}`;
    },
    async start(dataDir: string, retention?: RetentionSettings): Promise<Running> {
      const forget = atExit(() => spawnSync("bash", [script, "stop", dataDir], { stdio: "ignore" }));
      // diskSpaceCleanForciblyRatio (0.85) and diskSpaceWarningLevelRatio (0.90) are Java system
      // properties in 4.9.7, not broker.conf keys; their defaults are Bolide's.
      const brokerConf = retention
        ? [`mappedFileSizeCommitLog=${retention.commitLogFileBytes}`, `fileReservedTime=${retention.fileReservedHours}`,
          `diskMaxUsedSpaceRatio=${retention.diskMaxUsedPercent}`].join("\n")
        : "";
      // Ports picked free at each start: with fixed ones, a start right after the other flush
      // mode's stop once found its name server exiting at startup (2026-12-04 full run).
      const namesrvPort = await freePort();
      const brokerPort = await freePortWithNeighbours([namesrvPort]);
      const started = await run(["bash", script, "start", String(namesrvPort), String(brokerPort), dataDir], {
        env: { ROCKETMQ_PEER_JAVA_OPTS: rocketmqHeap, ROCKETMQ_PEER_FLUSH: flush, ROCKETMQ_PEER_BROKER_CONF: brokerConf },
        timeoutMs: 180_000,
      });
      if (started.code !== 0) {
        spawnSync("bash", [script, "stop", dataDir], { stdio: "ignore" });
        forget();
        throw new Error(lastLine(started.output));
      }
      const pid = (name: string): number => {
        const file = join(dataDir, `${name}.pid`);
        return existsSync(file) ? Number(readFileSync(file, "utf8").trim()) : 0;
      };
      const pids = [pid("namesrv"), pid("broker")];
      return {
        endpoint: `ns:127.0.0.1:${namesrvPort}`,
        pids: () => pids,
        async stop() {
          await run(["bash", script, "stop", dataDir], { timeoutMs: 60_000 });
          forget();
        },
      };
    },
  };
}

export const rocketmqTargets: Target[] = [rocketmq("ASYNC_FLUSH"), rocketmq("SYNC_FLUSH")];
