// Configuration: defaults, the command line, and RocketMQ's broker.conf. Every limit is named
// with its unit. Flags override the file; the file overrides defaults.
import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import type { LogLevel } from "./log.ts";
import { messageDelayLevelDefault, parseDelayLevels } from "./broker/schedule/delay_levels.ts";
import { frameBytesMaxDefault } from "./net/frame.ts";
import type { TlsMode } from "./net/tls.ts";

export type Role = "all" | "namesrv" | "broker";
/** RocketMQ's brokerRole: masters have brokerId 0 and stream their commit log to slaves (src/repl). */
export type BrokerRole = "ASYNC_MASTER" | "SYNC_MASTER" | "SLAVE";

export interface Config {
  role: Role;
  dataDir: string;
  listenHost: string;
  namesrvPort: number;
  brokerPort: number;
  namesrvAddrs: string[];
  brokerName: string;
  clusterName: string;
  brokerId: number;
  brokerRole: BrokerRole;
  /** The master's replication listener (haListenPort); default broker port + 1. */
  haPort: number;
  /** A slave's master HA address (haMasterAddress, host:port); "" = learn it from the name server. */
  haMasterAddress: string;
  /** SYNC_FLUSH and SYNC_MASTER: how long a send waits for the flush or the slave (syncFlushTimeout). */
  syncFlushTimeoutMs: number;
  /** Masters suggest (suggestWhichBrokerId 1) and slaves keep suggesting slave reads (slaveReadEnable). */
  slaveReadEnable: boolean;
  /** Percent of RAM: a pull further behind the log's end than this is "cold" (accessMessageInMemoryMaxRatio). */
  accessMessageInMemoryMaxRatio: number;
  brokerIp: string;
  flush: "sync" | "async";
  autoCreateTopicEnable: boolean;
  defaultTopicQueueNums: number;
  commitLogFileBytes: number;
  consumeQueueEntriesPerFile: number;
  messageBodyBytesMax: number;
  frameBytesMax: number;
  connectionSendBytesMax: number;
  messageDelayLevel: string;
  /** broker.conf transactionTimeOut, transactionCheckInterval (ms) and transactionCheckMax. */
  transactionTimeOutMs: number;
  transactionCheckIntervalMs: number;
  transactionCheckMax: number;
  /** Retention: commit-log files older than this may go (RocketMQ's fileReservedTime, hours). */
  fileReservedHours: number;
  /** Retention: the hours ("04", "01;04") when old files are deleted. */
  deleteWhen: string;
  /** Retention: past this disk use (0..1) old files go at any hour (diskMaxUsedSpaceRatio). */
  diskMaxUsedRatio: number;
  /** Past this disk use (0..1) sends are refused (RocketMQ's diskSpaceWarningLevelRatio, 0.90). */
  diskFullRatio: number;
  /** Past this disk use (0..1) the oldest files go even if young (diskSpaceCleanForciblyRatio, 0.85). */
  diskCleanForciblyRatio: number;
  /** The operator's HTTP port (/metrics, /healthz, /readyz); 0 = off. */
  httpPort: number;
  /** ACL (RocketMQ 4.x plain ACL): off by default; the rules live in aclFile (plain_acl.yml). */
  aclEnable: boolean;
  aclFile: string;
  logLevel: LogLevel;
  /** The broker.conf given (-c / BOLIDE_CONFIG), or null; runtime config updates are saved to it. */
  configFile: string | null;
  /** TLS on the name server and broker ports (RocketMQ's tls.server.mode). */
  tlsMode: TlsMode;
  tlsCertPath: string | null;
  tlsKeyPath: string | null;
  tlsKeyPassword: string | null;
  /** Our own outgoing connections (broker → name servers, name server → brokers) use TLS (RocketMQ's tls.enable). */
  tlsClient: boolean;
  /** Accepted sockets per server, in all and per remote address. */
  connectionsMax: number;
  connectionsPerAddressMax: number;
  /** Requests of one connection processed at once; one more is answered SYSTEM_BUSY. */
  requestsInFlightMax: number;
  /** A connection with nothing read or written for this long is closed (seconds). */
  channelIdleTimeoutSeconds: number;
  /** A frame started and not finished within this long closes its connection (ms). */
  partialFrameTimeoutMs: number;
  /** Pulls held (long polling) at once in the broker; one more is answered SYSTEM_BUSY. */
  heldPullsMax: number;
}

