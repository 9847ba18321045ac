// plain_acl.yml: RocketMQ 4.x's plain ACL file, parsed into rules the broker checks requests
// against (src/security/acl.ts), and reloaded when it changes.
//
//   globalWhiteRemoteAddresses:       # requests from these addresses pass unchecked
//     - 10.10.103.*
//     - 192.168.0.*
//   accounts:
//     - accessKey: RocketMQ           # longer than 6 characters
//       secretKey: 12345678           # longer than 6 characters
//       whiteRemoteAddress: 192.168.0.*   # requests of this account from here pass unchecked
//       admin: false                  # admin request codes (create/delete topic, …) need true
//       defaultTopicPerm: DENY        # topics not listed in topicPerms (absent: DENY)
//       defaultGroupPerm: SUB         # groups not listed in groupPerms (absent: DENY)
//       topicPerms:                   # topic=PERM
//         - topicA=DENY
//         - topicB=PUB|SUB
//         - topicC=SUB
//       groupPerms:                   # group=PERM; stored as %RETRY%group, as RocketMQ does
//         - groupA=DENY
//         - groupB=PUB|SUB
//
// PERM is PUB, SUB, PUB|SUB (or SUB|PUB) or DENY; anything else reads as DENY (RocketMQ's
// Permission.parsePermFromString) and is reported once per load. Keys RocketMQ writes itself
// (dataVersion) are ignored.
//
// Address patterns (RocketMQ's RemoteAddressStrategyFactory): blank matches nothing; `*`,
// `*.*.*.*` and `*:*:*:*:*:*:*:*` match everything; `192.168.1.{1,2,3}` and `1.2.3.4,5.6.7.8` are
// lists; `192.168.1.1-200`, `192.168.*` and `192.168.1-3.*` are ranges over the first wildcard
// octet (octets after it are not looked at); anything else is one IPv4 or IPv6 address. IPv6
// ranges are not supported (a config error).
//
// Reload: AclFile polls the file's size and times every 500 ms; a file that changed is parsed
// again and replaces the rules at once. A file that does not parse, or disappears, keeps the
// previous rules and logs `acl.reload_failed`. Missing at start: no rules (every request that is
// not whitelisted is refused) until it appears.
import { readFileSync, statSync } from "node:fs";
import { isIPv4, isIPv6 } from "node:net";
import { parse as parseYaml } from "yaml";
import { logScoped } from "../log.ts";
import { retryTopicPrefix } from "../protocol/topic.ts";
import { signatureKey, type SignatureKey } from "./sign.ts";

const log = logScoped("acl");

/** Permission bits, as RocketMQ's Permission: DENY wins over everything else. */
export const Perm = { DENY: 1, ANY: 2, PUB: 4, SUB: 8 } as const;

export const keyCharsMin = 7; // RocketMQ: "length should longer than 6"

export class AclConfigError extends Error {}

/** A compiled address pattern; `host` is a remote address without its port. */
export type AddressMatcher = (host: string) => boolean;

export interface Account {
  accessKey: string;
  /** The secret, keyed once for HMAC-SHA1. */
  signatureKey: SignatureKey;
  whiteRemoteAddress: AddressMatcher | null;
  admin: boolean;
  defaultTopicPerm: number;
  defaultGroupPerm: number;
  /** topic, or %RETRY%group → Perm bits; null when the account lists none. */
  resourcePerms: Map<string, number> | null;
}

export interface AclRules {
  globalWhiteRemoteAddresses: AddressMatcher[];
  accounts: Map<string, Account>;
}

export const emptyRules: AclRules = { globalWhiteRemoteAddresses: [], accounts: new Map() };

// ------------------------------------------------------------------------------ permissions

export function parsePerm(text: string | undefined, warnings: string[]): number {
  if (text === undefined) return Perm.DENY;
  switch (text.trim()) {
    case "PUB": return Perm.PUB;
    case "SUB": return Perm.SUB;
    case "PUB|SUB":
    case "SUB|PUB": return Perm.PUB | Perm.SUB;
    case "DENY": return Perm.DENY;
    default:
      warnings.push(`unknown permission "${text}" reads as DENY`);
      return Perm.DENY;
  }
}

/** RocketMQ's Permission.checkPermission. */
export function permits(needed: number, owned: number): boolean {
  if ((owned & Perm.DENY) !== 0) return false;
  if ((needed & Perm.ANY) !== 0) return (owned & (Perm.PUB | Perm.SUB)) !== 0;
  return (needed & owned) !== 0;
}

// ------------------------------------------------------------------------------ addresses

function octets(host: string): number[] | null {
  if (!isIPv4(host)) return null;
  return host.split(".").map(Number);
}

