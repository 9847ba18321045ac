// Shared by scripts/build.ts and scripts/release.ts: `bun build --compile` of src/main.ts with the
// build facts `bolide --version` prints (src/build_info.ts) injected as string literals.
import { join } from "node:path";

export const root = join(import.meta.dir, "..");

/** HEAD's commit (12 hex digits, "-dirty" when tracked files differ), or "unknown" without git. Read-only git calls. */
export function gitCommit(): string {
  const head = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: root, stdout: "pipe", stderr: "ignore" });
  if (head.exitCode !== 0) return "unknown";
  const commit = head.stdout.toString().trim();
  const diff = Bun.spawnSync(["git", "diff-index", "--quiet", "HEAD", "--"], { cwd: root, stdout: "ignore", stderr: "ignore" });
  return diff.exitCode === 1 ? `${commit}-dirty` : commit;
}

/** UTC build time to the second; SOURCE_DATE_EPOCH (seconds) pins it for reproducible builds. */
export function buildDate(): string {
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const ms = epoch !== undefined && /^\d+$/.test(epoch) ? Number(epoch) * 1000 : Date.now();
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export interface CompileOptions {
  outfile: string;
  /** A bun --target such as "bun-linux-arm64"; the host's when absent. */
  target?: string;
  commit?: string;
  date?: string;
  timeoutMs?: number;
}

/** Compiles the binary; returns bun's exit code and its stderr (for the caller to print or report). */
export function compile(options: CompileOptions): { exitCode: number; stderr: string } {
  const commit = options.commit ?? gitCommit();
  const date = options.date ?? buildDate();
  const argv = [
    // --bytecode: the bundle ships as precompiled JSC bytecode, so start-up skips parsing ~250
    // modules: `bolide --version` 100 ms -> 20 ms, cold start to the first acked send ~145 ms ->
    // ~50 ms (2 vCPU). ESM output because main.ts uses top-level await.
    process.execPath, "build", "--compile", "--bytecode", "--format=esm", "--minify-syntax",
    ...(options.target !== undefined ? [`--target=${options.target}`] : []),
    "--define", `BOLIDE_COMMIT=${JSON.stringify(commit)}`,
    "--define", `BOLIDE_BUILD_DATE=${JSON.stringify(date)}`,
    join(root, "src", "main.ts"), "--outfile", options.outfile,
  ];
  const result = Bun.spawnSync(argv, { cwd: root, stdout: "pipe", stderr: "pipe", timeout: options.timeoutMs ?? 300_000 });
  return { exitCode: result.exitCode ?? 1, stderr: result.stderr.toString() };
}
