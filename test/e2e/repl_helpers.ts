// Replication test helpers: a name server alone, masters and slaves as separate `--role broker`
// processes of the compiled binary, runtime info over the remoting protocol, and a byte-for-byte
// comparison of two commit logs.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { newRequest } from "../../src/net/remoting_command.ts";
import { RequestCode } from "../../src/net/request_code.ts";
import { RemotingClient } from "../../src/net/tcp_client.ts";
import { decodeJsonBody } from "../../src/protocol/json_body.ts";
import { type Broker, freePortWithNeighbours, startBinary, waitUntil } from "./helpers.ts";

/** 1 MiB segments (so tests cross file boundaries), bodies up to 256 KiB. */
export const smallSegments = ["--commitlog-file-bytes", "1m", "--message-bytes-max", "256k", "--log-level", "info"];

export function startNamesrv(): Promise<Broker> {
  return startBinary({ role: "namesrv", extraArgs: ["--log-level", "info"] });
}

export interface ReplBrokerOptions {
  namesrvAddr: string;
  brokerName: string;
  role: "ASYNC_MASTER" | "SYNC_MASTER" | "SLAVE";
  extraArgs?: string[];
}

/** A master or slave (`--role broker`); a master's HA port is its broker port + 1 (kept free). */
export async function startReplBroker(options: ReplBrokerOptions): Promise<Broker> {
  const brokerPort = await freePortWithNeighbours();
  return startBinary({
    role: "broker",
    brokerPort,
    extraArgs: [
      "--namesrv-addr", options.namesrvAddr, "--broker-name", options.brokerName, "--broker-role", options.role,
      ...smallSegments, ...(options.extraArgs ?? []),
    ],
  });
}

let client = new RemotingClient();

/** Closes the helpers' connections (a test file's afterAll); later calls open new ones. */
export function closeReplClient(): void {
  client.close();
  client = new RemotingClient();
}

/** GET_BROKER_RUNTIME_INFO (28)'s table; empty when the broker refused (Apache RocketMQ does, for its first second). */
export async function runtimeInfo(brokerAddr: string): Promise<Record<string, string>> {
  const response = await client.invoke(brokerAddr, newRequest(RequestCode.GET_BROKER_RUNTIME_INFO), 3000);
  if (response.code !== 0) return {};
  return (decodeJsonBody(response.body) as { table: Record<string, string> }).table;
}

export async function commitLogMaxOffset(brokerAddr: string): Promise<number> {
  return Number((await runtimeInfo(brokerAddr)).commitLogMaxOffset);
}

/**
 * Waits until the slave is connected to the master and its commit log ends where the master's
 * does (returns that offset).
 */
export async function waitCaughtUp(master: Broker, slave: Broker, timeoutMs = 20_000): Promise<number> {
  let offset = -1;
  await waitUntil("the slave to catch up with the master", async () => {
    const [m, s] = await Promise.all([runtimeInfo(master.brokerAddr), commitLogMaxOffset(slave.brokerAddr)]);
    offset = s;
    return Number(m.haSlaveCount) > 0 && Number(m.commitLogMaxOffset) === s && s > 0;
  }, timeoutMs);
  return offset;
}

/** VIEW_MESSAGE_BY_ID (33) at a commit-log offset: the stored record, or null. */
export async function recordAt(brokerAddr: string, physicalOffset: number): Promise<Uint8Array | null> {
  const response = await client.invoke(brokerAddr, newRequest(RequestCode.VIEW_MESSAGE_BY_ID, { offset: String(physicalOffset) }), 3000);
  return response.code === 0 ? response.body : null;
}

/**
 * Compares the commit-log files of two data dirs byte for byte below `upTo`; returns the number
 * of bytes compared, throws naming the first difference. Files must carry the same names.
 */
export function compareCommitLogs(masterDir: string, slaveDir: string, upTo: number): number {
  const names = readdirSync(join(slaveDir, "commitlog")).filter((name) => /^\d{20}$/.test(name)).sort();
  let compared = 0;
  for (const name of names) {
    const from = Number(name);
    if (from >= upTo) break;
    const a = readFileSync(join(masterDir, "commitlog", name));
    const b = readFileSync(join(slaveDir, "commitlog", name));
    const end = Math.min(a.length, b.length, upTo - from);
    for (let i = 0; i < end; i++) {
      if (a[i] !== b[i]) throw new Error(`commit logs differ at ${from + i} (file ${name}): master ${a[i]}, slave ${b[i]}`);
    }
    compared += end;
  }
  return compared;
}

/** The commit-log offset an offset message id carries (32 hex digits: ip 8, port 8, offset 16). */
export function physicalOffsetOf(offsetMsgId: string): number {
  return Number.parseInt(offsetMsgId.slice(-16), 16);
}