/** Eight 4-digit upper-case groups, so that equal IPv6 addresses compare equal as text. */
export function expandIpv6(address: string): string {
  const [head, tail] = address.includes("::") ? address.split("::") as [string, string] : [address, null];
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === null || tail === "" ? [] : tail.split(":");
  const missing = tail === null ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(Math.max(0, missing)).fill("0"), ...tailGroups];
  return groups.map((group) => group.toUpperCase().padStart(4, "0")).join(":");
}

function canonicalHost(host: string): string | null {
  if (isIPv4(host)) return host;
  if (isIPv6(host)) return expandIpv6(host);
  return null;
}

function exactSet(addresses: string[], pattern: string): AddressMatcher {
  const set = new Set<string>();
  for (const address of addresses) {
    const canonical = canonicalHost(address.trim());
    if (canonical === null) throw new AclConfigError(`address pattern ${pattern}: ${address.trim()} is not an IP address`);
    set.add(canonical);
  }
  return (host) => {
    const canonical = canonicalHost(host);
    return canonical !== null && set.has(canonical);
  };
}

function octetRange(part: string, pattern: string): [number, number] | null {
  const text = part.trim();
  if (text === "*") return [0, 255];
  const match = /^(\d{1,3})-(\d{1,3})$/.exec(text);
  if (!match) return null;
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (start > 255 || end > 255 || start > end) throw new AclConfigError(`address pattern ${pattern}: bad range ${text}`);
  return [start, end];
}

export function compileAddress(text: unknown): AddressMatcher | null {
  if (text === undefined || text === null) return null;
  const pattern = String(text).trim();
  if (pattern === "") return null;
  if (pattern === "*" || pattern === "*.*.*.*" || pattern === "*:*:*:*:*:*:*:*") return () => true;
  if (pattern.endsWith("}")) {
    const open = pattern.lastIndexOf("{");
    const separator = pattern.includes(":") ? ":" : ".";
    if (open < 0 || pattern[open - 1] !== separator) throw new AclConfigError(`address pattern ${pattern}: the {…} list must be the last part`);
    if (separator === "." && pattern.split(".").length < 4) throw new AclConfigError(`address pattern ${pattern}: not four octets`);
    const prefix = pattern.slice(0, open);
    const items = pattern.slice(open + 1, -1).split(",").filter((item) => item.trim() !== "");
    return exactSet(items.map((item) => prefix + item.trim()), pattern);
  }
  if (pattern.includes(",")) return exactSet(pattern.split(",").filter((item) => item.trim() !== ""), pattern);
  if (pattern.includes("*") || pattern.includes("-")) {
    if (pattern.includes(":")) throw new AclConfigError(`address pattern ${pattern}: IPv6 ranges are not supported`);
    const parts = pattern.split(".");
    for (let index = 1; index < Math.min(parts.length, 4); index++) {
      const range = octetRange(parts[index]!, pattern);
      if (range === null) continue;
      const head = parts.slice(0, index);
      for (const part of head) {
        if (!/^\d{1,3}$/.test(part.trim()) || Number(part) > 255) throw new AclConfigError(`address pattern ${pattern}: ${part} is not an octet`);
      }
      const headNumbers = head.map(Number);
      const [start, end] = range;
      return (host) => {
        const address = octets(host);
        if (address === null) return false;
        for (let i = 0; i < index; i++) if (address[i] !== headNumbers[i]) return false;
        const value = address[index]!;
        return value >= start && value <= end;
      };
    }
    throw new AclConfigError(`address pattern ${pattern}: no range or * after the first octet`);
  }
  return exactSet([pattern], pattern);
}

// ------------------------------------------------------------------------------ the file

function asString(value: unknown, what: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new AclConfigError(`${what} is not a string`);
}

function asList(value: unknown, what: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new AclConfigError(`${what} is not a list`);
  return value.map((item, i) => asString(item, `${what}[${i}]`));
}

function resourcePerms(entries: string[], isTopic: boolean, into: Map<string, number>, warnings: string[]): void {
  for (const entry of entries) {
    const items = entry.split("=").filter((item) => item !== "");
    if (items.length !== 2) throw new AclConfigError(`Parse resource permission failed for ${isTopic ? "topic" : "group"}:${entry}`);
    const name = items[0]!.trim();
    into.set(isTopic ? name : retryTopicPrefix + name, parsePerm(items[1], warnings));
  }
}

