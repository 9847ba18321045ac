// Free TCP ports on 127.0.0.1 for the processes that tests, the soak and the benchmark start.
//
// Not the kernel's listen(0) pick: that port comes from the ephemeral range
// (net.ipv4.ip_local_port_range), where every outgoing connect() takes its source port, so
// between the pick and the child's listen any connection — a port poll, a client — can take it
// and the child fails with "Failed to listen at 127.0.0.1" (seen in CI: the bench smoke's
// bolide-sync, then test/e2e/roles.test.ts). Ports come at random from below that range instead,
// each checked by listening on it, and a port handed out once is not handed out again by the same
// process (it was closed after the check, so the kernel would call it free).
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** Lowest port handed out. */
const portMin = 10_000;
/** Where /proc cannot be read: Linux's default first ephemeral port. */
const ephemeralDefault = 32_768;
/** Random picks before giving up (the span below the ephemeral range holds ~22,000 ports). */
const attemptsMax = 1_000;

const handedOut = new Set<number>();

/** The first port of the kernel's ephemeral range. */
function ephemeralPortMin(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > portMin + 1000 ? low : ephemeralDefault;
  } catch {
    return ephemeralDefault;
  }
}

/** Whether `port` on 127.0.0.1 can be listened on now. */
export function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      resolve(false);
      return;
    }
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * A port p such that p .. p+span-1 are all free on 127.0.0.1 now, below the ephemeral range,
 * none handed out before by this process and none in `avoid`. All `span` ports count as handed
 * out from then on (a broker takes its port and the next one for HA; RocketMQ's p-2 and p+1).
 */
export async function freePort(span = 1, avoid: readonly number[] = []): Promise<number> {
  const max = ephemeralPortMin() - span;
  for (let attempt = 0; attempt < attemptsMax; attempt++) {
    const port = portMin + Math.floor(Math.random() * (max - portMin));
    let free = true;
    for (let next = port; next < port + span && free; next++) {
      free = !handedOut.has(next) && !avoid.includes(next) && (await canListen(next));
    }
    if (!free) continue;
    for (let next = port; next < port + span; next++) handedOut.add(next);
    return port;
  }
  throw new Error(`freePort: no ${span} free port(s) in a row below ${max + span} after ${attemptsMax} picks`);
}

/** A free port p with p-2 .. p+1 free too: RocketMQ's broker also binds p-2 (VIP channel) and p+1 (HA). */
export async function freePortWithNeighbours(avoid: readonly number[] = []): Promise<number> {
  return (await freePort(4, avoid)) + 2;
}
