// End-to-end test helpers: free ports, temporary folders, the compiled broker binary as a child
// process, and Node.js client scripts (ali-ons is a Node library, so its drivers run under `node`).
//
// Every process started here is tracked. Test files must call `afterAll(cleanupAll)`: it SIGKILLs
// whatever is still running, stops real-RocketMQ peers and removes the temporary folders. (Under
// `bun test`, Bun 1.4.5 does not emit process "exit", so the exit hook below only covers scripts.)
//
// Environment:
//   BOLIDE_BIN       path of the broker binary (default <repo>/dist/bolide)
//   E2E_TARGET       "bolide" (default) or "rocketmq": startTarget() then runs real Apache
//                    RocketMQ through scripts/peer/rocketmq.sh, to validate the tests themselves.
//   E2E_KEEP_TMP=1   keep temporary folders (data dirs, broker logs) for inspection.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, freePortWithNeighbours } from "../../scripts/lib/ports.ts";

export const repoRoot = join(import.meta.dir, "..", "..");
export const binaryPath = process.env.BOLIDE_BIN ?? join(repoRoot, "dist", "bolide");
export const peerScriptPath = join(repoRoot, "scripts", "peer", "rocketmq.sh");
export const host = "127.0.0.1";

const startTimeoutMs = 10_000;
const stopTimeoutMs = 20_000;

// ---------------------------------------------------------------------------------------------
// Cleanup registry

const liveProcesses = new Set<Subprocess>();
const tempDirs: string[] = [];
const exitHooks: Array<() => void> = [];

