// Packaging (issue 9, parts 1 and 2): the systemd units verify, install-service writes them, the
// binary signals readiness and shutdown on a fake NOTIFY_SOCKET, and `npm run release` gives
// files whose SHA256SUMS verify and whose binary runs from an empty folder.
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { sdNotify, SdNotifyStatus } from "../../src/cli/sd_notify.ts";
import packageJson from "../../package.json" with { type: "json" };
import { binaryPath, canConnect, cleanupAll, freePort, freePortWithNeighbours, host, repoRoot, runCommand, sleep, startBinary, tempDir, waitUntil } from "./helpers.ts";
import { hasLine, NotifyReceiver, type NotifyMessage } from "./notify_receiver.ts";

afterAll(cleanupAll);

const unitNames = ["bolide.service", "bolide-namesrv.service", "bolide-broker.service"];
const systemdAnalyze = Bun.which("systemd-analyze");

describe("sd_notify", () => {
  test("no NOTIFY_SOCKET: nothing sent; a relative name is refused", () => {
    expect(sdNotify("READY=1", {})).toBe(SdNotifyStatus.unset);
    expect(sdNotify("READY=1", { NOTIFY_SOCKET: "relative/path" })).toBe(SdNotifyStatus.badSocket);
    expect(sdNotify("READY=1", { NOTIFY_SOCKET: `/${"x".repeat(120)}` })).toBe(SdNotifyStatus.badSocket);
  });

  test("reaches a path socket and an abstract one (@name)", async () => {
    const dir = tempDir("bolide-notify-");
    for (const name of [join(dir, "notify"), `@bolide-test-${process.pid}-${Date.now()}`]) {
      const receiver = new NotifyReceiver(name);
      try {
        expect(sdNotify("READY=1\nSTATUS=unit test", { NOTIFY_SOCKET: name })).toBe(SdNotifyStatus.sent);
        await waitUntil(`a datagram on ${name}`, () => receiver.poll().length > 0, 2_000);
        expect(receiver.messages.map((m) => m.text)).toEqual(["READY=1\nSTATUS=unit test"]);
      } finally {
        receiver.close();
      }
    }
    // Nobody listening: a status, not an exception.
    expect(sdNotify("READY=1", { NOTIFY_SOCKET: join(dir, "absent") })).toBe(SdNotifyStatus.sendFailed);
  });

  test("the binary sends READY=1 once both ports listen, STOPPING=1 on SIGTERM, then exits 0", async () => {
    const receiver = new NotifyReceiver(join(tempDir("bolide-notify-"), "notify"));
    try {
      const namesrvPort = await freePort();
      const brokerPort = await freePortWithNeighbours([namesrvPort]);
      // Watch the socket while the binary starts: at READY=1 both ports must already accept.
      let ready: { message: NotifyMessage; namesrv: boolean; broker: boolean } | null = null;
      let watching = true;
      const watcher = (async () => {
        while (watching && ready === null) {
          const message = receiver.poll().find((m) => hasLine(m, "READY=1"));
          if (message) {
            const [namesrv, broker] = await Promise.all([canConnect(namesrvPort), canConnect(brokerPort)]);
            ready = { message, namesrv, broker };
          }
          await sleep(5);
        }
      })();
      const broker = await startBinary({ namesrvPort, brokerPort, env: { NOTIFY_SOCKET: receiver.name } });
      await waitUntil("READY=1", () => ready !== null, 10_000);
      watching = false;
      await watcher;
      expect(ready).not.toBeNull();
      expect(ready!.namesrv).toBe(true);
      expect(ready!.broker).toBe(true);
      expect(receiver.messages.filter((m) => hasLine(m, "READY=1"))).toHaveLength(1);
      expect(receiver.messages.some((m) => hasLine(m, "STOPPING=1"))).toBe(false);

      expect(await broker.stop()).toBe(0);
      receiver.poll();
      const stopping = receiver.messages.filter((m) => hasLine(m, "STOPPING=1"));
      expect(stopping).toHaveLength(1);
      expect(stopping[0]!.text).toContain("STATUS=stopping (SIGTERM)");
      expect(stopping[0]!.atMs).toBeGreaterThanOrEqual(ready!.message.atMs);
    } finally {
      receiver.close();
    }
  }, 60_000);
});