export const usage = `Usage: bolide [options]          (bolide admin --help: the admin commands)
       bolide install-service [--role all|split] [--prefix /usr/local]   (systemd units; --help)
  --role all|namesrv|broker      what to run (default all: name server and broker in one process)
  --data-dir DIR                 where the broker keeps its files (default ./data)
  --namesrv-port N               name server port (default 9876)
  --broker-port N                broker port (default 10911)
  --namesrv-addr H:P[;H:P...]    name servers the broker registers with (default 127.0.0.1:<namesrv-port>)
  --broker-name NAME             (default broker-a)
  --cluster NAME                 (default DefaultCluster)
  --broker-id N                  0 = master (default 0; 1 when --broker-role SLAVE)
  --broker-role ROLE             ASYNC_MASTER, SYNC_MASTER or SLAVE (default ASYNC_MASTER)
  --ha-port N                    replication port of a master (default broker port + 1)
  --ha-master-address H:P        a slave's master HA address (default: learned from the name server)
  --sync-flush-timeout-ms N      SYNC_FLUSH / SYNC_MASTER wait before FLUSH_*_TIMEOUT (default 5000)
  --broker-ip IP                 address clients use to reach the broker (default: first non-loopback IPv4)
  --listen-host HOST             address to listen on (default 0.0.0.0)
  --flush sync|async             SYNC_FLUSH acknowledges after fsync (default async)
  --auto-create-topic true|false create unknown topics on first use (default true)
  --default-topic-queue-nums N   queues of an auto-created topic (default 4)
  --commitlog-file-bytes SIZE    commit-log segment size, e.g. 1g, 64m (default 1g)
  --message-bytes-max SIZE       largest message body (default 4m)
  --frame-bytes-max SIZE         largest remoting frame (default 16m)
  --http-port N                  /metrics, /healthz, /readyz on this port (default 8080; 0 = off)
  --file-reserved-hours N        keep commit-log files at least this long (default 72)
  --delete-when HH[;HH]          hours when old files are deleted (default 04)
  --disk-max-used-ratio PERCENT  past this disk use, delete old files at any hour (default 75)
  --message-delay-level LEVELS   delay levels (default "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h")
  --acl-enable true|false        check requests against plain_acl.yml, RocketMQ 4.x's ACL (default false)
  --acl-file FILE                the ACL file, reloaded when it changes (default plain_acl.yml beside the -c file,
                                 else in the data dir)
  --tls-mode off|permissive|enforcing  TLS on the name server and broker ports (default off)
  --tls-cert-path FILE           PEM certificate chain (needed unless --tls-mode off)
  --tls-key-path FILE            PEM private key
  --tls-key-password PASSWORD    for an encrypted key
  --tls-enable true|false        our own outgoing connections use TLS (default: true when enforcing)
  --max-connections N            accepted connections per port (default 10000)
  --max-connections-per-address N  from one remote address (default 1000)
  --max-in-flight-requests N     requests per connection processed at once, then SYSTEM_BUSY (default 4096)
  --channel-idle-timeout-seconds N  close connections idle this long (default 120)
  --partial-frame-timeout-ms N   close a peer that leaves a frame unfinished this long (default 30000)
  --connection-send-bytes-max SIZE  answers queued per connection before reading pauses (default 1m)
  --max-held-pulls N             long-polling pulls held at once, then SYSTEM_BUSY (default 100000)
  --log-level debug|info|warn|error|silent (default warn)
  -c, --config FILE              a RocketMQ broker.conf (key=value lines)
  -h, --help                     this text
Every flag can also come from the environment as BOLIDE_<FLAG> (BOLIDE_BROKER_PORT=10911);
flags win over the environment, the environment over the broker.conf.
  -v, --version                  version, git commit and build date`;

export class UsageError extends Error {}

export function defaultBrokerIp(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === "IPv4" && !address.internal) return address.address;
  }
  return "127.0.0.1";
}

export function parseSize(text: string, name: string): number {
  const match = /^(\d+)([kmg]?)i?b?$/i.exec(text.trim());
  if (!match) throw new UsageError(`${name}: not a size: ${text}`);
  const unit = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2]!.toLowerCase() as "" | "k" | "m" | "g"];
  return Number(match[1]) * unit;
}

function parseIntIn(text: string, name: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`${name}: not a whole number: ${text}`);
  const value = Number(text);
  if (value < min || value > max) throw new UsageError(`${name}: ${value} is outside ${min}..${max}`);
  return value;
}

