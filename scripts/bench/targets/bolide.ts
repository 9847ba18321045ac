// Bolide: the compiled binary (dist/bolide, built if missing), name server and broker in one process.
// BOLIDE_BENCH_BINARY=<path> benchmarks another build instead (an older release, say); the smoke
// run (smoke.ts) points it at /bin/false to check that a broker failing to start is reported.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, track, waitPort, run, lastLine, stopGracefully } from "../lib/proc.ts";
import type { RetentionSettings, Running, Target } from "./types.ts";

const root = join(import.meta.dir, "../../..");
const binaryBuilt = join(root, "dist/bolide");
const binaryDefault = process.env["BOLIDE_BENCH_BINARY"] || binaryBuilt;
const version = (JSON.parse(await Bun.file(join(root, "package.json")).text()) as { version: string }).version;

/** Bolide with `flush`, run from `binary` (another build: scripts/bench/ab.ts compares two). */
export function bolide(flush: "async" | "sync", binary = binaryDefault): Target {
  return {
    id: `bolide-${flush}`,
    family: "bolide",
    broker: `Bolide ${version} (compiled binary)`,
    durability: flush === "async" ? "ASYNC_FLUSH (ack after the page-cache write, flush every 500 ms)" : "SYNC_FLUSH (ack after fsync, group commit)",
    client: "remoting",
    clientLabel: "raw remoting client (Bun)",
    rocketmqProtocol: true,
    retention: { commitLogDir: (dataDir) => join(dataDir, "commitlog") },
    async install() {
      if (existsSync(binary)) return null;
      if (binary !== binaryBuilt) return `BOLIDE_BENCH_BINARY=${binary} does not exist`;
      const built = await run([process.execPath, join(root, "scripts/build.ts")], { cwd: root, timeoutMs: 600_000 });
      return built.code === 0 && existsSync(binary) ? null : `build failed: ${lastLine(built.output)}`;
    },
    async start(dataDir: string, retention?: RetentionSettings): Promise<Running> {
      const namesrvPort = await freePort();
      const brokerPort = await freePort(2, [namesrvPort]); // and the next one, the HA port
      const retentionFlags = retention
        ? ["--commitlog-file-bytes", String(retention.commitLogFileBytes), "--file-reserved-hours", String(retention.fileReservedHours),
          "--disk-max-used-ratio", String(retention.diskMaxUsedPercent)]
        : [];
      const errFile = join(dataDir, "..", "bolide.err");
      const child = track(
        Bun.spawn(
          [binary, "--data-dir", dataDir, "--namesrv-port", String(namesrvPort), "--broker-port", String(brokerPort), "--broker-ip", "127.0.0.1",
            "--listen-host", "127.0.0.1", "--http-port", "0", "--flush", flush, ...retentionFlags],
          { stdout: Bun.file(join(dataDir, "..", "bolide.out")), stderr: Bun.file(errFile), stdin: "ignore" },
        ),
      );
      try {
        await waitPort(brokerPort, 30_000, () => child.exitCode === null);
        await waitPort(namesrvPort, 30_000, () => child.exitCode === null);
      } catch (error) {
        // What the broker said is the useful part of "failed to start".
        let said = "";
        try {
          said = lastLine(readFileSync(errFile, "utf8"));
        } catch {}
        child.kill("SIGKILL");
        const code = await child.exited;
        throw new Error(`${binary}: ${(error as Error).message} (exit code ${code})${said ? `: ${said}` : ""}`);
      }
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

export const bolideTargets: Target[] = [bolide("async"), bolide("sync")];
