// Builds the single self-contained binary dist/bolide.
// `bun scripts/build.ts --if-needed` skips the build when dist/bolide is newer than every source file.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const outfile = join(root, "dist", "bolide");

function newestSourceMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMs(path));
    else newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

if (process.argv.includes("--if-needed") && existsSync(outfile)) {
  if (statSync(outfile).mtimeMs > newestSourceMs(join(root, "src"))) process.exit(0);
}
const result = Bun.spawnSync(
  [process.execPath, "build", "--compile", "--minify-syntax", join(root, "src", "main.ts"), "--outfile", outfile],
  { cwd: root, stdout: "pipe", stderr: "inherit" },
);
if (result.exitCode !== 0) process.exit(result.exitCode ?? 1);
