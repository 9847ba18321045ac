// Bolide: the compiled binary (dist/bolide, built if missing), name server and broker in one process.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { track, waitPort, run, lastLine, stopGracefully } from "../lib/proc.ts";
import type { Running, Target } from "./types.ts";

const root = join(import.meta.dir, "../../..");
const binary = join(root, "dist/bolide");
const version = (JSON.parse(await Bun.file(join(root, "package.json")).text()) as { version: string }).version;

function bolide(flush: "async" | "sync", namesrvPort: number, brokerPort: number): Target {
  return {
    id: `bolide-${flush}`,
    family: "bolide",
    broker: `Bolide ${version} (compiled binary)`,
    durability: flush === "async" ? "ASYNC_FLUSH (ack after the page-cache write, flush every 500 ms)" : "SYNC_FLUSH (ack after fsync, group commit)",
    client: "remoting",
    clientLabel: "raw remoting client (Bun)",
    rocketmqProtocol: true,
    async install() {
      if (existsSync(binary)) return null;
      const built = await run([process.execPath, join(root, "scripts/build.ts")], { cwd: root, timeoutMs: 600_000 });
      return built.code === 0 && existsSync(binary) ? null : `build failed: ${lastLine(built.output)}`;
    },
    async start(dataDir): Promise<Running> {
      const child = track(
        Bun.spawn(
          [binary, "--data-dir", dataDir, "--namesrv-port", String(namesrvPort), "--broker-port", String(brokerPort), "--broker-ip", "127.0.0.1",
            "--listen-host", "127.0.0.1", "--http-port", "0", "--flush", flush],
          { stdout: Bun.file(join(dataDir, "..", "bolide.out")), stderr: Bun.file(join(dataDir, "..", "bolide.err")), stdin: "ignore" },
        ),
      );
      await waitPort(brokerPort, 30_000, () => child.exitCode === null);
      await waitPort(namesrvPort, 30_000, () => child.exitCode === null);
      return {
        endpoint: `ns:127.0.0.1:${namesrvPort}`,
        pids: () => [child.pid],
        async stop() {
          await stopGracefully(child, 15_000);
        },
      };
    },
  };
}

export const bolideTargets: Target[] = [bolide("async", 39876, 40911), bolide("sync", 39876, 40911)];