describe("systemd units", () => {
  test("install-service --root writes the units, broker.conf and the binary; --dry-run writes nothing", async () => {
    const root = tempDir("bolide-install-");
    const dry = await runCommand([binaryPath, "install-service", "--role", "split", "--root", root, "--dry-run"], 30_000);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("would write");
    expect(readdirSync(root)).toEqual([]);

    const bad = await runCommand([binaryPath, "install-service", "--role", "both", "--root", root], 30_000);
    expect(bad.code).toBe(2);

    const optRoot = tempDir("bolide-install-");
    const opt = await runCommand([binaryPath, "install-service", "--root", optRoot, "--prefix", "/opt/bolide"], 60_000);
    expect(opt.code).toBe(0);
    expect(readFileSync(join(optRoot, "etc", "systemd", "system", "bolide.service"), "utf8")).toContain("\nExecStart=/opt/bolide/bin/bolide --role all ");
    expect(existsSync(join(optRoot, "opt", "bolide", "bin", "bolide"))).toBe(true);

    for (const role of ["all", "split"]) {
      const r = await runCommand([binaryPath, "install-service", "--role", role, "--root", root], 60_000);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("systemctl daemon-reload");
      expect(r.stdout).toContain("useradd --system");
    }
    for (const unit of unitNames) {
      const text = readFileSync(join(root, "etc", "systemd", "system", unit), "utf8");
      expect(text).toContain("\nExecStart=/usr/local/bin/bolide --role ");
      for (const line of ["Type=notify", "User=bolide", "StateDirectory=bolide", "Restart=on-failure", "LimitNOFILE=65536",
        "ProtectSystem=strict", "ProtectHome=yes", "NoNewPrivileges=yes", "PrivateTmp=yes", "ReadWritePaths=/var/lib/bolide", "TimeoutStopSec=10"]) {
        expect(text.split("\n")).toContain(line);
      }
    }
    expect(readFileSync(join(root, "etc", "bolide", "broker.conf"), "utf8")).toBe(readFileSync(join(repoRoot, "packaging", "broker.conf"), "utf8"));
    const installed = await runCommand([join(root, "usr", "local", "bin", "bolide"), "--version"], 30_000);
    expect(installed.stdout).toStartWith(`bolide ${packageJson.version} `);
  }, 120_000);

  test.skipIf(systemdAnalyze === null)("systemd-analyze verify passes on every unit", async () => {
    const root = tempDir("bolide-verify-");
    for (const role of ["all", "split"]) {
      expect((await runCommand([binaryPath, "install-service", "--role", role, "--root", root], 60_000)).code).toBe(0);
    }
    // verify checks that ExecStart names an executable on this machine, and its --root wants a
    // whole systemd tree: point ExecStart at the copy under the temp root instead.
    const dir = join(root, "verify");
    mkdirSync(dir);
    const units = unitNames.map((unit) => {
      const text = readFileSync(join(root, "etc", "systemd", "system", unit), "utf8");
      writeFileSync(join(dir, unit), text.replace("\nExecStart=/usr/local/bin/bolide ", `\nExecStart=${join(root, "usr", "local", "bin", "bolide")} `));
      return join(dir, unit);
    });
    const verify = await runCommand([systemdAnalyze!, "verify", ...units], 60_000);
    if (verify.code !== 0 || verify.stderr.trim() !== "") console.log(verify.stdout, verify.stderr);
    expect(verify.code).toBe(0);
    // Warnings come on stderr with exit code 0; the units must have none.
    expect(verify.stderr.trim()).toBe("");
  }, 120_000);
  if (systemdAnalyze === null) console.log("packaging.test: systemd-analyze not found (apt-get install systemd): unit verification skipped");
});