function parseRatio(text: string, name: string): number {
  if (!/^(0(\.\d+)?|1(\.0+)?)$/.test(text.trim())) throw new UsageError(`${name}: expected a ratio between 0 and 1 such as 0.90, got ${text}`);
  return Number(text);
}

function parseBool(text: string, name: string): boolean {
  const lower = text.trim().toLowerCase();
  if (lower === "true") return true;
  if (lower === "false") return false;
  throw new UsageError(`${name}: expected true or false, got ${text}`);
}

/** key=value lines of a RocketMQ broker.conf; # comments. */
export function parseBrokerConf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith("!")) continue;
    const at = line.search(/[=:]/);
    if (at < 0) continue;
    out.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return out;
}

/** Every string flag; each can also be set as BOLIDE_<NAME> (envNameOf). */
const stringFlagNames = [
  "role", "data-dir", "namesrv-port", "broker-port", "namesrv-addr", "broker-name", "cluster", "broker-id", "broker-ip",
  "broker-role", "ha-port", "ha-master-address", "sync-flush-timeout-ms", "listen-host", "flush", "auto-create-topic", "default-topic-queue-nums", "commitlog-file-bytes", "message-bytes-max",
  "frame-bytes-max", "message-delay-level", "file-reserved-hours", "http-port", "delete-when", "disk-max-used-ratio",
  "acl-enable", "acl-file", "log-level", "config", "tls-mode", "tls-cert-path", "tls-key-path", "tls-key-password", "tls-enable", "max-connections",
  "max-connections-per-address", "max-in-flight-requests", "channel-idle-timeout-seconds", "partial-frame-timeout-ms",
  "connection-send-bytes-max", "max-held-pulls",
];

/** broker.conf keys Bolide reads; any other key is reported once at start. */
export const knownBrokerConfKeys = new Set([
  "brokerClusterName", "brokerName", "brokerId", "brokerIP1", "brokerRole", "listenPort", "namesrvAddr", "storePathRootDir",
  "flushDiskType", "autoCreateTopicEnable", "defaultTopicQueueNums", "mappedFileSizeCommitLog", "mapedFileSizeCommitLog",
  "maxMessageSize", "messageDelayLevel", "fileReservedTime", "deleteWhen", "diskMaxUsedSpaceRatio", "transactionTimeOut",
  "transactionCheckInterval", "transactionCheckMax", "diskSpaceWarningLevelRatio", "diskSpaceCleanForciblyRatio", "aclEnable", "aclFile",
  "haListenPort", "haMasterAddress", "syncFlushTimeout", "slaveReadEnable", "accessMessageInMemoryMaxRatio",
  "tlsServerMode", "tls.server.mode", "tlsServerCertPath", "tls.server.certPath",
  "tlsServerKeyPath", "tls.server.keyPath", "tlsServerKeyPassword", "tls.server.keyPassword", "tlsEnable", "tls.enable",
  "maxConnections", "maxConnectionsPerAddress", "maxInFlightRequestsPerConnection", "channelIdleTimeoutSeconds",
  "serverChannelMaxIdleTimeSeconds", "partialFrameTimeoutMs", "connectionSendBytesMax", "maxHeldPulls",
]);

export type ParseResult = { kind: "run"; config: Config; warnings: string[] } | { kind: "help" } | { kind: "version" };

/** The environment variable standing for a flag: --broker-port → BOLIDE_BROKER_PORT. */
export function envNameOf(flag: string): string {
  return `BOLIDE_${flag.toUpperCase().replace(/-/g, "_")}`;
}

/**
 * Flags, then BOLIDE_* environment variables, then the broker.conf (-c / BOLIDE_CONFIG), then
 * defaults: the first that sets a value wins.
 */