/** Parses plain_acl.yml text; throws AclConfigError with what is wrong. `warnings` gets the rest. */
export function parseAclYaml(text: string, warnings: string[] = []): AclRules {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new AclConfigError(`not valid YAML: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
  }
  if (document === null || document === undefined) return { globalWhiteRemoteAddresses: [], accounts: new Map() };
  if (typeof document !== "object" || Array.isArray(document)) throw new AclConfigError("the file is not a YAML mapping");
  const root = document as Record<string, unknown>;
  const globalWhiteRemoteAddresses: AddressMatcher[] = [];
  for (const pattern of asList(root["globalWhiteRemoteAddresses"], "globalWhiteRemoteAddresses")) {
    const matcher = compileAddress(pattern);
    if (matcher !== null) globalWhiteRemoteAddresses.push(matcher);
  }
  const accounts = new Map<string, Account>();
  const rawAccounts = root["accounts"] ?? [];
  if (!Array.isArray(rawAccounts)) throw new AclConfigError("accounts is not a list");
  rawAccounts.forEach((raw: unknown, i) => {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new AclConfigError(`accounts[${i}] is not a mapping`);
    const entry = raw as Record<string, unknown>;
    const accessKey = entry["accessKey"] === undefined ? "" : asString(entry["accessKey"], `accounts[${i}].accessKey`);
    const secretKey = entry["secretKey"] === undefined ? "" : asString(entry["secretKey"], `accounts[${i}].secretKey`);
    if (accessKey.length < keyCharsMin || secretKey.length < keyCharsMin) {
      throw new AclConfigError(`accounts[${i}]: accessKey=${accessKey} and its secretKey must both be longer than 6 characters`);
    }
    if (accounts.has(accessKey)) throw new AclConfigError(`accounts[${i}]: accessKey ${accessKey} is listed twice`);
    const admin = entry["admin"];
    if (admin !== undefined && admin !== null && typeof admin !== "boolean" && admin !== "true" && admin !== "false") {
      throw new AclConfigError(`accounts[${i}].admin is not true or false`);
    }
    const perms = new Map<string, number>();
    resourcePerms(asList(entry["groupPerms"], `accounts[${i}].groupPerms`), false, perms, warnings);
    resourcePerms(asList(entry["topicPerms"], `accounts[${i}].topicPerms`), true, perms, warnings);
    const optional = (name: string): string | undefined => (entry[name] === undefined || entry[name] === null ? undefined : asString(entry[name], `accounts[${i}].${name}`));
    accounts.set(accessKey, {
      accessKey,
      signatureKey: signatureKey(secretKey),
      whiteRemoteAddress: compileAddress(optional("whiteRemoteAddress")),
      admin: admin === true || admin === "true",
      defaultTopicPerm: parsePerm(optional("defaultTopicPerm"), warnings),
      defaultGroupPerm: parsePerm(optional("defaultGroupPerm"), warnings),
      resourcePerms: perms.size > 0 ? perms : null,
    });
  });
  return { globalWhiteRemoteAddresses, accounts };
}

/** The ACL file and its current rules, polled for changes. */
export class AclFile {
  rules: AclRules = emptyRules;
  private stamp = "";
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    readonly path: string,
    readonly pollIntervalMs = 500,
  ) {}

  /** Reads the file; throws AclConfigError when it exists and does not parse. */
  load(): void {
    const stamp = this.stampNow();
    if (stamp === null) {
      log.warn("acl.file_missing", { path: this.path, effect: "no accounts: requests from outside the whitelist are refused" });
      return;
    }
    this.read(stamp);
  }

  start(): void {
    this.timer = setInterval(() => this.poll(), this.pollIntervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Reloads when the file's size or times changed; a bad or missing file keeps the rules. */
  poll(): void {
    const stamp = this.stampNow();
    if (stamp === this.stamp) return;
    if (stamp === null) {
      log.error("acl.reload_failed", { path: this.path, reason: "the file is gone", effect: "previous rules kept" });
      this.stamp = "";
      return;
    }
    try {
      this.read(stamp);
      log.info("acl.reloaded", { path: this.path, accounts: this.rules.accounts.size, whitelist: this.rules.globalWhiteRemoteAddresses.length });
    } catch (error) {
      this.stamp = stamp; // report a broken file once, not every poll
      log.error("acl.reload_failed", { path: this.path, reason: error instanceof Error ? error.message : String(error), effect: "previous rules kept" });
    }
  }

  private read(stamp: string): void {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (error) {
      throw new AclConfigError(`cannot read ${this.path}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const warnings: string[] = [];
    const rules = parseAclYaml(text, warnings);
    for (const warning of warnings) log.warn("acl.config_warning", { path: this.path, warning });
    this.rules = rules;
    this.stamp = stamp;
  }

  private stampNow(): string | null {
    try {
      const stat = statSync(this.path);
      return `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
    } catch {
      return null;
    }
  }
}
