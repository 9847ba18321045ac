/**
 * bolide install-service (src/cli/install_service.ts): installs the systemd units embedded in the
 * binary (packaging/systemd/), the sample /etc/bolide/broker.conf, the binary itself and the
 * `bolide` system user, then prints the systemctl commands to run. It starts nothing itself.
 *
 *   bolide install-service [--role all|split] [--prefix /usr/local] [--root DIR] [--dry-run]
 *
 * --role all installs bolide.service (name server and broker in one process); split installs
 * bolide-namesrv.service and bolide-broker.service. The binary goes to <prefix>/bin/bolide (the
 * running one is copied there unless it already is that file) and ExecStart points at it.
 * --root DIR writes under DIR instead of / and skips the user (for packaging and tests);
 * --dry-run prints what it would do. An existing broker.conf is kept; units are overwritten.
 */
import { copyFileSync, existsSync, mkdirSync, realpathSync, writeFileSync, chmodSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import unitAll from "../../packaging/systemd/bolide.service" with { type: "text" };
import unitNamesrv from "../../packaging/systemd/bolide-namesrv.service" with { type: "text" };
import unitBroker from "../../packaging/systemd/bolide-broker.service" with { type: "text" };
import brokerConf from "../../packaging/broker.conf" with { type: "text" };

export const installServiceUsage = `Usage: bolide install-service [--role all|split] [--prefix /usr/local] [--root DIR] [--dry-run]
  --role all|split   all: bolide.service (default); split: bolide-namesrv.service + bolide-broker.service
  --prefix DIR       the binary goes to DIR/bin/bolide (default /usr/local)
  --root DIR         install under DIR instead of / and do not create the user (packaging, tests)
  --dry-run          print what would be done, change nothing`;

/** The path the embedded units start; install-service rewrites it to <prefix>/bin/bolide. */
export const unitExecPath = "/usr/local/bin/bolide";
export const embeddedUnits: Readonly<Record<string, string>> = {
  "bolide.service": unitAll,
  "bolide-namesrv.service": unitNamesrv,
  "bolide-broker.service": unitBroker,
};
export const serviceUser = "bolide";
export const stateDir = "/var/lib/bolide";

/** A unit's text with ExecStart pointing at `binaryPath`. */
export function renderUnit(name: string, binaryPath: string): string {
  const text = embeddedUnits[name];
  if (text === undefined) throw new Error(`no embedded unit ${name}`);
  if (!text.includes(`ExecStart=${unitExecPath} `)) throw new Error(`${name}: ExecStart does not start ${unitExecPath}`);
  return text.replaceAll(`ExecStart=${unitExecPath} `, `ExecStart=${binaryPath} `);
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/** Runs the subcommand; returns the exit code. `out`/`err` print one line each. */
export function runInstallService(argv: string[], out: (line: string) => void, err: (line: string) => void): number {
  let flags;
  try {
    flags = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        role: { type: "string", default: "all" },
        prefix: { type: "string", default: "/usr/local" },
        root: { type: "string" },
        "dry-run": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }).values;
  } catch (error) {
    err(`bolide install-service: ${error instanceof Error ? error.message : String(error)}\n${installServiceUsage}`);
    return 2;
  }
  if (flags.help) {
    out(installServiceUsage);
    return 0;
  }
  if (flags.role !== "all" && flags.role !== "split") {
    err(`bolide install-service: --role: expected all or split, got ${flags.role}\n${installServiceUsage}`);
    return 2;
  }
  if (!flags.prefix.startsWith("/")) {
    err(`bolide install-service: --prefix must be an absolute path, got ${flags.prefix}`);
    return 2;
  }
  const root = flags.root !== undefined ? resolve(flags.root) : "/";
  const dryRun = flags["dry-run"];
  if (flags.root === undefined && !dryRun && process.getuid?.() !== 0) {
    err("bolide install-service: must run as root (or use --root DIR / --dry-run)");
    return 1;
  }
  const under = (path: string): string => join(root, path);
  const binaryPath = join(flags.prefix, "bin", "bolide"); // as systemd sees it
  const units = flags.role === "all" ? ["bolide.service"] : ["bolide-namesrv.service", "bolide-broker.service"];
  const act = (what: string, action: () => void): void => {
    out(`${dryRun ? "would " : ""}${what}`);
    if (!dryRun) action();
  };

  // Run from source (bun src/main.ts) process.execPath is bun itself: nothing to copy.
  const compiled = Bun.main.startsWith("/$bunfs/");
  if (!compiled && !dryRun) {
    err("bolide install-service: run it from the compiled binary (npm run build: dist/bolide), not from source");
    return 1;
  }
  try {
    const self = process.execPath;
    if (sameFile(self, under(binaryPath))) out(`${under(binaryPath)}: already this binary`);
    else {
      act(`copy ${self} to ${under(binaryPath)}`, () => {
        mkdirSync(dirname(under(binaryPath)), { recursive: true });
        copyFileSync(self, under(binaryPath));
        chmodSync(under(binaryPath), 0o755);
      });
    }
    const confPath = under("/etc/bolide/broker.conf");
    if (existsSync(confPath)) out(`${confPath}: kept`);
    else {
      act(`write ${confPath}`, () => {
        mkdirSync(dirname(confPath), { recursive: true });
        writeFileSync(confPath, brokerConf, { mode: 0o644 });
      });
    }
    for (const name of units) {
      const unitPath = under(join("/etc/systemd/system", name));
      act(`write ${unitPath}`, () => {
        mkdirSync(dirname(unitPath), { recursive: true });
        writeFileSync(unitPath, renderUnit(name, binaryPath), { mode: 0o644 });
      });
    }
    const userAdd = ["useradd", "--system", "--user-group", "--home-dir", stateDir, "--no-create-home", "--shell", "/usr/sbin/nologin", serviceUser];
    if (flags.root !== undefined) out(`user ${serviceUser}: not created under --root; on the target run: ${userAdd.join(" ")}`);
    else if (Bun.spawnSync(["getent", "passwd", serviceUser], { stdout: "ignore", stderr: "ignore" }).exitCode === 0) out(`user ${serviceUser}: exists`);
    else {
      act(`create user ${serviceUser}: ${userAdd.join(" ")}`, () => {
        const result = Bun.spawnSync(userAdd, { stdout: "inherit", stderr: "pipe" });
        if (result.exitCode !== 0) throw new Error(`useradd failed (${result.exitCode}): ${result.stderr.toString().trim()}`);
      });
    }
  } catch (error) {
    err(`bolide install-service: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  out("");
  out("Then (systemd creates /var/lib/bolide, owned by bolide, on first start):");
  out("  systemctl daemon-reload");
  out(`  systemctl enable --now ${units.join(" ")}`);
  out(`  systemctl status ${units.join(" ")}`);
  out(`  journalctl -u ${units[0]} -f`);
  return 0;
}
