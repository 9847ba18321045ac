// Redis Streams (Debian's redis-server), append-only file with fsync every second or always.
import { join } from "node:path";
import { aptInstall, track, waitPort, stopGracefully } from "../lib/proc.ts";
import type { Running, Target } from "./types.ts";

const port = 16379;

function redis(fsync: "everysec" | "always"): Target {
  return {
    id: `redis-${fsync}`,
    family: "redis",
    broker: "Redis 7.0 Streams (Debian), 8 streams",
    durability: fsync === "everysec" ? "appendonly yes, appendfsync everysec" : "appendonly yes, appendfsync always (fsync before replies)",
    client: "redis",
    clientLabel: "ioredis 5.11.1 (Bun), auto-pipelining",
    rocketmqProtocol: false,
    retention: { skip: "Redis keeps streams in memory (MAXLEN trimming), not a disk log" },
    async install() {
      return aptInstall("redis-server", ["redis-server"]);
    },
    async start(dataDir): Promise<Running> {
      const child = track(
        Bun.spawn(
          ["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--dir", dataDir, "--appendonly", "yes", "--appendfsync", fsync,
            "--save", "", "--daemonize", "no", "--logfile", join(dataDir, "redis.log")],
          { stdout: "ignore", stderr: "inherit", stdin: "ignore" },
        ),
      );
      await waitPort(port, 30_000, () => child.exitCode === null);
      return {
        endpoint: `redis://127.0.0.1:${port}`,
        pids: () => [child.pid],
        async stop() {
          await stopGracefully(child, 15_000);
        },
      };
    },
  };
}

export const redisTargets: Target[] = [redis("everysec"), redis("always")];
