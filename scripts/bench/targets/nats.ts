// NATS JetStream (Debian's nats-server) with file storage.
import { join } from "node:path";
import { aptInstall, track, waitPort, stopGracefully } from "../lib/proc.ts";
import type { Running, Target } from "./types.ts";

const port = 14222;

export const natsTarget: Target = {
  id: "nats",
  family: "nats",
  broker: "NATS JetStream 2.9 (Debian), one stream, 8 subjects",
  durability: "file storage, 1 replica (ack after the write; fsync on nats-server's timer)",
  client: "nats",
  clientLabel: "nats.js 2.29.3 (Bun)",
  rocketmqProtocol: false,
  retention: { skip: "JetStream limits a stream by max_bytes / max_age, not by disk usage; not set up here" },
  async install() {
    return aptInstall("nats-server", ["nats-server"]);
  },
  async start(dataDir): Promise<Running> {
    const child = track(
      Bun.spawn(["nats-server", "-a", "127.0.0.1", "-p", String(port), "-js", "-sd", join(dataDir, "js")], {
        stdout: Bun.file(join(dataDir, "nats.out")), stderr: Bun.file(join(dataDir, "nats.err")), stdin: "ignore",
      }),
    );
    await waitPort(port, 30_000, () => child.exitCode === null);
    return {
      endpoint: `nats://127.0.0.1:${port}`,
      pids: () => [child.pid],
      async stop() {
        await stopGracefully(child, 15_000);
      },
    };
  },
};
