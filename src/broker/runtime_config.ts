/**
 * Runtime broker config (src/broker/runtime_config.ts): GET_BROKER_CONFIG (26) and
 * UPDATE_BROKER_CONFIG (25), as mqadmin's getBrokerConfig / updateBrokerConfig use them.
 *
 * Wire format, both ways: a body of Java properties text, "key=value\n" per key in UTF-8 (what
 * Java's MixAll.properties2String writes and string2Properties reads; no request header). The
 * answer to GET_BROKER_CONFIG also carries extField `version`, the config's data version as JSON.
 *
 * Keys that take effect at once (runtimeKeys below): maxMessageSize, fileReservedTime, deleteWhen,
 * diskMaxUsedSpaceRatio, transactionTimeOut, transactionCheckInterval, transactionCheckMax. An
 * update naming any other key changes nothing and answers SYSTEM_ERROR naming the keys: unknown
 * ones, and broker.conf keys that need a restart (listenPort, brokerName, …). An update is all or
 * nothing: every value is checked before any is applied.
 *
 * Persistence: when the broker was started with -c broker.conf, applied keys are written back to
 * that file (the line replaced in place, or appended; written to a temp file, fsynced and renamed;
 * the old file kept as broker.conf.bak). Without -c they last until the broker stops. A flag or
 * BOLIDE_* variable for the same setting still wins over broker.conf at the next start.
 */
import { readFileSync } from "node:fs";
import { knownBrokerConfKeys, parseBrokerConf, parseSize } from "../config.ts";
import { logScoped } from "../log.ts";
import type { Broker } from "./broker.ts";
import { writeConfigFile } from "./config_file.ts";

const log = logScoped("broker");

interface RuntimeKey {
  /** The current value, as broker.conf would spell it. */
  read(broker: Broker): string;
  /** Checks `text`; returns what applies it, or throws an Error saying what is wrong. */
  parse(text: string, broker: Broker): (broker: Broker) => void;
}

function wholeNumber(text: string, key: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(text)) throw new Error(`${key}: not a whole number: ${text}`);
  const value = Number(text);
  if (value < min || value > max) throw new Error(`${key}: ${value} is outside ${min}..${max}`);
  return value;
}

const hourMs = 3_600_000;

/** Keys that change the running broker. */
export const runtimeKeys: Record<string, RuntimeKey> = {
  maxMessageSize: {
    read: (broker) => String(broker.config.store.messageBodyBytesMax),
    parse: (text, broker) => {
      let bytes: number;
      try {
        bytes = parseSize(text, "maxMessageSize");
      } catch (error) {
        throw new Error(error instanceof Error ? error.message : String(error));
      }
      // A frame must carry the largest body plus its header; a commit-log file must hold the largest record.
      const max = Math.min(broker.config.frameBytesMax - 64 * 1024, broker.config.store.commitLogFileBytes - 128 * 1024);
      if (bytes < 1 || bytes > max) throw new Error(`maxMessageSize: ${bytes} is outside 1..${max} (the frame and commit-log file sizes bound it)`);
      return (target) => {
        target.config.store.messageBodyBytesMax = bytes; // the send path's check
        target.store.config.messageBodyBytesMax = bytes; // the store's own
      };
    },
  },
  fileReservedTime: {
    read: (broker) => String(Math.round((broker.store.config.fileReservedMs ?? 72 * hourMs) / hourMs)),
    parse: (text) => {
      const hours = wholeNumber(text, "fileReservedTime", 0, 100_000);
      return (target) => {
        target.config.store.fileReservedMs = hours * hourMs;
        target.store.config.fileReservedMs = hours * hourMs;
      };
    },
  },
  deleteWhen: {
    read: (broker) => broker.store.config.deleteWhen ?? "04",
    parse: (text) => {
      if (!/^\d{1,2}(;\d{1,2})*$/.test(text) || text.split(";").some((hour) => Number(hour) > 23)) {
        throw new Error(`deleteWhen: expected hours like 04 or 01;04, got ${text}`);
      }
      return (target) => {
        target.config.store.deleteWhen = text;
        target.store.config.deleteWhen = text;
      };
    },
  },
  diskMaxUsedSpaceRatio: {
    read: (broker) => String(Math.round((broker.store.config.diskCleanRatio ?? 0.75) * 100)),
    parse: (text) => {
      const percent = wholeNumber(text, "diskMaxUsedSpaceRatio", 10, 95);
      return (target) => {
        target.config.store.diskCleanRatio = percent / 100;
        target.store.config.diskCleanRatio = percent / 100;
      };
    },
  },
  transactionTimeOut: {
    read: (broker) => String(broker.transactions.config.transactionTimeOutMs),
    parse: (text) => {
      const ms = wholeNumber(text, "transactionTimeOut", 0, 86_400_000);
      return (target) => {
        target.transactions.config.transactionTimeOutMs = ms;
      };
    },
  },
  transactionCheckInterval: {
    read: (broker) => String(broker.transactions.config.transactionCheckIntervalMs),
    parse: (text) => {
      const ms = wholeNumber(text, "transactionCheckInterval", 100, 86_400_000);
      return (target) => {
        target.transactions.config.transactionCheckIntervalMs = ms;
        target.transactions.stop(); // the checker's timer starts again at the new period
        target.transactions.start();
      };
    },
  },
  transactionCheckMax: {
    read: (broker) => String(broker.transactions.config.transactionCheckMax),
    parse: (text) => {
      const checks = wholeNumber(text, "transactionCheckMax", 1, 1000);
      return (target) => {
        target.transactions.config.transactionCheckMax = checks;
      };
    },
  },
};

