// npm run release [-- --out DIR] [--no-arm64]: the files people download.
//   DIR/bolide-<version>-linux-x64            the binary (and -linux-arm64 when bun can cross-compile)
//   DIR/bolide-<version>-linux-x64.tar.gz     bolide-<version>-linux-x64/{bolide, broker.conf,
//                                             systemd/*.service, README.md} (and the same for arm64)
//   DIR/SHA256SUMS                            `sha256sum -c SHA256SUMS` checks every file above
// Default DIR: dist/release (emptied first). Cross-compiling needs bun's runtime for the other
// target: bun downloads it once into its cache; offline and uncached, arm64 is skipped with a note.
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import packageJson from "../package.json" with { type: "json" };
import { buildDate, compile, gitCommit, root } from "./compile.ts";

const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: { out: { type: "string" }, "no-arm64": { type: "boolean", default: false } },
});
const outDir = resolve(flags.out ?? join(root, "dist", "release"));
const version = packageJson.version;
const commit = gitCommit();
const date = buildDate();
const targets = [
  { arch: "x64", target: "bun-linux-x64", required: true },
  ...(flags["no-arm64"] ? [] : [{ arch: "arm64", target: "bun-linux-arm64", required: false }]),
];

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
const notes: string[] = [];
const built: string[] = [];

for (const { arch, target, required } of targets) {
  const name = `bolide-${version}-linux-${arch}`;
  const binary = join(outDir, name);
  const started = Date.now();
  const result = compile({ outfile: binary, target, commit, date, timeoutMs: 180_000 });
  if (result.exitCode !== 0 || !existsSync(binary)) {
    const why = result.stderr.trim().split("\n").slice(-3).join(" / ") || `exit code ${result.exitCode}`;
    if (required) {
      process.stderr.write(`release: ${target} build failed: ${result.stderr}\n`);
      process.exit(1);
    }
    notes.push(`${arch}: skipped, bun could not cross-compile for ${target} here (${why})`);
    rmSync(binary, { force: true });
    continue;
  }
  chmodSync(binary, 0o755);
  built.push(basename(binary));

  // The tarball's folder: the binary as plain `bolide`, the sample config and the units.
  const stage = join(outDir, `.stage-${arch}`, name);
  mkdirSync(join(stage, "systemd"), { recursive: true });
  copyFileSync(binary, join(stage, "bolide"));
  chmodSync(join(stage, "bolide"), 0o755);
  copyFileSync(join(root, "packaging", "broker.conf"), join(stage, "broker.conf"));
  for (const unit of readdirSync(join(root, "packaging", "systemd"))) {
    if (unit.endsWith(".service")) copyFileSync(join(root, "packaging", "systemd", unit), join(stage, "systemd", unit));
  }
  copyFileSync(join(root, "README.md"), join(stage, "README.md"));
  const tarball = `${name}.tar.gz`;
  const tar = Bun.spawnSync(
    ["tar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "-czf", join(outDir, tarball), "-C", join(outDir, `.stage-${arch}`), name],
    { stdout: "inherit", stderr: "pipe" },
  );
  rmSync(join(outDir, `.stage-${arch}`), { recursive: true, force: true });
  if (tar.exitCode !== 0) {
    process.stderr.write(`release: tar failed: ${tar.stderr.toString()}\n`);
    process.exit(1);
  }
  built.push(tarball);
  notes.push(`${arch}: ${name} and ${tarball} (${Math.round((Date.now() - started) / 1000)} s)`);
}

// Two spaces between hash and name: the format `sha256sum -c` reads.
const sums = built.map((file) => `${createHash("sha256").update(readFileSync(join(outDir, file))).digest("hex")}  ${file}\n`).join("");
writeFileSync(join(outDir, "SHA256SUMS"), sums);

process.stdout.write(`bolide ${version} (commit ${commit}, built ${date}) → ${outDir}\n`);
for (const note of notes) process.stdout.write(`  ${note}\n`);
process.stdout.write(`  SHA256SUMS: ${built.length} files (check: cd ${outDir} && sha256sum -c SHA256SUMS)\n`);