/** SIGKILLs every process started by these helpers that is still running. */
export function killAll(): void {
  for (const proc of liveProcesses) {
    try {
      proc.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  liveProcesses.clear();
  for (const hook of exitHooks.splice(0)) {
    try {
      hook();
    } catch {
      // best effort
    }
  }
}

/** killAll(), then removes every temporary folder (unless E2E_KEEP_TMP=1). Idempotent. */
export function cleanupAll(): void {
  killAll();
  const dirs = tempDirs.splice(0);
  if (process.env.E2E_KEEP_TMP === "1") {
    if (dirs.length > 0) console.log(`E2E_KEEP_TMP=1: kept ${dirs.join(" ")}`);
    return;
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

process.on("exit", cleanupAll);

// ---------------------------------------------------------------------------------------------
// Ports and folders

/** Free ports: see scripts/lib/ports.ts (below the ephemeral range, never handed out twice). */
export { freePort, freePortWithNeighbours };


/** A new empty folder under the OS temp dir, removed when the process exits. */
export function tempDir(prefix = "bolide-e2e-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Resolves true once something accepts a TCP connection on host:port. */
export function canConnect(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on("error", () => {});
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function exitCodeOf(proc: Subprocess): number {
  if (proc.exitCode !== null) return proc.exitCode;
  const signals: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15 };
  return 128 + (signals[proc.signalCode ?? ""] ?? 0);
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function tail(text: string, chars = 4000): string {
  return text.length > chars ? `…${text.slice(-chars)}` : text;
}

// ---------------------------------------------------------------------------------------------
// The broker under test

export interface BrokerOptions {
  /** Data folder; a fresh temp dir when absent. */
  dataDir?: string;
  namesrvPort?: number;
  brokerPort?: number;
  /** Appended to the command line after the standard flags. */
  extraArgs?: string[];
  /** Extra environment for the child. */
  env?: Record<string, string>;
  /**
   * "broker": no name server in the process (pass --namesrv-addr in extraArgs); "namesrv": a name
   * server alone (brokerAddr/brokerPort then mean nothing); default "all".
   */
  role?: "all" | "broker" | "namesrv";
}

export interface Broker {
  readonly namesrvAddr: string;
  readonly brokerAddr: string;
  readonly namesrvPort: number;
  readonly brokerPort: number;
  /** /metrics, /healthz, /readyz (a free port chosen at start; 0 for a real-RocketMQ peer). */
  readonly httpPort: number;
  readonly dataDir: string;
  /** The current process id (changes on restart). */
  readonly pid: number;
  /** SIGTERM, wait for the exit, return the exit code (128 + signal when killed by one). */
  stop(): Promise<number>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<number>;
  /** stop() then start again with the same data dir, ports and arguments; returns stop()'s code. */
  restart(): Promise<number>;
  /** Start again after stop()/kill() (same data dir, ports and arguments). */
  start(): Promise<void>;
  /** stdout + stderr of every run so far, for failure messages. */
  logs(): string;
}

/**
 * Starts `dist/bolide --role all --data-dir D --namesrv-port P1 --broker-port P2 --broker-ip 127.0.0.1
 * --listen-host 127.0.0.1 [extraArgs]` on two free ports and waits until both accept connections.
 * Throws (with the child's stderr) when it exits early or is not listening within 10 s.
 */
export async function startBinary(opts: BrokerOptions = {}): Promise<Broker> {
  if (!existsSync(binaryPath)) {
    throw new Error(`broker binary ${binaryPath} not found: run \`npm run -s build\` first`);
  }
  const dataDir = opts.dataDir ?? tempDir("bolide-data-");
  const logDir = tempDir("bolide-logs-");
  const namesrvPort = opts.namesrvPort ?? (await freePort());
  // Neighbours free too, in case the broker derives extra ports from its own (RocketMQ does).
  const brokerPort = opts.brokerPort ?? (await freePortWithNeighbours([namesrvPort]));
  // Apart from the other two (and the broker's port-2 HA/VIP neighbours): a port just released
  // can come back from the next freePort() while neither of them is listening yet.
  const httpPort = await freePort(1, [namesrvPort, brokerPort - 2, brokerPort - 1, brokerPort, brokerPort + 1]);
  const role = opts.role ?? "all";
  const args = [
    "--role", role,
    "--data-dir", dataDir,
    "--namesrv-port", String(namesrvPort),
    "--broker-port", String(brokerPort),
    "--broker-ip", host,
    "--listen-host", host, // tests talk to 127.0.0.1 only; don't listen on every interface
    "--http-port", String(httpPort), // several brokers run at once: not the default 8080
    ...(opts.extraArgs ?? []),
  ];

  let proc: Subprocess | null = null;
  let runs = 0;
  const logFiles: string[] = [];

  async function start(): Promise<void> {
    if (proc !== null && proc.exitCode === null && proc.signalCode === null) {
      throw new Error("startBinary: already running");
    }
    runs++;
    const outPath = join(logDir, `run${runs}.out`);
    const errPath = join(logDir, `run${runs}.err`);
    logFiles.push(outPath, errPath);
    const child = Bun.spawn([binaryPath, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...(opts.env ?? {}) },
      stdin: "ignore",
      stdout: Bun.file(outPath),
      stderr: Bun.file(errPath),
    });
    proc = child;
    liveProcesses.add(child);
    void child.exited.then(() => liveProcesses.delete(child));

    const deadline = Date.now() + startTimeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        await child.exited;
        throw new Error(
          `bolide exited during start with code ${exitCodeOf(child)}\n` +
            `command: ${binaryPath} ${args.join(" ")}\n` +
            `stderr:\n${tail(readText(errPath))}\nstdout:\n${tail(readText(outPath))}`,
        );
      }
      const [ns, br] = await Promise.all([role === "broker" ? true : canConnect(namesrvPort), role === "namesrv" ? true : canConnect(brokerPort)]);
      // The broker prints its line once it has also registered with the name server: ready.
      if (ns && br && (role === "namesrv" || readText(outPath).includes("bolide broker listening"))) return;
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        await child.exited;
        throw new Error(
          `bolide did not listen on ${namesrvPort} (name server: ${ns}) and ${brokerPort} (broker: ${br}) ` +
            `within ${startTimeoutMs} ms\ncommand: ${binaryPath} ${args.join(" ")}\n` +
            `stderr:\n${tail(readText(errPath))}\nstdout:\n${tail(readText(outPath))}`,
        );
      }
      await sleep(50);
    }
  }

  async function signalAndWait(signal: "SIGTERM" | "SIGKILL"): Promise<number> {
    const child = proc;
    if (child === null) throw new Error("startBinary: not started");
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timeout = sleep(stopTimeoutMs).then(() => "timeout" as const);
    const outcome = await Promise.race([child.exited, timeout]);
    if (outcome === "timeout") {
      child.kill("SIGKILL");
      await child.exited;
      throw new Error(`bolide did not exit within ${stopTimeoutMs} ms of ${signal}; killed it\n${tail(logs())}`);
    }
    return exitCodeOf(child);
  }

  function logs(): string {
    return logFiles.map((path) => `--- ${path}\n${readText(path)}`).join("\n");
  }

  await start();
  return {
    namesrvAddr: `${host}:${namesrvPort}`,
    brokerAddr: `${host}:${brokerPort}`,
    namesrvPort,
    brokerPort,
    httpPort,
    dataDir,
    get pid() {
      return proc?.pid ?? -1;
    },
    stop: () => signalAndWait("SIGTERM"),
    kill: () => signalAndWait("SIGKILL"),
    async restart() {
      const code = await signalAndWait("SIGTERM");
      await start();
      return code;
    },
    start,
    logs,
  };
}

// ---------------------------------------------------------------------------------------------
// Real Apache RocketMQ as the target (validates the tests; needs scripts/peer/rocketmq.sh)

export function peerAvailable(): boolean {
  return existsSync(peerScriptPath);
}

async function runPeerScript(args: string[], timeoutMs = 180_000): Promise<RunResult> {
  return runCommand(["bash", peerScriptPath, ...args], timeoutMs);
}

/** Real RocketMQ 4.9.x behind the same Broker interface (stop/kill/restart work the same way). */
export async function startPeer(opts: BrokerOptions = {}): Promise<Broker> {
  if (!peerAvailable()) throw new Error(`${peerScriptPath} not found`);
  const dataDir = opts.dataDir ?? tempDir("rocketmq-data-");
  const namesrvPort = opts.namesrvPort ?? (await freePort());
  const brokerPort = opts.brokerPort ?? (await freePortWithNeighbours([namesrvPort]));
  const history: string[] = [];
  let running = false;

  async function start(): Promise<void> {
    const r = await runPeerScript(["start", String(namesrvPort), String(brokerPort), dataDir]);
    history.push(`start: code ${r.code}\n${r.stdout}\n${r.stderr}`);
    if (r.code !== 0) throw new Error(`rocketmq.sh start failed (${r.code}):\n${tail(r.stdout)}\n${tail(r.stderr)}`);
    running = true;
  }
  async function stop(): Promise<number> {
    const r = await runPeerScript(["stop", dataDir]);
    history.push(`stop: code ${r.code}\n${r.stdout}\n${r.stderr}`);
    running = false;
    return r.code;
  }
  exitHooks.push(() => {
    if (running) Bun.spawnSync(["bash", peerScriptPath, "stop", dataDir], { stdout: "ignore", stderr: "ignore" });
  });

  await start();
  return {
    namesrvAddr: `${host}:${namesrvPort}`,
    brokerAddr: `${host}:${brokerPort}`,
    namesrvPort,
    brokerPort,
    httpPort: 0,
    dataDir,
    pid: -1,
    stop,
    kill: stop, // the peer script has no kill -9 mode; a clean stop is the closest
    async restart() {
      const code = await stop();
      await start();
      return code;
    },
    start,
    logs: () => history.join("\n"),
  };
}

export const aliOnsScript = "test/e2e/clients/ali_ons.cjs";

/**
 * Creates a topic with UPDATE_AND_CREATE_TOPIC (17) sent by ali-ons, and waits for its route.
 * Real RocketMQ needs this: its name server answers TOPIC_NOT_EXIST for unknown topics and ali-ons
 * does not fall back to TBW102. Bolide auto-creates topics on route lookup instead.
 */
export async function createTopic(broker: Broker, topic: string, queues = 4): Promise<void> {
  const r = await runNode(aliOnsScript, ["create-topic", broker.namesrvAddr, broker.brokerAddr, topic, String(queues)], 30_000);
  if (r.code !== 0) throw new Error(`create-topic ${topic} failed (${r.code}):\n${tail(r.stdout)}\n${tail(r.stderr)}`);
}

export const target: "bolide" | "rocketmq" = process.env.E2E_TARGET === "rocketmq" ? "rocketmq" : "bolide";

/** The broker the e2e tests run against: Bolide by default, real RocketMQ with E2E_TARGET=rocketmq. */
export function startTarget(opts: BrokerOptions = {}): Promise<Broker> {
  return target === "rocketmq" ? startPeer(opts) : startBinary(opts);
}

/** Makes `topic` exist before clients use it: a no-op on Bolide (it auto-creates on lookup). */
export async function prepareTopic(broker: Broker, topic: string): Promise<void> {
  if (target === "rocketmq") await createTopic(broker, topic);
}

// ---------------------------------------------------------------------------------------------
// Child scripts

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

/** Runs a command, collecting its output; SIGKILLs it after timeoutMs (then timedOut is true). */
export async function runCommand(cmd: string[], timeoutMs: number, env?: Record<string, string>): Promise<RunResult> {
  const started = Date.now();
  const proc = Bun.spawn(cmd, {
    cwd: repoRoot,
    env: { ...process.env, ...(env ?? {}) },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  liveProcesses.add(proc);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, timeoutMs);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  liveProcesses.delete(proc);
  return { code: exitCodeOf(proc), stdout, stderr, timedOut, ms: Date.now() - started };
}

/** Runs `node <script> <args…>` (scripts are resolved from the repo root). */
export function runNode(script: string, args: string[], timeoutMs: number, env?: Record<string, string>): Promise<RunResult> {
  const path = script.startsWith("/") ? script : join(repoRoot, script);
  return runCommand(["node", path, ...args], timeoutMs, env);
}

/** The last line of stdout that parses as a JSON object (client drivers print one summary line). */
export function lastJson<T = Record<string, unknown>>(stdout: string): T | null {
  const lines = stdout.trim().split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]?.trim() ?? "";
    if (!line.startsWith("{")) continue;
    try {
      return JSON.parse(line) as T;
    } catch {
      // keep looking
    }
  }
  return null;
}

/** A unique name for topics and groups: letters, digits, '_' (valid for RocketMQ, ≤ 127 bytes). */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e9).toString(36)}`;
}

/** Polls `condition` every 20 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}
