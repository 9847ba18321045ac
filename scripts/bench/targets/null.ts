// The null broker (null_broker.ts): stores nothing; what the client and the machine can drive.
import { join } from "node:path";
import { freePort, track, waitPort } from "../lib/proc.ts";
import type { Running, Target } from "./types.ts";

export const nullTarget: Target = {
  id: "null",
  family: "null",
  broker: "null broker (Bun TCP server: acks sends, stores nothing, relays live pulls)",
  durability: "none",
  client: "remoting",
  clientLabel: "raw remoting client (Bun)",
  rocketmqProtocol: false,
  retention: { skip: "the null broker stores nothing" },
  async install() {
    return null;
  },
  async start(): Promise<Running> {
    const port = await freePort();
    const child = track(Bun.spawn([process.execPath, join(import.meta.dir, "../null_broker.ts"), "--port", String(port)], { stdout: "ignore", stderr: "inherit", stdin: "ignore" }));
    await waitPort(port, 10_000, () => child.exitCode === null);
    return {
      endpoint: `ns:127.0.0.1:${port}`,
      pids: () => [child.pid],
      async stop() {
        child.kill("SIGTERM");
        await child.exited;
      },
    };
  },
};
