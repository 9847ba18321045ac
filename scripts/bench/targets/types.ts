// A broker the suite can install, start on 127.0.0.1 with its data in a temp dir, and stop.
import type { ClientKind } from "../clients/types.ts";

export interface Running {
  /** What the client adapter connects to (clients/types.ts). */
  endpoint: string;
  /** The broker's processes (name server included), for RSS. */
  pids(): number[];
  stop(): Promise<void>;
}

/** Retention settings for workload (g), past retention on a nearly full disk (workloads/definitions.ts). */
export interface RetentionSettings {
  commitLogFileBytes: number;
  /** fileReservedTime: files younger than this are deleted only under disk pressure (forcibly). */
  fileReservedHours: number;
  /** diskMaxUsedSpaceRatio, percent. */
  diskMaxUsedPercent: number;
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
  /**
   * Workload (g): the broker takes RetentionSettings (start's second argument) and keeps its
   * commit log in `commitLogDir(dataDir)` as files named by their first offset, or a reason why
   * the workload does not apply to it (shown in the table).
   */
  retention: { commitLogDir(dataDir: string): string } | { skip: string };
  /** Installs what is missing; returns a reason to skip the target, or null. */
  install(): Promise<string | null>;
  start(dataDir: string, retention?: RetentionSettings): Promise<Running>;
}
