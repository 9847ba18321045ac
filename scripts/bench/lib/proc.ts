// Processes the suite starts: every one is registered here and killed when the suite exits,
// also on Ctrl-C / SIGTERM. Plus the small helpers targets need (port waits, RSS, commands).
import type { Subprocess } from "bun";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";

const live = new Set<Subprocess>();
const pidFiles = new Set<() => void>();

export function track(child: Subprocess): Subprocess {
  live.add(child);
  void child.exited.then(() => live.delete(child));
  return child;
}

/** A cleanup to run at exit (e.g. "rocketmq.sh stop <dir>" for daemons not started by Bun.spawn). */
/** Sends SIGTERM, then SIGKILL if `child` has not exited within `graceMs`; resolves once it has exited. */
export async function stopGracefully(child: Subprocess, graceMs: number): Promise<void> {
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await child.exited;
  clearTimeout(timer);
}

export function atExit(cleanup: () => void): () => void {
  pidFiles.add(cleanup);
  return () => pidFiles.delete(cleanup);
}

export function killAll(): void {
  for (const child of live) {
    // the whole tree: a broker started through a script (RabbitMQ) runs as its child
    for (const pid of processTree(child.pid).reverse()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
  }
  for (const cleanup of pidFiles) {
    try {
      cleanup();
    } catch {}
  }
  pidFiles.clear();
}

let installed = false;
export function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping every broker and client started\n`);
      killAll();
      process.exit(130);
    });
  }
  process.on("exit", killAll);
}

export function portOpen(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Free ports (below the ephemeral range, never handed out twice): scripts/lib/ports.ts. */
export { freePort, freePortWithNeighbours } from "../../lib/ports.ts";

export async function waitPort(port: number, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (await portOpen(port)) return;
    if (!alive()) throw new Error(`exited before port ${port} opened`);
    await Bun.sleep(20);
  }
  throw new Error(`port ${port} not open after ${timeoutMs} ms`);
}

/** The pid and all its descendants (from /proc/<pid>/stat parent links). */
export function processTree(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = parents.get(ppid) ?? [];
      list.push(Number(entry));
      parents.set(ppid, list);
    } catch {}
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift()!;
    out.push(next);
    queue.push(...(parents.get(next) ?? []));
  }
  return out;
}

/** Whether a process with this pid exists (signal 0). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resident set size of a process in bytes (VmRSS), 0 if it is gone. */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Runs a command to completion; returns its exit code and combined output (tail). */
export async function run(cmd: string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<{ code: number; output: string }> {
  const child = track(Bun.spawn(cmd, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdout: "pipe", stderr: "pipe", stdin: "ignore" }));
  const timer = options.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), options.timeoutMs) : undefined;
  const [out, err] = await Promise.all([new Response(child.stdout as ReadableStream).text(), new Response(child.stderr as ReadableStream).text()]);
  const code = await child.exited;
  if (timer) clearTimeout(timer);
  return { code, output: (out + err).slice(-4000) };
}

export function which(name: string): string | null {
  for (const dir of (process.env["PATH"] ?? "").split(":")) {
    const path = `${dir}/${name}`;
    if (dir && existsSync(path)) return path;
  }
  for (const dir of ["/usr/sbin", "/usr/lib/rabbitmq/bin"]) if (existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  return null;
}

/** Installs Debian packages if `probe` is not on the PATH. Returns a skip reason, or null. */
export async function aptInstall(probe: string, packages: string[]): Promise<string | null> {
  if (which(probe)) return null;
  if (process.getuid?.() !== 0) return `${probe} not installed and not root (apt-get install ${packages.join(" ")})`;
  let result = await run(["apt-get", "install", "-y", "-q", "--no-install-recommends", ...packages], { env: { DEBIAN_FRONTEND: "noninteractive" }, timeoutMs: 600_000 });
  if (result.code !== 0) {
    await run(["apt-get", "update", "-q"], { timeoutMs: 300_000 });
    result = await run(["apt-get", "install", "-y", "-q", "--no-install-recommends", ...packages], { env: { DEBIAN_FRONTEND: "noninteractive" }, timeoutMs: 600_000 });
  }
  if (result.code !== 0 || !which(probe)) return `apt-get install ${packages.join(" ")} failed: ${lastLine(result.output)}`;
  return null;
}

/** Resolves a Maven classpath for a pom (offline first). Returns the classpath or throws with a reason. */
export async function mavenClasspath(pomDir: string): Promise<string> {
  const out = `${pomDir}/target/classpath.txt`;
  if (existsSync(out)) return readFileSync(out, "utf8").trim();
  if (!which("mvn")) throw new Error("mvn not installed (apt-get install maven)");
  let result = await run(["mvn", "-o", "-q", "-B", "-f", `${pomDir}/pom.xml`, "dependency:build-classpath", `-Dmdep.outputFile=${out}`], { timeoutMs: 300_000 });
  if (result.code !== 0) result = await run(["mvn", "-q", "-B", "-f", `${pomDir}/pom.xml`, "dependency:build-classpath", `-Dmdep.outputFile=${out}`], { timeoutMs: 600_000 });
  if (result.code !== 0) throw new Error(`maven could not resolve ${pomDir}/pom.xml: ${lastLine(result.output)}`);
  return readFileSync(out, "utf8").trim();
}

export function lastLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l.length > 0 && !/^\[ERROR\] *$/.test(l));
  const error = lines.find((l) => l.includes("ERROR")) ?? lines[lines.length - 1] ?? "";
  return error.slice(0, 300);
}
