// A broker the suite can install, start on 127.0.0.1 with its data in a temp dir, and stop.
import type { ClientKind } from "../clients/types.ts";

export interface Running {
  /** What the client adapter connects to (clients/types.ts). */
  endpoint: string;
  /** The broker's processes (name server included), for RSS. */
  pids(): number[];
  stop(): Promise<void>;
}

export interface Target {
  /** Id used on the command line (--targets) and in the results, e.g. "bolide-sync". */
  id: string;
  /** The --targets name that selects it (e.g. "bolide" selects bolide-async and bolide-sync). */
  family: string;
  broker: string;
  /** What an acknowledgement means, as stated in the table. */
  durability: string;
  client: ClientKind;
  clientLabel: string;
  /** Speaks RocketMQ remoting: also run the Java DefaultMQProducer benchmark (workload e). */
  rocketmqProtocol: boolean;
  /** The null broker: produce workloads only (it stores nothing to read back). */
  nullBroker?: boolean;
  /** Installs what is missing; returns a reason to skip the target, or null. */
  install(): Promise<string | null>;
  start(dataDir: string): Promise<Running>;
}