describe("release", () => {
  test("npm run release: SHA256SUMS verify, the tarball's binary prints its version and serves from an empty folder", async () => {
    const out = tempDir("bolide-release-");
    // No arm64 here: cross-compiling may need a download; the release script reports that itself.
    const r = await runCommand([process.execPath, join(repoRoot, "scripts", "release.ts"), "--out", out, "--no-arm64"], 170_000);
    if (r.code !== 0) console.log(r.stdout, r.stderr);
    expect(r.code).toBe(0);
    const name = `bolide-${packageJson.version}-linux-x64`;
    expect(readdirSync(out).sort()).toEqual(["SHA256SUMS", name, `${name}.tar.gz`]);

    const sums = readFileSync(join(out, "SHA256SUMS"), "utf8").trim().split("\n");
    expect(sums).toHaveLength(2);
    for (const line of sums) {
      const match = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
      expect(match).not.toBeNull();
      expect(createHash("sha256").update(readFileSync(join(out, match![2]!))).digest("hex")).toBe(match![1]!);
    }
    if (Bun.which("sha256sum") !== null) {
      const check = Bun.spawnSync(["sha256sum", "-c", "SHA256SUMS"], { cwd: out, stdout: "pipe", stderr: "pipe" });
      expect(check.exitCode).toBe(0);
    }

    const unpacked = tempDir("bolide-unpacked-");
    expect(Bun.spawnSync(["tar", "-xzf", join(out, `${name}.tar.gz`), "-C", unpacked]).exitCode).toBe(0);
    const files = readdirSync(join(unpacked, name)).sort();
    expect(files).toEqual(["README.md", "bolide", "broker.conf", "systemd"]);
    expect(readdirSync(join(unpacked, name, "systemd")).sort()).toEqual([...unitNames].sort());

    // From an empty folder, no other files: the version line, with the commit and build date.
    const bin = join(unpacked, name, "bolide");
    const empty = tempDir("bolide-empty-");
    const version = Bun.spawnSync([bin, "--version"], { cwd: empty, stdout: "pipe", stderr: "pipe" });
    expect(version.exitCode).toBe(0);
    const head = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: repoRoot, stdout: "pipe" }).stdout.toString().trim();
    const line = version.stdout.toString().trim();
    expect(line).toMatch(/^bolide \S+ \(commit \S+, built \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\)$/);
    expect(line).toStartWith(`bolide ${packageJson.version} (commit ${head || "unknown"}`);

    // ...and it serves: the default ./data lands in that folder.
    const namesrvPort = await freePort();
    const brokerPort = await freePortWithNeighbours([namesrvPort]);
    const help = Bun.spawnSync([bin, "--help"], { stdout: "pipe" }).stdout.toString();
    const extra = help.includes("--http-port") ? ["--http-port", "0"] : [];
    const outPath = join(tempDir("bolide-logs-"), "run.out");
    const child = Bun.spawn([bin, "--namesrv-port", String(namesrvPort), "--broker-port", String(brokerPort), "--listen-host", host, "--broker-ip", host, ...extra],
      { cwd: empty, stdin: "ignore", stdout: Bun.file(outPath), stderr: "ignore" });
    try {
      // The broker line comes once it has registered, as the SIGTERM handler is installed.
      await waitUntil("the broker line", () => existsSync(outPath) && readFileSync(outPath, "utf8").includes("bolide broker listening"), 15_000);
      expect((await canConnect(namesrvPort)) && (await canConnect(brokerPort))).toBe(true);
      expect(existsSync(join(empty, "data"))).toBe(true);
    } finally {
      child.kill("SIGTERM");
      expect(await child.exited).toBe(0);
    }
  }, 180_000);
});
