// Runs one workload client process (worker.ts) with `spec` and returns its JSON result line. The
// process is tracked (lib/proc.ts: killed if the bench stops) and killed after `timeoutMs`.
// A result that carries `error` without any acknowledged send is thrown as that error.
import { join } from "node:path";
import { lastLine, track } from "../lib/proc.ts";
import type { WorkerSpec } from "./worker.ts";

const workerPath = join(import.meta.dir, "worker.ts");

export async function runWorker<T>(spec: WorkerSpec, timeoutMs: number): Promise<T> {
  const child = track(
    Bun.spawn([process.execPath, workerPath, JSON.stringify(spec)], {
      cwd: join(import.meta.dir, ".."), stdout: "pipe", stderr: "pipe", stdin: "ignore",
    }),
  );
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const [out, err] = await Promise.all([new Response(child.stdout as ReadableStream).text(), new Response(child.stderr as ReadableStream).text()]);
  await child.exited;
  clearTimeout(timer);
  const line = out.trim().split("\n").pop() ?? "";
  let parsed: (T & { error?: string }) | null = null;
  try {
    parsed = JSON.parse(line) as T & { error?: string };
  } catch {}
  if (!parsed) throw new Error(child.signalCode === "SIGKILL" ? `worker timed out after ${timeoutMs} ms` : `worker failed: ${lastLine(err || out)}`);
  if (parsed.error && !("acked" in parsed)) throw new Error(parsed.error);
  return parsed;
}
