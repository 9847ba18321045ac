import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { envNameOf, parseCommandLine, UsageError, type Config } from "./config.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function run(argv: string[], env: Record<string, string> = {}): { config: Config; warnings: string[] } {
  const result = parseCommandLine(argv, env);
  if (result.kind !== "run") throw new Error("expected a run");
  return result;
}

function conf(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "bolide-conf-"));
  dirs.push(dir);
  const path = join(dir, "broker.conf");
  writeFileSync(path, text);
  return path;
}

test("precedence: flags > BOLIDE_* environment > broker.conf > defaults", () => {
  const path = conf("listenPort=20000\nbrokerName=from-file\nbrokerClusterName=FileCluster\n");
  expect(run([]).config.brokerPort).toBe(10911);
  expect(run(["-c", path]).config.brokerPort).toBe(20000);
  expect(run(["-c", path], { BOLIDE_BROKER_PORT: "30000" }).config.brokerPort).toBe(30000);
  expect(run(["-c", path, "--broker-port", "40000"], { BOLIDE_BROKER_PORT: "30000" }).config.brokerPort).toBe(40000);
  const both = run([], { BOLIDE_CONFIG: path, BOLIDE_BROKER_NAME: "from-env" }).config;
  expect([both.brokerName, both.clusterName]).toEqual(["from-env", "FileCluster"]);
  expect(envNameOf("disk-max-used-ratio")).toBe("BOLIDE_DISK_MAX_USED_RATIO");
});

test("a bad value from the environment is a usage error naming the flag", () => {
  expect(() => run([], { BOLIDE_HTTP_PORT: "eighty" })).toThrow(UsageError);
});

test("unknown broker.conf keys are reported once each", () => {
  const path = conf("brokerName=a\nsendMessageThreadPoolNums=64\nmysteryKey=1\n");
  expect(run(["-c", path]).warnings).toEqual([`${path}: key sendMessageThreadPoolNums is not used by Bolide`, `${path}: key mysteryKey is not used by Bolide`]);
});

test("every string flag can come from the environment", () => {
  // A value that no flag accepts shows that the variable reached the flag's check.
  for (const [flag, bad] of [["role", "king"], ["flush", "sometimes"], ["log-level", "loud"], ["delete-when", "4am"]] as const) {
    expect(() => run([], { [envNameOf(flag)]: bad })).toThrow(UsageError);
  }
});

test("ACL: off by default; plain_acl.yml beside the broker.conf, else in the data dir; flag > env > file", () => {
  expect(run([]).config.aclEnable).toBe(false);
  expect(run(["--data-dir", "/srv/d"]).config.aclFile).toBe(join("/srv/d", "plain_acl.yml"));
  const path = conf("aclEnable=true\n");
  const fromFile = run(["-c", path]).config;
  expect(fromFile.aclEnable).toBe(true);
  expect(fromFile.aclFile).toBe(join(path, "..", "plain_acl.yml"));
  expect(run(["-c", conf("aclFile=/etc/x.yml\n")]).config.aclFile).toBe("/etc/x.yml");
  expect(run(["-c", path], { BOLIDE_ACL_ENABLE: "false" }).config.aclEnable).toBe(false);
  expect(run(["--acl-enable", "true", "--acl-file", "/a.yml"], { BOLIDE_ACL_FILE: "/b.yml" }).config).toMatchObject({ aclEnable: true, aclFile: "/a.yml" });
  expect(run(["-c", path]).warnings).toEqual([]);
  expect(() => run(["--acl-enable", "yes"])).toThrow(UsageError);
});

test("replication: brokerRole, brokerId, haListenPort, haMasterAddress, syncFlushTimeout", () => {
  const master = run(["--broker-port", "20911"]).config;
  expect([master.brokerRole, master.brokerId, master.haPort, master.haMasterAddress, master.syncFlushTimeoutMs]).toEqual(["ASYNC_MASTER", 0, 20912, "", 5000]);
  const path = conf("brokerRole=SLAVE\nhaMasterAddress=10.0.0.1:10912\nsyncFlushTimeout=800\nslaveReadEnable=true\n");
  const slave = run(["-c", path]).config;
  expect([slave.brokerRole, slave.brokerId, slave.haMasterAddress, slave.syncFlushTimeoutMs, slave.slaveReadEnable]).toEqual(["SLAVE", 1, "10.0.0.1:10912", 800, true]);
  expect(run([], { BOLIDE_BROKER_ROLE: "sync_master", BOLIDE_HA_PORT: "7000" }).config).toMatchObject({ brokerRole: "SYNC_MASTER", haPort: 7000 });
  expect(run(["--broker-id", "2"]).config.brokerRole).toBe("SLAVE"); // an id above 0 is a slave's
  expect(() => run(["--broker-role", "SYNC_MASTER", "--broker-id", "1"])).toThrow(UsageError);
  expect(() => run(["--broker-role", "LEADER"])).toThrow(UsageError);
  expect(() => run(["--ha-master-address", "nowhere"])).toThrow(UsageError);
});

test("TLS settings: flags, RocketMQ's tls.server.* keys in broker.conf, and their checks", () => {
  expect(run([]).config.tlsMode).toBe("off");
  expect(run([]).config.tlsClient).toBe(false);
  expect(() => run(["--tls-mode", "enforcing"])).toThrow(UsageError); // needs a certificate and a key
  expect(() => run(["--tls-mode", "sometimes"])).toThrow(UsageError);
  const path = conf("tls.server.mode=enforcing\ntls.server.certPath=/etc/bolide/cert.pem\ntls.server.keyPath=/etc/bolide/key.pem\n");
  const fromFile = run(["-c", path]);
  expect([fromFile.config.tlsMode, fromFile.config.tlsCertPath, fromFile.config.tlsKeyPath, fromFile.config.tlsClient]).toEqual([
    "enforcing", "/etc/bolide/cert.pem", "/etc/bolide/key.pem", true,
  ]);
  expect(fromFile.warnings).toEqual([]);
  expect(run(["-c", path, "--tls-mode", "disabled"]).config.tlsMode).toBe("off");
  expect(run(["-c", path, "--tls-enable", "false"]).config.tlsClient).toBe(false);
});

test("limits: defaults with their units, flags and broker.conf keys", () => {
  const defaults = run([]).config;
  expect([defaults.connectionsMax, defaults.connectionsPerAddressMax, defaults.requestsInFlightMax]).toEqual([10_000, 1_000, 4_096]);
  expect([defaults.channelIdleTimeoutSeconds, defaults.partialFrameTimeoutMs, defaults.heldPullsMax]).toEqual([120, 30_000, 100_000]);
  expect(defaults.connectionSendBytesMax).toBe(1024 * 1024);
  const path = conf("serverChannelMaxIdleTimeSeconds=60\nmaxConnections=50\nmaxHeldPulls=7\n");
  const fromFile = run(["-c", path, "--partial-frame-timeout-ms", "1500", "--connection-send-bytes-max", "256k"]).config;
  expect([fromFile.channelIdleTimeoutSeconds, fromFile.connectionsMax, fromFile.heldPullsMax]).toEqual([60, 50, 7]);
  expect([fromFile.partialFrameTimeoutMs, fromFile.connectionSendBytesMax]).toEqual([1500, 256 * 1024]);
  expect(() => run(["--max-connections", "0"])).toThrow(UsageError);
  expect(() => run(["--connection-send-bytes-max", "1k"])).toThrow(UsageError);
});