/** Settings getBrokerConfig shows that only a restart changes. */
function restartOnlyValues(broker: Broker): Record<string, string> {
  const config = broker.config;
  return {
    brokerClusterName: config.clusterName,
    brokerName: config.brokerName,
    brokerId: String(config.brokerId),
    brokerIP1: config.brokerIp,
    brokerRole: config.brokerId === 0 ? "ASYNC_MASTER" : "SLAVE",
    listenPort: broker.brokerAddr.slice(broker.brokerAddr.lastIndexOf(":") + 1),
    namesrvAddr: config.namesrvAddrs.join(";"),
    storePathRootDir: config.store.dataDir,
    flushDiskType: config.store.flush === "sync" ? "SYNC_FLUSH" : "ASYNC_FLUSH",
    autoCreateTopicEnable: String(config.autoCreateTopicEnable),
    defaultTopicQueueNums: String(config.defaultTopicQueueNums),
    mappedFileSizeCommitLog: String(config.store.commitLogFileBytes),
    messageDelayLevel: config.messageDelayLevel,
  };
}

/** broker.conf keys Bolide reads but applies only at start: every known key that is not a runtime one. */
export const restartOnlyKeys = new Set([...knownBrokerConfKeys].filter((key) => !(key in runtimeKeys)));

/** Every setting, sorted, as Java properties text (GET_BROKER_CONFIG's body). */
export function brokerConfigText(broker: Broker): string {
  const values: Record<string, string> = { ...restartOnlyValues(broker) };
  for (const [key, runtime] of Object.entries(runtimeKeys)) values[key] = runtime.read(broker);
  return Object.keys(values)
    .sort()
    .map((key) => `${key}=${values[key]}\n`)
    .join("");
}

/** The config's data version (RocketMQ's DataVersion): bumped by each applied update. */
const versions = new WeakMap<Broker, { counter: number; timestamp: number }>();
export function brokerConfigVersion(broker: Broker): { counter: number; timestamp: number } {
  let version = versions.get(broker);
  if (!version) versions.set(broker, (version = { counter: 0, timestamp: broker.bootTimestampMs }));
  return version;
}

export class BrokerConfigUpdateError extends Error {}

export interface BrokerConfigUpdate {
  applied: Record<string, string>;
  /** Where the keys were saved, or null when they last until the broker stops. */
  savedTo: string | null;
  /** Why saving failed (the keys are applied all the same), or null. */
  saveError: string | null;
}

/**
 * Applies the keys of `text` (properties) to the running broker, all or none, then writes them
 * to the broker.conf the broker started with, if any. Throws BrokerConfigUpdateError naming every
 * key it refuses (unknown, restart-only, or a bad value); nothing is applied then.
 */
export function updateBrokerConfig(broker: Broker, text: string): BrokerConfigUpdate {
  const wanted = parseBrokerConf(text);
  if (wanted.size === 0) throw new BrokerConfigUpdateError("no key=value in the request body");
  const unknown: string[] = [];
  const restartOnly: string[] = [];
  const invalid: string[] = [];
  const appliers: Array<(broker: Broker) => void> = [];
  for (const [key, value] of wanted) {
    const runtime = runtimeKeys[key];
    if (runtime === undefined) {
      (restartOnlyKeys.has(key) ? restartOnly : unknown).push(key);
      continue;
    }
    try {
      appliers.push(runtime.parse(value, broker));
    } catch (error) {
      invalid.push(error instanceof Error ? error.message : String(error));
    }
  }
  const problems: string[] = [];
  if (unknown.length > 0) problems.push(`unknown key${unknown.length > 1 ? "s" : ""}: ${unknown.join(", ")}`);
  if (restartOnly.length > 0) problems.push(`not updatable at runtime (change broker.conf and restart): ${restartOnly.join(", ")}`);
  problems.push(...invalid);
  if (problems.length > 0) {
    throw new BrokerConfigUpdateError(`${problems.join("; ")}. Updatable at runtime: ${Object.keys(runtimeKeys).join(", ")}`);
  }
  for (const apply of appliers) apply(broker);
  const version = brokerConfigVersion(broker);
  version.counter++;
  version.timestamp = broker.io.clock.realtimeMs();
  const applied = Object.fromEntries(wanted);
  log.info("config.updated", { applied });
  const path = broker.config.configFile ?? null;
  if (path === null) return { applied, savedTo: null, saveError: null };
  try {
    writeConfigFile(path, withKeys(readFileSync(path, "utf8"), wanted));
    return { applied, savedTo: path, saveError: null };
  } catch (error) {
    log.warn("config.save_failed", { path, error: String(error) });
    return { applied, savedTo: null, saveError: `${path}: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** broker.conf text with each key of `values` set: its line rewritten in place, or appended. */
export function withKeys(text: string, values: ReadonlyMap<string, string>): string {
  const written = new Set<string>();
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const out = lines.map((raw) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith("!")) return raw;
    const at = line.search(/[=:]/);
    if (at < 0) return raw;
    const key = line.slice(0, at).trim();
    const value = values.get(key);
    if (value === undefined) return raw;
    written.add(key); // every line of a key repeated in the file, so the last one read agrees
    return `${key}=${value}`;
  });
  for (const [key, value] of values) if (!written.has(key)) out.push(`${key}=${value}`);
  return `${out.join("\n")}\n`;
}
