// Builds the single self-contained binary dist/bolide, with its commit and build date (scripts/compile.ts).
// `bun scripts/build.ts --if-needed` skips the build when dist/bolide is newer than every source file.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { compile, root } from "./compile.ts";

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
  // The units under packaging/ are embedded in the binary too (bolide install-service).
  const newest = Math.max(newestSourceMs(join(root, "src")), newestSourceMs(join(root, "packaging")));
  if (statSync(outfile).mtimeMs > newest) process.exit(0);
}
const result = compile({ outfile });
if (result.exitCode !== 0) {
  process.stderr.write(result.stderr);
  process.exit(result.exitCode);
}