export function parseCommandLine(argv: string[], env: Record<string, string | undefined> = process.env): ParseResult {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        role: { type: "string" },
        "data-dir": { type: "string" },
        "namesrv-port": { type: "string" },
        "broker-port": { type: "string" },
        "namesrv-addr": { type: "string" },
        "broker-name": { type: "string" },
        cluster: { type: "string" },
        "broker-id": { type: "string" },
        "broker-ip": { type: "string" },
        "broker-role": { type: "string" },
        "ha-port": { type: "string" },
        "ha-master-address": { type: "string" },
        "sync-flush-timeout-ms": { type: "string" },
        "listen-host": { type: "string" },
        flush: { type: "string" },
        "auto-create-topic": { type: "string" },
        "default-topic-queue-nums": { type: "string" },
        "commitlog-file-bytes": { type: "string" },
        "message-bytes-max": { type: "string" },
        "frame-bytes-max": { type: "string" },
        "message-delay-level": { type: "string" },
        "file-reserved-hours": { type: "string" },
        "http-port": { type: "string" },
        "delete-when": { type: "string" },
        "disk-max-used-ratio": { type: "string" },
        "acl-enable": { type: "string" },
        "acl-file": { type: "string" },
        "log-level": { type: "string" },
        "tls-mode": { type: "string" },
        "tls-cert-path": { type: "string" },
        "tls-key-path": { type: "string" },
        "tls-key-password": { type: "string" },
        "tls-enable": { type: "string" },
        "max-connections": { type: "string" },
        "max-connections-per-address": { type: "string" },
        "max-in-flight-requests": { type: "string" },
        "channel-idle-timeout-seconds": { type: "string" },
        "partial-frame-timeout-ms": { type: "string" },
        "connection-send-bytes-max": { type: "string" },
        "max-held-pulls": { type: "string" },
        config: { type: "string", short: "c" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const flags = parsed.values;
  if (flags.help) return { kind: "help" };
  if (flags.version) return { kind: "version" };
  const fromEnv = flags as Record<string, string | boolean | undefined>;
  for (const name of stringFlagNames) {
    const value = env[envNameOf(name)];
    if (fromEnv[name] === undefined && value !== undefined && value !== "") fromEnv[name] = value;
  }

  const file = new Map<string, string>();
  if (flags.config !== undefined) {
    let text: string;
    try {
      text = readFileSync(flags.config, "utf8");
    } catch (error) {
      throw new UsageError(`--config: cannot read ${flags.config}: ${error instanceof Error ? error.message : String(error)}`);
    }
    for (const [key, value] of parseBrokerConf(text)) file.set(key, value);
  }
  const warnings = [...file.keys()].filter((key) => !knownBrokerConfKeys.has(key)).map((key) => `${flags.config}: key ${key} is not used by Bolide`);
  const pick = (flag: string | undefined, ...keys: string[]): string | undefined => {
    if (flag !== undefined) return flag;
    for (const key of keys) if (file.has(key)) return file.get(key);
    return undefined;
  };

  const roleText = flags.role ?? "all";
  if (roleText !== "all" && roleText !== "namesrv" && roleText !== "broker") throw new UsageError(`--role: expected all, namesrv or broker, got ${roleText}`);
  const role: Role = roleText;
  const namesrvPort = parseIntIn(flags["namesrv-port"] ?? "9876", "--namesrv-port", 0, 65535);
  const brokerPort = parseIntIn(pick(flags["broker-port"], "listenPort") ?? "10911", "--broker-port", 0, 65535);
  const namesrvText = pick(flags["namesrv-addr"], "namesrvAddr");
  const namesrvAddrs = (namesrvText ?? `127.0.0.1:${namesrvPort}`).split(";").map((addr) => addr.trim()).filter((addr) => addr.length > 0);
  for (const addr of namesrvAddrs) if (!/^[^:]+:\d+$/.test(addr)) throw new UsageError(`--namesrv-addr: not host:port: ${addr}`);

  let flush: "sync" | "async" = "async";
  const flushText = pick(flags.flush, "flushDiskType");
  if (flushText !== undefined) {
    const lower = flushText.toLowerCase();
    if (lower === "sync" || lower === "sync_flush") flush = "sync";
    else if (lower === "async" || lower === "async_flush") flush = "async";
    else throw new UsageError(`--flush: expected sync or async, got ${flushText}`);
  }
  let brokerId = parseIntIn(pick(flags["broker-id"], "brokerId") ?? "0", "--broker-id", 0, 1024);
  // No role given: a brokerId above 0 is a slave's (RocketMQ: masters are 0, slaves ≥ 1).
  const roleUpper = (pick(flags["broker-role"], "brokerRole") ?? (brokerId > 0 ? "SLAVE" : "ASYNC_MASTER")).trim().toUpperCase();
  if (roleUpper !== "ASYNC_MASTER" && roleUpper !== "SYNC_MASTER" && roleUpper !== "SLAVE") {
    throw new UsageError(`--broker-role: expected ASYNC_MASTER, SYNC_MASTER or SLAVE, got ${roleUpper}`);
  }
  const brokerRole: BrokerRole = roleUpper;
  if (brokerRole === "SLAVE" && brokerId === 0) brokerId = 1;
  if (brokerRole !== "SLAVE" && brokerId !== 0) throw new UsageError(`--broker-id: a master (${brokerRole}) has brokerId 0, got ${brokerId}`);
  const haPort = parseIntIn(pick(flags["ha-port"], "haListenPort") ?? String(brokerPort === 0 ? 0 : brokerPort + 1), "--ha-port", 0, 65535);
  const haMasterAddress = pick(flags["ha-master-address"], "haMasterAddress") ?? "";
  if (haMasterAddress !== "" && !/^[^:]+:\d+$/.test(haMasterAddress)) throw new UsageError(`--ha-master-address: not host:port: ${haMasterAddress}`);

  const logLevel = flags["log-level"] ?? "warn";
  if (!["debug", "info", "warn", "error", "silent"].includes(logLevel)) throw new UsageError(`--log-level: unknown level ${logLevel}`);

  const messageBodyBytesMax = parseSize(pick(flags["message-bytes-max"], "maxMessageSize") ?? "4m", "--message-bytes-max");
  const frameBytesMax = flags["frame-bytes-max"] !== undefined ? parseSize(flags["frame-bytes-max"], "--frame-bytes-max") : frameBytesMaxDefault;
  const commitLogFileBytes = parseSize(pick(flags["commitlog-file-bytes"], "mappedFileSizeCommitLog", "mapedFileSizeCommitLog") ?? "1g", "--commitlog-file-bytes");
  // A frame must carry the largest body plus its header; a commit-log file must hold the largest record.
  if (frameBytesMax < messageBodyBytesMax + 64 * 1024) throw new UsageError("--frame-bytes-max must exceed --message-bytes-max by at least 64k");
  if (commitLogFileBytes < messageBodyBytesMax + 128 * 1024) throw new UsageError("--commitlog-file-bytes must exceed --message-bytes-max by at least 128k");

  const messageDelayLevel = pick(flags["message-delay-level"], "messageDelayLevel") ?? messageDelayLevelDefault;
  try {
    parseDelayLevels(messageDelayLevel);
  } catch (error) {
    throw new UsageError(`--message-delay-level: ${error instanceof Error ? error.message : String(error)}`);
  }

  const dataDir = pick(flags["data-dir"], "storePathRootDir") ?? "./data";
  // RocketMQ keeps conf/plain_acl.yml beside conf/broker.conf; without a broker.conf, the data dir.
  const aclFile = pick(flags["acl-file"], "aclFile") ?? join(flags.config !== undefined ? dirname(flags.config) : dataDir, "plain_acl.yml");

  const deleteWhen = pick(flags["delete-when"], "deleteWhen") ?? "04";
  if (!/^\d{1,2}(;\d{1,2})*$/.test(deleteWhen)) throw new UsageError(`--delete-when: expected hours like 04 or 01;04, got ${deleteWhen}`);

  const tlsModeText = (pick(flags["tls-mode"], "tlsServerMode", "tls.server.mode") ?? "off").toLowerCase();
  const tlsModes: Record<string, TlsMode> = { off: "off", disabled: "off", permissive: "permissive", enforcing: "enforcing" };
  const tlsMode = tlsModes[tlsModeText];
  if (tlsMode === undefined) throw new UsageError(`--tls-mode: expected off, permissive or enforcing, got ${tlsModeText}`);
  const tlsCertPath = pick(flags["tls-cert-path"], "tlsServerCertPath", "tls.server.certPath") ?? null;
  const tlsKeyPath = pick(flags["tls-key-path"], "tlsServerKeyPath", "tls.server.keyPath") ?? null;
  if (tlsMode !== "off" && (tlsCertPath === null || tlsKeyPath === null)) throw new UsageError(`--tls-mode ${tlsMode} needs --tls-cert-path and --tls-key-path`);
  const tlsClientText = pick(flags["tls-enable"], "tlsEnable", "tls.enable");
  const tlsClient = tlsClientText === undefined ? tlsMode === "enforcing" : parseBool(tlsClientText, "--tls-enable");
  const connectionSendBytesMax = parseSize(pick(flags["connection-send-bytes-max"], "connectionSendBytesMax") ?? "1m", "--connection-send-bytes-max");
  if (connectionSendBytesMax < 64 * 1024) throw new UsageError("--connection-send-bytes-max must be at least 64k");

  return {
    kind: "run",
    warnings,
    config: {
      role,
      dataDir,
      listenHost: flags["listen-host"] ?? "0.0.0.0",
      namesrvPort,
      brokerPort,
      namesrvAddrs,
      brokerName: pick(flags["broker-name"], "brokerName") ?? "broker-a",
      clusterName: pick(flags.cluster, "brokerClusterName") ?? "DefaultCluster",
      brokerId,
      brokerRole,
      haPort,
      haMasterAddress,
      syncFlushTimeoutMs: parseIntIn(pick(flags["sync-flush-timeout-ms"], "syncFlushTimeout") ?? "5000", "--sync-flush-timeout-ms", 1, 600_000),
      slaveReadEnable: parseBool(file.get("slaveReadEnable") ?? "false", "slaveReadEnable"),
      accessMessageInMemoryMaxRatio: parseIntIn(file.get("accessMessageInMemoryMaxRatio") ?? "40", "accessMessageInMemoryMaxRatio", 0, 100),
      brokerIp: pick(flags["broker-ip"], "brokerIP1") ?? defaultBrokerIp(),
      flush,
      autoCreateTopicEnable: parseBool(pick(flags["auto-create-topic"], "autoCreateTopicEnable") ?? "true", "--auto-create-topic"),
      defaultTopicQueueNums: parseIntIn(pick(flags["default-topic-queue-nums"], "defaultTopicQueueNums") ?? "4", "--default-topic-queue-nums", 1, 1024),
      commitLogFileBytes,
      consumeQueueEntriesPerFile: 300_000,
      messageBodyBytesMax,
      frameBytesMax,
      connectionSendBytesMax,
      messageDelayLevel,
      fileReservedHours: parseIntIn(pick(flags["file-reserved-hours"], "fileReservedTime") ?? "72", "--file-reserved-hours", 0, 100_000),
      deleteWhen,
      httpPort: parseIntIn(flags["http-port"] ?? "8080", "--http-port", 0, 65535),
      diskMaxUsedRatio: parseIntIn(pick(flags["disk-max-used-ratio"], "diskMaxUsedSpaceRatio") ?? "75", "--disk-max-used-ratio", 10, 95) / 100,
      diskFullRatio: parseRatio(file.get("diskSpaceWarningLevelRatio") ?? "0.90", "diskSpaceWarningLevelRatio"),
      diskCleanForciblyRatio: parseRatio(file.get("diskSpaceCleanForciblyRatio") ?? "0.85", "diskSpaceCleanForciblyRatio"),
      transactionTimeOutMs: parseIntIn(file.get("transactionTimeOut") ?? "6000", "transactionTimeOut", 0, 86_400_000),
      transactionCheckIntervalMs: parseIntIn(file.get("transactionCheckInterval") ?? "60000", "transactionCheckInterval", 100, 86_400_000),
      transactionCheckMax: parseIntIn(file.get("transactionCheckMax") ?? "15", "transactionCheckMax", 1, 1000),
      aclEnable: parseBool(pick(flags["acl-enable"], "aclEnable") ?? "false", "--acl-enable"),
      aclFile,
      logLevel: logLevel as LogLevel,
      configFile: flags.config ?? null,
      tlsMode,
      tlsCertPath,
      tlsKeyPath,
      tlsKeyPassword: pick(flags["tls-key-password"], "tlsServerKeyPassword", "tls.server.keyPassword") ?? null,
      tlsClient,
      connectionsMax: parseIntIn(pick(flags["max-connections"], "maxConnections") ?? "10000", "--max-connections", 1, 1_000_000),
      connectionsPerAddressMax: parseIntIn(pick(flags["max-connections-per-address"], "maxConnectionsPerAddress") ?? "1000", "--max-connections-per-address", 1, 1_000_000),
      requestsInFlightMax: parseIntIn(pick(flags["max-in-flight-requests"], "maxInFlightRequestsPerConnection") ?? "4096", "--max-in-flight-requests", 1, 1_000_000),
      channelIdleTimeoutSeconds: parseIntIn(
        pick(flags["channel-idle-timeout-seconds"], "channelIdleTimeoutSeconds", "serverChannelMaxIdleTimeSeconds") ?? "120",
        "--channel-idle-timeout-seconds", 1, 86_400,
      ),
      partialFrameTimeoutMs: parseIntIn(pick(flags["partial-frame-timeout-ms"], "partialFrameTimeoutMs") ?? "30000", "--partial-frame-timeout-ms", 100, 3_600_000),
      heldPullsMax: parseIntIn(pick(flags["max-held-pulls"], "maxHeldPulls") ?? "100000", "--max-held-pulls", 0, 10_000_000),
    },
  };
}
