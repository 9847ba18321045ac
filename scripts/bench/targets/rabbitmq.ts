// RabbitMQ (Debian's rabbitmq-server) with quorum queues and publisher confirms; its own epmd on a
// private port so that stopping it leaves nothing behind.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { aptInstall, atExit, processTree, track, waitPort } from "../lib/proc.ts";
import type { Running, Target } from "./types.ts";

const port = 15673;
const distPort = 25673;
const epmdPort = 14369;
const serverScript = "/usr/lib/rabbitmq/bin/rabbitmq-server";

export const rabbitmqTarget: Target = {
  id: "rabbitmq",
  family: "rabbitmq",
  broker: "RabbitMQ 3.10 (Debian), 8 quorum queues",
  durability: "quorum queue (Raft log, fsync before confirm), publisher confirms, persistent messages",
  client: "amqp",
  clientLabel: "amqplib 0.10.9 (Bun)",
  rocketmqProtocol: false,
  retention: { skip: "quorum queues have no disk-usage retention (a disk alarm blocks publishers instead); not set up here" },
  async install() {
    return aptInstall("rabbitmq-server", ["rabbitmq-server"]);
  },
  async start(dataDir): Promise<Running> {
    mkdirSync(join(dataDir, "mnesia"), { recursive: true });
    mkdirSync(join(dataDir, "log"), { recursive: true });
    writeFileSync(join(dataDir, "enabled_plugins"), "[].\n");
    writeFileSync(join(dataDir, "rabbitmq.conf"), "loopback_users = none\nlog.console = false\n");
    const env = {
      ...process.env,
      HOME: dataDir,
      RABBITMQ_NODENAME: "bench@localhost",
      RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
      RABBITMQ_NODE_PORT: String(port),
      RABBITMQ_DIST_PORT: String(distPort),
      ERL_EPMD_PORT: String(epmdPort),
      RABBITMQ_MNESIA_BASE: join(dataDir, "mnesia"),
      RABBITMQ_LOG_BASE: join(dataDir, "log"),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dataDir, "enabled_plugins"),
      RABBITMQ_CONFIG_FILE: join(dataDir, "rabbitmq.conf"),
      RABBITMQ_PID_FILE: join(dataDir, "rabbitmq.pid"),
      RABBITMQ_ALLOW_INPUT: "",
    };
    // epmd daemonizes (its parent becomes init), and `epmd -kill` refuses while a node still looks
    // registered: kill the epmd that carries our environment instead.
    const killEpmd = (): void => {
      for (const entry of readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
          if (!readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("epmd")) continue;
          const environ = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
          if (environ.includes(`ERL_EPMD_PORT=${epmdPort}`) && environ.includes("RABBITMQ_NODENAME=bench@localhost")) process.kill(Number(entry), "SIGKILL");
        } catch {}
      }
    };
    const forget = atExit(killEpmd);
    const child = track(Bun.spawn([serverScript], { env, cwd: dataDir, stdout: Bun.file(join(dataDir, "rabbitmq.out")), stderr: Bun.file(join(dataDir, "rabbitmq.err")), stdin: "ignore" }));
    await waitPort(port, 120_000, () => child.exitCode === null);
    return {
      endpoint: `amqp://guest:guest@127.0.0.1:${port}`,
      pids: () => [child.pid],
      async stop() {
        for (const pid of processTree(child.pid)) {
          try {
            process.kill(pid, "SIGTERM");
          } catch {}
        }
        const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
        await child.exited;
        clearTimeout(timer);
        killEpmd();
        forget();
      },
    };
  },
};
